"""Pairwise rounds within groups: who meets whom, verdicts in both orders, Bradley-Terry per group.

A **group** is a tag cluster (or the answers to one prompt) with a **quota**: how many of
its items the selection keeps, so where its cut lies. :func:`run_tournament` plays every
group at once, round by round, so that each round's calls go to the backend as one batch:

1. round 0: each item meets about ``m`` opponents of its group
   (:func:`curate.judge.design.first_round`: seeded, connected);
2. every pair is judged in both orders by ``judge_pairs``; the two verdicts become one
   outcome (:func:`curate.judge.ranking.combine_orders`: a verdict that flips with the
   order is a tie);
3. each group is fitted with Bradley-Terry (ties as halves, a weak prior, optionally the
   length covariate), and rounds 1 .. ``rounds - 1`` add pairs only among the items whose
   interval (strength +- 1.96 se) contains the quota cut
   (:func:`curate.judge.design.adaptive_round`); a group whose cut is settled stops;
4. a final bootstrap per group gives each item its strength interval, its rank in the
   group and the rank's interval.

Pure of I/O: ``judge_pairs`` is the only way out, and it is a function of the pairs it
gets, so the same groups, seed and verdicts (the judge's call cache) give the same rounds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from curate.judge import design, ranking

#: judge_pairs(pairs) for a (P, 2) array of rows (x, y): the verdicts with x shown first,
#: and with x shown second ('A', 'B', 'C' or None when the call failed)
JudgePairs = Callable[[np.ndarray], tuple[Sequence[str | None], Sequence[str | None]]]
Z95 = 1.959964  # the normal quantile of the adaptive rounds' intervals


@dataclass(frozen=True)
class Group:
    """The items of one group (row indices, in a fixed order) and how many of them are kept."""

    rows: np.ndarray
    quota: int
    name: str = ""


@dataclass
class Tournament:
    """Every comparison made, and each row's result in its group (NaN / -1 elsewhere)."""

    # one entry per pair judged (x, y: rows; ``first``: the verdict with x in position A)
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray
    round: np.ndarray
    first: list[str | None]
    second: list[str | None]
    outcome: np.ndarray  # x's result, 1 win, 0 loss, 0.5 tie; NaN when both orders failed
    # per row
    strength: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    rank: np.ndarray  # 1 = strongest of its group; -1: not in a played group
    rank_lower: np.ndarray
    rank_upper: np.ndarray
    comparisons: np.ndarray  # outcomes (not NaN) the row took part in
    # per group: the length coefficient when the covariate was fitted
    beta: dict[int, float] = field(default_factory=dict)
    rounds_played: int = 0

    @property
    def position(self) -> ranking.PositionStats:
        return ranking.combine_many(self.first, self.second)[1]


def _group_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _fit(
    n: int, pairs: np.ndarray, outcome: np.ndarray, prior: float, length: np.ndarray | None
) -> ranking.BTFit:
    return ranking.fit_bradley_terry(
        n, pairs[:, 0], pairs[:, 1], outcome, prior=prior, length=length
    )


