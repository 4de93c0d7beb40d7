"""The pure choice of pairs: against a brute-force reference, and the margin rules."""

import numpy as np
import pytest

from curate.pairs.build import (
    BELOW_MEDIAN,
    REJECTED_MODES,
    TWO_WORST,
    WORST,
    choose_pairs,
    margin_verdicts,
)


def reference(group, score, tie, eligible, mode):
    """One group at a time, in Python: what choose_pairs must return."""
    chosen, rejected = [], []
    for g in sorted(set(group.tolist())):
        rows = [i for i in range(len(group)) if group[i] == g and eligible[i]]
        rows = [i for i in rows if not np.isnan(score[i])]
        if len(rows) < 2:
            continue
        rows.sort(key=lambda i: (-score[i], tie[i]))
        if mode == WORST:
            picks = [rows[-1]]
        elif mode == TWO_WORST:
            picks = [rows[-1]] + ([rows[-2]] if len(rows) >= 3 else [])
        else:
            values = sorted(score[i] for i in rows)
            median = float(np.median(values))
            picks = [i for i in reversed(rows) if score[i] < median]
        chosen += [rows[0]] * len(picks)
        rejected += picks
    return chosen, rejected


@pytest.mark.parametrize("mode", REJECTED_MODES)
@pytest.mark.parametrize("seed", range(6))
def test_choose_pairs_matches_the_reference(mode, seed):
    rng = np.random.default_rng(seed)
    n = 300
    group = rng.integers(0, 60, n)
    score = rng.integers(0, 6, n).astype(float)  # many ties
    score[rng.random(n) < 0.1] = np.nan
    tie = rng.permutation(n)
    eligible = rng.random(n) > 0.15
    got = choose_pairs(group, score, tie, eligible, mode)
    chosen, rejected = reference(group, score, tie, eligible, mode)
    assert got.chosen.tolist() == chosen and got.rejected.tolist() == rejected
    assert not np.any(got.chosen == got.rejected)
    scored = eligible & ~np.isnan(score)
    sizes = np.bincount(group[scored], minlength=60)
    assert got.groups_scored == int((sizes >= 2).sum())
    assert got.single_answer == int((sizes == 1).sum())


def test_small_groups_and_ties_between_the_best():
    group = np.array([0, 0, 0, 1, 1, 2])
    score = np.array([3.0, 3.0, 1.0, 2.0, np.nan, 5.0])
    tie = np.array([1, 0, 2, 3, 4, 5])  # row 1 wins the tie of the best
    got = choose_pairs(group, score, tie, np.ones(6, bool), TWO_WORST)
    assert got.chosen.tolist() == [1, 1] and got.rejected.tolist() == [2, 0]
    assert (got.groups_scored, got.single_answer) == (1, 2)
    below = choose_pairs(group, score, tie, np.ones(6, bool), BELOW_MEDIAN)
    assert below.chosen.tolist() == [1] and below.rejected.tolist() == [2]  # median 3
    none = choose_pairs(group, np.full(6, np.nan), tie, np.ones(6, bool), WORST)
    assert len(none.chosen) == 0 and none.groups_scored == 0
    with pytest.raises(ValueError):
        choose_pairs(group, score, tie, np.ones(6, bool), "best")


def test_margin_rules():
    margin = np.array([0.0, 0.2, 0.5, 1.0])
    keep, tie, below = margin_verdicts(margin, 0.0)
    assert keep.tolist() == [False, True, True, True] and tie.tolist() == [
        True,
        False,
        False,
        False,
    ]
    assert not below.any()
    keep, tie, below = margin_verdicts(margin, 0.5)
    assert keep.tolist() == [False, False, True, True]  # >= the margin
    assert below.tolist() == [False, True, False, False] and tie[0]
