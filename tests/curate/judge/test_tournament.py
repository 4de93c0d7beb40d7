"""Pairwise rounds within groups (curate/judge/tournament.py) with a scripted judge function:
noisy, biased to position A on close pairs, fond of long answers, sometimes failing."""

import numpy as np
import pytest

from curate.judge.tournament import Group, opponents_of, run_tournament
from tests.conftest import kendall_tau


def spearman(a, b) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


class Judge:
    """verdict(A, B) from values quality + length_bonus * log(length) + noise; close: 'A'."""

    def __init__(self, quality, length=None, noise=0.5, bias=0.0, length_bonus=0.0, fail=0.0):
        self.quality = np.asarray(quality, float)
        self.length = np.ones_like(self.quality) if length is None else np.asarray(length, float)
        self.noise, self.bias, self.length_bonus, self.fail = noise, bias, length_bonus, fail
        self.rng = np.random.default_rng(7)
        self.calls = 0

    def verdict(self, a: int, b: int):
        self.calls += 1
        if self.rng.random() < self.fail:
            return None
        va = self.quality[a] + self.length_bonus * np.log(self.length[a])
        vb = self.quality[b] + self.length_bonus * np.log(self.length[b])
        d = va - vb + self.noise * self.rng.normal()
        if abs(d) < self.bias:
            return "A"
        return "A" if d > 0 else "B"

    def __call__(self, rows):
        first = [self.verdict(x, y) for x, y in rows.tolist()]
        second = [self.verdict(y, x) for x, y in rows.tolist()]
        return first, second


def groups_of(sizes, quota):
    out, start = [], 0
    for k, n in enumerate(sizes):
        out.append(Group(np.arange(start, start + n), quota, f"g{k}"))
        start += n
    return out, start


def test_the_recovered_ranking_follows_the_hidden_quality():
    groups, n = groups_of([40, 40, 30], quota=10)
    quality = np.random.default_rng(0).normal(0, 1.5, n)
    judge = Judge(quality, noise=1.0, bias=0.3, fail=0.05)
    t = run_tournament(groups, n, judge, m=6, rounds=3, seed=1, n_boot=50)
    for g in groups:
        assert kendall_tau(t.strength[g.rows], quality[g.rows]) > 0.6
        ranks = t.rank[g.rows]
        assert sorted(ranks.tolist()) == list(range(1, len(g.rows) + 1))
        assert np.all(t.rank_lower[g.rows] <= ranks) and np.all(ranks <= t.rank_upper[g.rows])
        assert np.all(t.lower[g.rows] <= t.upper[g.rows])
    # failed verdicts are no comparison; the rest are counted per row
    assert sum(v is None for v in t.first + t.second) > 0
    assert t.comparisons.sum() == 2 * int((~np.isnan(t.outcome)).sum())
    # a sparse design: far fewer pairs than a round robin (40*39/2 + ...)
    assert len(t.x) < 0.5 * (780 + 780 + 435) and t.rounds_played >= 2


def test_both_orders_cancel_the_first_positions_advantage_on_equal_pairs():
    # items come in twins of equal quality; the judge says A whenever two are close
    groups, n = groups_of([40, 40], quota=8)
    quality = np.repeat(np.random.default_rng(1).normal(0, 2, n // 2), 2)
    judge = Judge(quality, noise=0.3, bias=1.0)
    t = run_tournament(groups, n, judge, m=8, rounds=1, seed=0, n_boot=10)
    equal = quality[t.x] == quality[t.y]
    assert equal.sum() >= 5
    first_wins = np.mean([v == "A" for v in t.first])
    assert first_wins > 0.5  # one order alone favours whoever is shown first
    equal_first = [v == "A" for v, e in zip(t.first, equal) if e]
    assert np.mean(equal_first) == 1.0  # on equal pairs, always
    # both orders: the first-shown item's result on truly equal pairs is a tie on average
    assert abs(np.nanmean(t.outcome[equal]) - 0.5) < 0.05
    assert t.position.flips >= equal.sum()  # each such pair flipped with the order


def test_the_length_covariate_removes_the_preference_for_longer_answers():
    rng = np.random.default_rng(2)
    groups, n = groups_of([60, 60], quota=15)
    quality = rng.normal(0, 1, n)
    length = np.exp(rng.uniform(np.log(50), np.log(5000), n))  # independent of quality
    judge = Judge(quality, length, noise=0.7, length_bonus=0.8)

    def play(covariate):
        judge.rng = np.random.default_rng(7)
        return run_tournament(
            groups,
            n,
            judge,
            m=8,
            rounds=2,
            seed=0,
            n_boot=10,
            length=length if covariate else None,
        )

    plain, neutral = play(False), play(True)
    rows = np.arange(n)
    plain_len = spearman(plain.strength[rows], np.log(length))
    neutral_len = spearman(neutral.strength[rows], np.log(length))
    assert plain_len > 0.4  # the judge's taste for length shows in the plain ranking
    assert abs(neutral_len) < plain_len / 3  # and the covariate takes it out
    assert min(neutral.beta.values()) > 0  # fitted as a preference for longer answers
    assert kendall_tau(neutral.strength, quality) > kendall_tau(plain.strength, quality)


def test_later_rounds_compare_close_neighbours_where_the_cut_is_unsettled():
    groups, n = groups_of([80], quota=20)
    quality = np.linspace(4, -4, n)  # row k is truly the (k+1)-th best
    t = run_tournament(groups, n, Judge(quality, noise=1.5), m=4, rounds=3, seed=0, n_boot=10)
    later = t.round > 0
    assert later.any() and t.rounds_played == 3
    # the first round meets random opponents; later ones, the closest in strength
    assert (
        np.median(np.abs(t.x[later] - t.y[later]))
        < np.median(np.abs(t.x[~later] - t.y[~later])) / 2
    )
    # a cut that is settled stops the rounds: quota 0 has no cut at all
    settled, _ = groups_of([80], quota=0)
    t0 = run_tournament(settled, n, Judge(quality, noise=1.5), m=4, rounds=3, seed=0, n_boot=10)
    assert t0.rounds_played == 1


def test_same_inputs_same_tournament_and_small_groups_are_skipped():
    groups, n = groups_of([12, 1, 9], quota=3)
    quality = np.random.default_rng(4).normal(size=n)

    def play():
        return run_tournament(
            groups, n, Judge(quality, noise=1.0, fail=0.1), m=3, rounds=2, seed=5, n_boot=20
        )

    a, b = play(), play()
    for field in ("x", "y", "round", "outcome", "strength", "rank", "rank_lower", "rank_upper"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    lone = groups[1].rows[0]
    assert a.rank[lone] == -1 and np.isnan(a.strength[lone]) and a.comparisons[lone] == 0
    opponents, outcomes = opponents_of(a, n)
    assert all(len(o) == c for o, c in zip(opponents, a.comparisons))
    assert all(0 <= v <= 1 for row in outcomes for v in row)
    with pytest.raises(ValueError):
        run_tournament(groups, n, Judge(quality), m=0)