def run_tournament(*args, **kwargs) -> Tournament:
    """:func:`play` with BLAS on one thread: its solves are small, and threads only add overhead
    (several times slower under load); OpenMP users such as torch keep their threads."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return play(*args, **kwargs)


def play(
    groups: Sequence[Group],
    n_rows: int,
    judge_pairs: JudgePairs,
    *,
    m: int = 6,
    rounds: int = 3,
    seed: int = 0,
    prior: float = 2.0,
    length: np.ndarray | None = None,
    n_boot: int = 100,
    level: float = 0.95,
) -> Tournament:
    """Play ``rounds`` rounds in every group of two or more items (see the module docstring).

    ``length`` (one positive number per row, e.g. the answer's characters) fits the length
    covariate, so that strengths are what the judge preferred beyond length.
    """
    if m < 1 or rounds < 1:
        raise ValueError("m and rounds must be at least 1")
    played = [(g, group) for g, group in enumerate(groups) if len(group.rows) >= 2]
    local: dict[int, list[np.ndarray]] = {g: [] for g, _ in played}  # pairs, local indices
    outcomes: dict[int, list[np.ndarray]] = {g: [] for g, _ in played}
    xs, ys, gs, rs, firsts, seconds = [], [], [], [], [], []
    fits: dict[int, ranking.BTFit] = {}

    def lengths_of(group: Group) -> np.ndarray | None:
        return None if length is None else np.asarray(length, dtype=np.float64)[group.rows]

    rounds_played = 0
    for r in range(rounds):
        new: list[tuple[int, np.ndarray]] = []
        for g, group in played:
            n = len(group.rows)
            if r == 0:
                pairs = design.first_round(n, m, _group_seed(seed, g))
            else:
                fit = fits[g]
                half = Z95 * np.nan_to_num(fit.se, nan=np.inf)
                pairs = design.adaptive_round(
                    fit.strengths,
                    fit.strengths - half,
                    fit.strengths + half,
                    group.quota,
                    m,
                    seed=_group_seed(seed + r, g),
                    judged=np.concatenate(local[g]),
                )
            if len(pairs):
                new.append((g, pairs))
        if not new:
            break
        rounds_played += 1
        rows = np.concatenate([groups[g].rows[pairs] for g, pairs in new])
        first, second = judge_pairs(rows)
        if len(first) != len(rows) or len(second) != len(rows):
            raise ValueError("judge_pairs must return one verdict per pair in each order")
        outcome, _ = ranking.combine_many(first, second)
        start = 0
        for g, pairs in new:
            stop = start + len(pairs)
            local[g].append(pairs)
            outcomes[g].append(outcome[start:stop])
            xs.append(rows[start:stop, 0])
            ys.append(rows[start:stop, 1])
            gs.append(np.full(len(pairs), g, dtype=np.int64))
            rs.append(np.full(len(pairs), r, dtype=np.int64))
            start = stop
        firsts.extend(first)
        seconds.extend(second)
        for g, _ in new:
            group = groups[g]
            fits[g] = _fit(
                len(group.rows),
                np.concatenate(local[g]),
                np.concatenate(outcomes[g]),
                prior,
                lengths_of(group),
            )

    strength = np.full(n_rows, np.nan)
    lower, upper = np.full(n_rows, np.nan), np.full(n_rows, np.nan)
    rank = np.full(n_rows, -1, dtype=np.int64)
    rank_lower, rank_upper = rank.copy(), rank.copy()
    beta: dict[int, float] = {}
    for g, group in played:
        if not local[g]:
            continue
        pairs, out = np.concatenate(local[g]), np.concatenate(outcomes[g])
        boot = ranking.bootstrap_intervals(
            len(group.rows),
            pairs[:, 0],
            pairs[:, 1],
            out,
            prior=prior,
            length=lengths_of(group),
            n_boot=n_boot,
            level=level,
            seed=_group_seed(seed, g),
        )
        rows = group.rows
        strength[rows], lower[rows], upper[rows] = boot.strengths, boot.lower, boot.upper
        rank[rows], rank_lower[rows], rank_upper[rows] = (
            boot.rank,
            boot.rank_lower,
            boot.rank_upper,
        )
        if boot.fit.beta is not None:
            beta[g] = boot.fit.beta

    empty = np.zeros(0, dtype=np.int64)
    x = np.concatenate(xs) if xs else empty
    y = np.concatenate(ys) if ys else empty
    outcome_all, _ = ranking.combine_many(firsts, seconds)
    valid = ~np.isnan(outcome_all)
    comparisons = np.bincount(x[valid], minlength=n_rows) + np.bincount(y[valid], minlength=n_rows)
    return Tournament(
        x=x,
        y=y,
        group=np.concatenate(gs) if gs else empty,
        round=np.concatenate(rs) if rs else empty,
        first=list(firsts),
        second=list(seconds),
        outcome=outcome_all,
        strength=strength,
        lower=lower,
        upper=upper,
        rank=rank,
        rank_lower=rank_lower,
        rank_upper=rank_upper,
        comparisons=comparisons,
        beta=beta,
        rounds_played=rounds_played,
    )


def opponents_of(t: Tournament, n_rows: int) -> tuple[list[list[int]], list[list[float]]]:
    """Per row: the rows it met and its outcome against each (judged pairs only, in order)."""
    opponents: list[list[int]] = [[] for _ in range(n_rows)]
    results: list[list[float]] = [[] for _ in range(n_rows)]
    for x, y, o in zip(t.x.tolist(), t.y.tolist(), t.outcome.tolist()):
        if o != o:  # NaN: both orders failed, no comparison
            continue
        opponents[x].append(y)
        results[x].append(o)
        opponents[y].append(x)
        results[y].append(1.0 - o)
    return opponents, results
