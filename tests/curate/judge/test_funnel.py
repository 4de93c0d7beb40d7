"""The funnel's arithmetic (curate/judge/funnel.py) against brute force and its promises."""

import itertools

import numpy as np
import pytest

from curate.judge import funnel


def test_top_per_group_matches_a_brute_force_sort():
    rng = np.random.default_rng(3)
    n = 300
    group = rng.integers(-1, 7, n)
    score = np.round(rng.normal(size=n), 1)  # many ties
    score[rng.random(n) < 0.1] = np.nan
    ties = rng.permutation(n)
    for k in (0, 1, 5, 1000):
        mask = funnel.top_per_group(group, score, ties, k)
        for g in range(7):
            rows = [r for r in range(n) if group[r] == g and not np.isnan(score[r])]
            best = sorted(rows, key=lambda r: (-score[r], ties[r]))[:k]
            assert sorted(np.flatnonzero(mask & (group == g))) == sorted(best)
        assert not mask[group < 0].any() and not mask[np.isnan(score)].any()


def test_rating_order_breaks_ties_by_the_cheap_score_then_the_tie_rank():
    rating = np.array([7, 9, np.nan, 7, 7])
    prior = np.array([0.1, -1, 5, 0.3, 0.3])
    ties = np.array([0, 1, 2, 4, 3])
    assert funnel.rating_order(rating, prior, ties).tolist() == [1, 4, 3, 0]


@pytest.mark.parametrize(
    "n_rated, quota, near, expected",
    [
        (10, 10, 4, (0, 0)),  # everything rated is kept: nothing to settle
        (40, 20, 10, (15, 25)),
        (22, 20, 10, (12, 22)),  # the band ends at the last rated row, and stays full
        (40, 2, 10, (0, 10)),
        (40, 20, 1, (0, 0)),
        (3, 1, 10, (0, 3)),
    ],
)
def test_the_band_holds_the_cut(n_rated, quota, near, expected):
    start, stop = funnel.band(n_rated, quota, near)
    assert (start, stop) == expected
    if stop > start:
        assert start <= quota <= stop  # the cut lies inside


def test_refine_deals_the_ratings_in_the_pairwise_order_strictly_and_within_the_gap():
    ratings = np.array([8.0, 8.0, 7.0, 7.0, 7.0, 6.0])
    order = np.array([5, 2, 0, 4, 1, 3])  # the 6 was strongest
    scores = funnel.refine(ratings, order, gap=1.0)
    ranked = scores[order]
    assert np.all(np.diff(ranked) < 0)  # strictly in the pairwise order
    assert scores[5] == 8.0  # the strongest gets the highest rating
    # every dealt value stays closer to its own rating than to the next one
    dealt = np.sort(ratings)[::-1]
    assert np.all(ranked <= dealt) and np.all(ranked > dealt - 0.5)
    # continuous ratings (logprobs): no ties, so exactly the ratings, dealt again
    r = np.array([7.2, 6.9, 8.4])
    assert funnel.refine(r, np.array([1, 2, 0]), 0.3)[[1, 2, 0]].tolist() == [8.4, 7.2, 6.9]


def test_tie_interval_spans_the_run_of_equal_scores():
    lower, upper = funnel.tie_interval(np.array([9, 8, 8, 8, 5, 5]))
    assert lower.tolist() == [1, 2, 2, 2, 5, 5]
    assert upper.tolist() == [1, 4, 4, 4, 6, 6]
    assert funnel.smallest_gap(np.array([7, 7, 9, np.nan, 8.5])) == 0.5
    assert funnel.smallest_gap(np.array([3.0])) == 1.0


def test_refine_never_passes_another_rating_value():
    rng = np.random.default_rng(0)
    for n in range(2, 9):
        ratings = rng.integers(1, 4, n).astype(float)
        for order in itertools.islice(itertools.permutations(range(n)), 30):
            gap = funnel.smallest_gap(ratings)
            scores = funnel.refine(ratings, np.array(order), gap)
            dealt = np.sort(ratings)[::-1]
            ranked = scores[np.array(order)]
            assert np.all(ranked <= dealt) and np.all(ranked > dealt - gap / 2)
            assert np.all(np.diff(ranked) < 0)
