"""Near-pair search against brute force, on data with planted duplicates."""

import numpy as np
import pytest

from curate.dedup import search
from curate.dedup.search import near_pairs, sample_recall


def planted(n=3000, d=32, clusters=40, copies=150, seed=0):
    """Clustered unit vectors, with `copies` noisy copies planted (cosine ~0.95-0.99)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    x = centres[rng.integers(0, clusters, n)] + rng.standard_normal((n, d)) * 0.8
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    src = rng.choice(n // 2, copies, replace=False)
    dst = n // 2 + rng.choice(n // 2, copies, replace=False)
    x[dst] = x[src] + rng.standard_normal((copies, d)) * 0.03
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def brute_force(x, threshold):
    sims = x @ x.T
    i, j = np.nonzero(np.triu(sims >= threshold, 1))
    return set(zip(i.tolist(), j.tolist()))


@pytest.mark.parametrize("method", ["exact", "partition", "faiss-flat", "faiss-ivf"])
def test_methods_find_the_brute_force_pairs(method):
    x = planted()
    truth = brute_force(x, 0.9)
    assert len(truth) >= 150
    pairs, stats = near_pairs(x, 0.9, method=method, cells=16, nprobe=6)
    found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
    assert found <= truth  # never a pair below the threshold
    recall = len(found & truth) / len(truth)
    assert recall == 1.0 if method in ("exact", "faiss-flat") else recall >= 0.98
    assert np.all(pairs.i < pairs.j) and np.all(pairs.sim >= 0.9)
    assert stats.method == method and stats.pairs == len(pairs)
    if method in ("partition", "faiss-ivf"):
        assert stats.recall_vs_exact is not None and stats.recall_vs_exact >= 0.95


def test_knn_saturation_is_searched_further():
    # A cluster of 400 near-identical vectors: every query's 32nd neighbour is above the threshold.
    rng = np.random.default_rng(1)
    base = rng.standard_normal(16)
    x = base + rng.standard_normal((400, 16)) * 0.01
    x = np.vstack([x, rng.standard_normal((200, 16))]).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    pairs, stats = near_pairs(x, 0.9, method="faiss-flat", k_schedule=(32, 256, 1024))
    assert (
        stats.escalated == 2 * 400 and stats.saturated == 0
    )  # re-searched at k=256, then at k=600 (all)
    assert len(pairs) == len(brute_force(x, 0.9)) == 400 * 399 // 2
    # With the schedule cut at k=256 the queries stay saturated, and that is reported.
    _, stats = near_pairs(x, 0.9, method="faiss-flat", k_schedule=(32, 256))
    assert stats.saturated == 400


def test_auto_picks_exact_for_small_inputs_and_results_are_deterministic(monkeypatch):
    x = planted(n=800)
    a, stats = near_pairs(x, 0.9)
    assert stats.method == "exact"
    monkeypatch.setattr(search, "EXACT_MAX", 100)
    b, stats_b = near_pairs(x, 0.9, seed=3)
    c, _ = near_pairs(x, 0.9, seed=3)
    assert stats_b.method == "partition"
    assert np.array_equal(b.i, c.i) and np.array_equal(b.j, c.j) and np.array_equal(b.sim, c.sim)


def test_sample_recall_counts_misses():
    x = planted(n=600)
    full, _ = near_pairs(x, 0.9, method="exact")
    half = search.Pairs(full.i[::2], full.j[::2], full.sim[::2])
    recall, total = sample_recall(x, half, 0.9, seed=0)
    assert total > 0 and 0.2 < recall < 0.8
    assert sample_recall(x, full, 0.9, seed=0)[0] == 1.0


def test_many_cells_come_from_two_level_kmeans_and_find_the_pairs(monkeypatch):
    """Above FLAT_CELLS (CPU) the cells are a two-level k-means, each vector probing its
    nearest ones through the centroid index: the pairs are still found, deterministically."""
    x = planted(n=6000, copies=300)
    truth = brute_force(x, 0.9)
    monkeypatch.setattr(search, "FLAT_CELLS", 16)
    pairs, stats = near_pairs(x, 0.9, method="partition", cells=100, nprobe=6, seed=1)
    again, _ = near_pairs(x, 0.9, method="partition", cells=100, nprobe=6, seed=1)
    found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
    assert found <= truth and len(found & truth) / len(truth) >= 0.97
    assert stats.cells == 100 and stats.recall_vs_exact >= 0.95
    assert np.array_equal(pairs.i, again.i) and np.array_equal(pairs.sim, again.sim)


def test_cells_per_thread_find_the_same_pairs_as_one_cell_at_a_time(monkeypatch):
    x = planted()
    parallel, _ = near_pairs(x, 0.9, method="partition", cells=16, nprobe=6)
    monkeypatch.setattr(search, "PARALLEL_TASKS", False)
    serial, _ = near_pairs(x, 0.9, method="partition", cells=16, nprobe=6)
    assert np.array_equal(parallel.i, serial.i) and np.array_equal(parallel.j, serial.j)
    assert np.allclose(parallel.sim, serial.sim, atol=1e-6)
