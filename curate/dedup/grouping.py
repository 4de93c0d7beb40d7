"""Turn near-duplicate pairs into groups, keeping the best member of each.

The rule (greedy, in quality order): visit conversations from best to worst;
a conversation is **dropped** when it is a near-duplicate (similarity >= the
threshold) of a conversation already **kept**, and joins the group of the kept
one it is most similar to; otherwise it is kept and heads its own group.

So every dropped conversation is within the threshold of its group's kept
member, and no two kept conversations are near-duplicates of each other. On a
chain A~B, B~C with A and C not similar:

* A best: A is kept, B is dropped into A's group, and C is **kept**: C is not a
  near-duplicate of anything kept (its only neighbour, B, was dropped), and
  dropping it would lose content that nothing kept covers.
* B best: B is kept, A and C are both dropped into B's group.

Connected components (transitive closure) would instead drop C in the first case,
and long chains of small edits would swallow unrelated texts. Ties in quality
are broken by id, so the result does not depend on input order.

This greedy **leader** rule is defined once, in :func:`greedy_groups`: dedup runs
it on the near-duplicate pairs of conversations (kept = leader), and tag
normalization (:func:`taggers.normalize.leader_clusters`) runs it on the similar
pairs of tag names, block by block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.dedup.search import Pairs


@dataclass
class Groups:
    representative: np.ndarray  # int64: index of the kept member of each row's group
    similarity: np.ndarray  # float32: similarity to that member (1.0 for kept rows)
    keep: np.ndarray  # bool

    @property
    def dropped(self) -> int:
        return int((~self.keep).sum())

    def sizes(self) -> np.ndarray:
        """Size of each row's group."""
        return np.bincount(self.representative, minlength=len(self.keep))[self.representative]


def greedy_groups(n: int, pairs: Pairs, order: np.ndarray) -> Groups:
    """The greedy leader rule: groups for ``n`` rows; ``order`` lists row indices best first.

    ``pairs`` are the pairs of rows that are similar enough (each with its
    similarity; direction and order do not matter). Rows are visited in
    ``order``; a row joins the **leader** (a kept row) visited before it that it
    is most similar to, ties going to the leader visited first; a row with no
    such leader becomes a leader itself (``keep``). Each row's
    ``representative`` is its leader (itself for leaders) and ``similarity`` its
    similarity to it (1.0 for leaders).

    Rows without a pair are leaders without a visit, so the cost is one sort of
    the pairs and a visit per row that has one.
    """
    representative = np.arange(n, dtype=np.int64)
    similarity = np.ones(n, dtype=np.float32)
    keep = np.ones(n, dtype=bool)
    if len(pairs) == 0:
        return Groups(representative, similarity, keep)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    # Adjacency in CSR form, both directions.
    src = np.concatenate([pairs.i, pairs.j])
    dst = np.concatenate([pairs.j, pairs.i])
    sim = np.concatenate([pairs.sim, pairs.sim])
    by_src = np.argsort(src, kind="stable")
    dst, sim = dst[by_src], sim[by_src]
    starts = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=starts[1:])
    # Only rows with neighbours need a decision; visit them in quality order.
    connected = np.flatnonzero(starts[1:] > starts[:-1])
    for u in connected[np.argsort(rank[connected], kind="stable")].tolist():
        lo, hi = starts[u], starts[u + 1]
        nbrs, sims = dst[lo:hi], sim[lo:hi]
        candidates = keep[nbrs] & (rank[nbrs] < rank[u])
        if not candidates.any():
            continue
        nbrs, sims = nbrs[candidates], sims[candidates]
        best = np.lexsort((rank[nbrs], -sims))[0]  # most similar, then the better-ranked
        keep[u] = False
        representative[u] = nbrs[best]
        similarity[u] = sims[best]
    return Groups(representative, similarity, keep)
