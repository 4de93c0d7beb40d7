"""Which pairs the pairwise judge compares within a cluster, and what a pool costs.

A round robin over a cluster of n items costs n(n-1) calls in both orders, so the judge
compares a sparse design instead: each candidate meets about m opponents in a first,
seeded, connected, regular-ish round (:func:`first_round`), and later rounds spend calls
only where the quota cut is uncertain (:func:`adaptive_round`). :func:`plan_calls` counts
the calls and tokens of that funnel against a pointwise pass and a round robin.

Pairs are unordered ``(a, b)`` rows with ``a < b``; the judge runs each in both orders.
Pure functions of their inputs and seed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np


def _canon(pairs: Iterable[tuple[int, int]] | np.ndarray | None) -> np.ndarray:
    """Pairs as a sorted (P, 2) int64 array with a < b, duplicates removed."""
    if pairs is None:
        return np.zeros((0, 2), dtype=np.int64)
    arr = np.asarray(list(pairs) if not isinstance(pairs, np.ndarray) else pairs, dtype=np.int64)
    if arr.size == 0:
        return np.zeros((0, 2), dtype=np.int64)
    arr = arr.reshape(-1, 2)
    if np.any(arr[:, 0] == arr[:, 1]):
        raise ValueError("a pair cannot join an item with itself")
    arr = np.sort(arr, axis=1)
    return np.unique(arr, axis=0)


def is_connected(n_items: int, pairs: np.ndarray) -> bool:
    """Whether the comparison graph over ``n_items`` is connected (union-find)."""
    parent = np.arange(n_items)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in np.asarray(pairs, dtype=np.int64).reshape(-1, 2):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return n_items <= 1 or len({root(k) for k in range(n_items)}) == 1


def first_round(n_items: int, m: int, seed: int = 0) -> np.ndarray:
    """A seeded, connected, regular-ish design: each item meets about ``m`` opponents.

    The union of ceil(m/2) random Hamiltonian cycles (the first one makes the graph
    connected), an extra random matching when m is odd, duplicates dropped; then items
    left short of m opponents are paired among themselves, then with the least-met items,
    never repeating a pair. Degrees come out m or m+1 when n_items > m + 1; with fewer
    items it is the round robin. With m = 1 it is a random path, the sparsest design that
    is connected.
    """
    if n_items < 2 or m < 1:
        return np.zeros((0, 2), dtype=np.int64)
    if m >= n_items - 1:
        a, b = np.triu_indices(n_items, k=1)
        return np.stack([a, b], axis=1).astype(np.int64)
    rng = np.random.default_rng(seed)
    if m == 1:  # the sparsest connected design: a random path (its inner items meet two)
        perm = rng.permutation(n_items)
        return _canon(np.stack([perm[:-1], perm[1:]], axis=1))
    edges: set[tuple[int, int]] = set()
    met: list[set[int]] = [set() for _ in range(n_items)]
    deg = np.zeros(n_items, dtype=np.int64)

    def add(a: int, b: int) -> bool:
        key = (a, b) if a < b else (b, a)
        if a == b or key in edges:
            return False
        edges.add(key)
        met[a].add(b)
        met[b].add(a)
        deg[a] += 1
        deg[b] += 1
        return True

    for _ in range(m // 2):
        perm = rng.permutation(n_items)
        for k in range(n_items):
            a, b = int(perm[k]), int(perm[(k + 1) % n_items])
            if deg[a] < m and deg[b] < m:
                add(a, b)
    if m % 2:
        perm = rng.permutation(n_items)
        for k in range(0, n_items - 1, 2):
            a, b = int(perm[k]), int(perm[k + 1])
            if deg[a] < m and deg[b] < m:
                add(a, b)
    # Repair: short items first meet each other, then whoever has met the fewest.
    for short_only in (True, False):
        for a in rng.permutation(n_items):
            a = int(a)
            while deg[a] < m:
                cand = np.array(
                    [
                        b
                        for b in range(n_items)
                        if b != a and b not in met[a] and (not short_only or deg[b] < m)
                    ],
                    dtype=np.int64,
                )
                if cand.size == 0:
                    break
                low = cand[deg[cand] == deg[cand].min()]
                add(a, int(low[rng.integers(low.size)]))
    out = _canon(sorted(edges))
    if not is_connected(n_items, out):  # pragma: no cover - the first cycle connects it
        raise AssertionError("first round is not connected")
    return out


def straddling(strengths: np.ndarray, lower: np.ndarray, upper: np.ndarray, k: int) -> np.ndarray:
    """Mask of items whose interval contains the quota cut.

    The cut is the midpoint of the k-th and (k+1)-th strongest point strengths, the
    boundary between selected and not; no item straddles when k <= 0 or k >= n.
    """
    s = np.asarray(strengths, dtype=np.float64)
    n = s.size
    if k <= 0 or k >= n:
        return np.zeros(n, dtype=bool)
    desc = np.sort(s)[::-1]
    cut = 0.5 * (desc[k - 1] + desc[k])
    return (np.asarray(lower) <= cut) & (np.asarray(upper) >= cut)


def adaptive_round(
    strengths: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    k: int,
    m: int,
    seed: int = 0,
    judged: Iterable[tuple[int, int]] | np.ndarray | None = None,
) -> np.ndarray:
    """New pairs near the quota cut: each straddling item meets up to m close neighbours.

    Items whose interval contains the cut (:func:`straddling`) are taken in order of
    their distance to the cut in interval widths (most uncertain first; a seeded random
    key breaks ties); each is paired with the items nearest in strength that it has not
    met (``judged`` or earlier in this round), and no item gets more than m new pairs
    this round. Returns an empty array when no item straddles the cut (the ranking has
    settled at this level).
    """
    s = np.asarray(strengths, dtype=np.float64)
    lo = np.asarray(lower, dtype=np.float64)
    hi = np.asarray(upper, dtype=np.float64)
    n = s.size
    mask = straddling(s, lo, hi, k)
    if m < 1 or not mask.any():
        return np.zeros((0, 2), dtype=np.int64)
    desc = np.sort(s)[::-1]
    cut = 0.5 * (desc[k - 1] + desc[k])
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(n)
    width = np.maximum(hi - lo, 1e-12)
    z = np.abs(s - cut) / width
    focus = np.flatnonzero(mask)
    focus = focus[np.lexsort((tiebreak[focus], z[focus]))]
    seen = {tuple(p) for p in _canon(judged).tolist()}
    new: list[tuple[int, int]] = []
    count = np.zeros(n, dtype=np.int64)
    for a in focus.tolist():
        if count[a] >= m:
            continue
        dist = np.abs(s - s[a])
        order = np.lexsort((tiebreak, dist))
        for b in order.tolist():
            if count[a] >= m:
                break
            key = (a, b) if a < b else (b, a)
            if b == a or key in seen or count[b] >= m:
                continue
            seen.add(key)
            new.append(key)
            count[a] += 1
            count[b] += 1
    return _canon(new)


@dataclass(frozen=True)
class Cost:
    """LLM calls and tokens of one plan."""

    calls: int
    prompt_tokens: int
    answer_tokens: int

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.answer_tokens


@dataclass(frozen=True)
class CallPlan:
    """Calls and tokens of the funnel (its pointwise and pairwise parts), a pointwise pass
    over every conversation, and a round robin in both orders within each cluster."""

    funnel_pointwise: Cost
    funnel_pairwise: Cost  # the first round
    pointwise_all: Cost
    round_robin: Cost
    funnel_adaptive: Cost = Cost(0, 0, 0)  # the later rounds near the cut, at their most

    @property
    def funnel(self) -> Cost:
        parts = (self.funnel_pointwise, self.funnel_pairwise, self.funnel_adaptive)
        return Cost(
            sum(c.calls for c in parts),
            sum(c.prompt_tokens for c in parts),
            sum(c.answer_tokens for c in parts),
        )


def sparse_pairs(n: np.ndarray, m: int) -> np.ndarray:
    """Pairs of a design where each of n items meets m opponents (round robin if n <= m+1)."""
    rr = n * (n - 1) // 2
    sparse = (n * m + 1) // 2
    return np.where(n <= m + 1, rr, sparse)


def later_pairs_at_most(
    n: np.ndarray, m: int, rounds: int, first: np.ndarray | None = None
) -> np.ndarray:
    """The most pairs rounds 2 .. ``rounds`` can add in groups of n items (m per item a round).

    Each later round gives an item at most m new opponents, so at most ceil(n m / 2) pairs,
    and no pair is judged twice, so all rounds together add at most the round robin's
    pairs less the first round's.
    """
    n = np.asarray(n, dtype=np.int64)
    first = sparse_pairs(n, m) if first is None else np.asarray(first, dtype=np.int64)
    per_round = np.where(n >= 2, (n * m + 1) // 2, 0)
    return np.minimum((rounds - 1) * per_round, n * (n - 1) // 2 - first)


def plan_calls(
    sizes: np.ndarray,
    quota: int | np.ndarray,
    *,
    top_k: int | np.ndarray,
    near_cut: int | np.ndarray,
    m: int,
    conv_tokens: float,
    template_tokens: float,
    answer_tokens: float,
    orders: int = 2,
    rounds: int = 1,
) -> CallPlan:
    """Count the judge's calls and tokens for a pool of clusters.

    Per cluster c of size n_c with quota q_c (scalars broadcast): the funnel judges the
    top ``top_k`` (by a cheap score, no LLM call) pointwise, K_c = min(top_k, n_c) calls;
    when K_c > q_c, the ``near_cut`` items around the cut, N_c = min(near_cut, K_c), meet
    m opponents each, ceil(N_c m / 2) pairs (all pairs when N_c <= m+1), each judged in
    ``orders`` orders. A pointwise pass is n_c calls; a round robin n_c(n_c-1)/2 pairs in
    ``orders`` orders. A pointwise prompt holds one conversation, a pairwise prompt two,
    each plus ``template_tokens``; every call answers ``answer_tokens``. Token counts are
    rounded to whole tokens. With ``rounds`` > 1, each later round adds at most
    pairs per cluster as :func:`later_pairs_at_most` says; ``funnel_adaptive`` counts that
    most (the rounds stop earlier once the cut is settled).
    """
    n = np.asarray(sizes, dtype=np.int64)
    if n.ndim != 1 or np.any(n < 0):
        raise ValueError("sizes must be a 1-d array of non-negative cluster sizes")
    q = np.broadcast_to(np.asarray(quota, dtype=np.int64), n.shape)
    tk = np.broadcast_to(np.asarray(top_k, dtype=np.int64), n.shape)
    nc = np.broadcast_to(np.asarray(near_cut, dtype=np.int64), n.shape)
    if m < 1 or orders < 1 or rounds < 1:
        raise ValueError("m, orders and rounds must be positive")
    k_c = np.minimum(tk, n)
    near = np.where(k_c > q, np.minimum(nc, k_c), 0)
    first_pairs = sparse_pairs(near, m)
    pw_pairs = int(first_pairs.sum())
    later_pairs = int(later_pairs_at_most(near, m, rounds, first_pairs).sum())
    rr_pairs = int((n * (n - 1) // 2).sum())

    def cost(calls: int, convs_per_prompt: int) -> Cost:
        return Cost(
            calls=calls,
            prompt_tokens=int(round(calls * (template_tokens + convs_per_prompt * conv_tokens))),
            answer_tokens=int(round(calls * answer_tokens)),
        )

    return CallPlan(
        funnel_pointwise=cost(int(k_c.sum()), 1),
        funnel_pairwise=cost(orders * pw_pairs, 2),
        pointwise_all=cost(int(n.sum()), 1),
        round_robin=cost(orders * rr_pairs, 2),
        funnel_adaptive=cost(orders * later_pairs, 2),
    )
