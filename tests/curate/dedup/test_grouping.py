import numpy as np

from curate.dedup.grouping import greedy_groups
from curate.dedup.search import undirected


def pairs(*edges):
    i, j, s = zip(*edges) if edges else ((), (), ())
    return undirected(
        np.array(i, dtype=np.int64), np.array(j, dtype=np.int64), np.array(s, dtype=np.float32), 10
    )


A, B, C, D = 0, 1, 2, 3


def test_chain_with_the_end_best_keeps_the_far_end():
    # A~B, B~C, A not ~ C; A is the best: B goes to A's group, C stays (nothing kept covers it).
    g = greedy_groups(3, pairs((A, B, 0.95), (B, C, 0.93)), order=np.array([A, B, C]))
    assert g.keep.tolist() == [True, False, True]
    assert g.representative.tolist() == [A, A, C]
    assert g.similarity.tolist() == np.array([1.0, 0.95, 1.0], dtype=np.float32).tolist()


def test_chain_with_the_middle_best_drops_both_ends():
    g = greedy_groups(3, pairs((A, B, 0.95), (B, C, 0.93)), order=np.array([B, A, C]))
    assert g.keep.tolist() == [False, True, False]
    assert g.representative.tolist() == [B, B, B]
    assert g.sizes().tolist() == [3, 3, 3]


def test_dropped_member_joins_the_most_similar_kept_member():
    # D is a near-duplicate of both kept A and kept C: it joins the more similar one.
    g = greedy_groups(4, pairs((A, D, 0.91), (C, D, 0.97)), order=np.array([A, C, D, B]))
    assert g.representative[D] == C and g.similarity[D] == np.float32(0.97)
    # Equal similarity: the better-ranked kept member wins.
    g = greedy_groups(4, pairs((A, D, 0.95), (C, D, 0.95)), order=np.array([C, A, D, B]))
    assert g.representative[D] == C


def test_kept_members_are_never_near_duplicates_of_each_other():
    rng = np.random.default_rng(0)
    n = 60
    edges = {(int(a), int(b)) for a, b in rng.integers(0, n, size=(150, 2)) if a != b}
    p = undirected(
        np.array([e[0] for e in edges]),
        np.array([e[1] for e in edges]),
        rng.uniform(0.9, 1, len(edges)).astype(np.float32),
        n,
    )
    g = greedy_groups(n, p, order=rng.permutation(n))
    kept = g.keep
    assert not np.any(kept[p.i] & kept[p.j])
    # every dropped row's representative is kept and is one of its neighbours
    neighbours = {(a, b) for a, b in zip(p.i.tolist(), p.j.tolist())} | {
        (b, a) for a, b in zip(p.i.tolist(), p.j.tolist())
    }
    for u in np.flatnonzero(~kept):
        assert kept[g.representative[u]] and (u, g.representative[u]) in neighbours


def test_no_pairs_keeps_everything():
    g = greedy_groups(3, pairs(), order=np.arange(3))
    assert g.keep.all() and g.dropped == 0 and g.representative.tolist() == [0, 1, 2]
