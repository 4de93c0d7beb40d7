"""The funnel's arithmetic: which rows are judged, which meet pairwise, and the final score.

The funnel spends LLM calls only where they can change the selection (DESIGN.md,
"judge"). Per tag cluster with quota q (``select --per-tag``):

1. :func:`top_per_group`: the top ``top_k`` rows by the cheap scores already in the store
   (ArmoRM, heuristics; combined as select combines them) are rated pointwise; the others
   are not judged at all and keep no judge score (select ranks them by the other scores);
2. :func:`band`: the rated rows are ordered by rating (ties by the cheap score, then id);
   when more than q were rated, the ``near_cut`` rows around position q are the **band**,
   the rows whose place relative to the cut the ratings cannot settle (integer ratings
   tie in long runs exactly there); they meet each other pairwise;
3. :func:`refine`: the band's ratings are dealt out again in the pairwise (Bradley-Terry)
   order, best strength first, so the score keeps the rating scale and the pointwise
   information, and the order within the band is the pairwise one. Equal dealt ratings
   are spread downwards by less than half the smallest gap between two ratings of the
   cluster, so the band's order is strict and never passes another rating value.
"""

from __future__ import annotations

import math

import numpy as np


def top_per_group(group: np.ndarray, score: np.ndarray, ties: np.ndarray, k: int) -> np.ndarray:
    """Mask of the best ``k`` rows of each group by ``score`` (higher first, then ``ties`` order).

    ``group`` (N,) int, -1 for rows in no group; ``score`` (N,) float, NaN rows are never
    taken; ``ties`` (N,) int, smaller first among equal scores.
    """
    group = np.asarray(group, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    ok = (group >= 0) & ~np.isnan(score)
    rows = np.flatnonzero(ok)
    order = rows[np.lexsort((np.asarray(ties)[rows], -score[rows], group[rows]))]
    g = group[order]
    starts = np.r_[0, np.flatnonzero(np.diff(g)) + 1]
    position = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    mask = np.zeros(len(group), dtype=bool)
    mask[order[position < k]] = True
    return mask


def rating_order(rating: np.ndarray, prior: np.ndarray, ties: np.ndarray) -> np.ndarray:
    """Indices of one group's rated rows, best first: rating, then the cheap score, then ties."""
    rating = np.asarray(rating, dtype=np.float64)
    rated = np.flatnonzero(~np.isnan(rating))
    prior = np.nan_to_num(np.asarray(prior, dtype=np.float64)[rated], nan=-np.inf)
    return rated[np.lexsort((np.asarray(ties)[rated], -prior, -rating[rated]))]


def band(n_rated: int, quota: int, near_cut: int) -> tuple[int, int]:
    """Positions ``[start, stop)`` of the band in the rating order: ``near_cut`` rows around q.

    Empty (start == stop) when no more than q rows were rated (all of them are kept) or
    when fewer than two rows would be in it.
    """
    if n_rated <= quota or near_cut < 2:
        return 0, 0
    start = max(0, quota - math.ceil(near_cut / 2))
    stop = min(n_rated, start + near_cut)
    start = max(0, min(start, stop - near_cut))
    return (start, stop) if stop - start >= 2 else (0, 0)


def smallest_gap(values: np.ndarray) -> float:
    """The smallest positive difference between two distinct values (1.0 when all are equal)."""
    distinct = np.unique(np.asarray(values, dtype=np.float64))
    distinct = distinct[~np.isnan(distinct)]
    return float(np.diff(distinct).min()) if len(distinct) > 1 else 1.0


def refine(ratings: np.ndarray, strength_order: np.ndarray, gap: float) -> np.ndarray:
    """The band's scores: its ratings dealt out again in the pairwise order.

    ``ratings`` (n,) are the band's ratings; ``strength_order`` the band positions from
    strongest to weakest. The strongest gets the highest rating, and so on; a run of L
    equal dealt ratings v becomes v, v - gap/(2L), ..., v - (L-1) gap/(2L): strictly
    decreasing, and never as low as the next rating value (``gap`` is the smallest gap
    between ratings). Returns the score of each band position.
    """
    ratings = np.asarray(ratings, dtype=np.float64)
    order = np.asarray(strength_order, dtype=np.int64)
    dealt = np.sort(ratings)[::-1]
    run_start = np.r_[0, np.flatnonzero(np.diff(dealt) != 0) + 1]
    run_len = np.diff(np.r_[run_start, len(dealt)])
    within = np.arange(len(dealt)) - np.repeat(run_start, run_len)
    offsets = within * gap / (2 * np.repeat(run_len, run_len))
    scores = np.empty(len(dealt))
    scores[order] = dealt - offsets
    return scores


def tie_interval(scores_in_order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For rows in score order (best first), the first and last 1-based rank of their tie.

    Rows the judge scored equally could be in any order among themselves: that range is
    the uncertainty of a rank the pointwise ratings decided.
    """
    s = np.asarray(scores_in_order, dtype=np.float64)
    n = len(s)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    run_start = np.r_[0, np.flatnonzero(np.diff(s) != 0) + 1]
    run_len = np.diff(np.r_[run_start, n])
    lower = np.repeat(run_start + 1, run_len)
    upper = np.repeat(run_start + run_len, run_len)
    return lower.astype(np.int64), upper.astype(np.int64)
