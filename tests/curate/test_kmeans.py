"""The scalable k-means: assignment through the centroid index against brute force,
two-level clustering, the split of k across cells, determinism."""

import numpy as np
import pytest

pytest.importorskip("faiss")

from sklearn.metrics import normalized_mutual_info_score as nmi  # noqa: E402

from curate import kmeans as km  # noqa: E402


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def planted(n_clusters: int, per: int, dim: int = 32, spread: float = 0.15, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((n_clusters, dim)))
    truth = np.repeat(np.arange(n_clusters), per)
    return unit(centres[truth] + spread * rng.standard_normal((len(truth), dim))), truth


def brute_force(vectors: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sims = vectors.astype(np.float64) @ centroids.astype(np.float64).T
    return sims.argmax(axis=1), sims.max(axis=1)


def test_index_searching_every_cell_is_brute_force():
    rng = np.random.default_rng(1)
    vectors = unit(rng.standard_normal((3000, 24)))
    centroids = unit(rng.standard_normal((90, 24)))
    cells = km.train(centroids, 9, 25, 0, 1, 256)
    labels, sims = km.CentroidIndex(cells, centroids, probe=len(cells)).search(vectors)
    expected, best = brute_force(vectors, centroids)
    assert np.array_equal(labels, expected)
    assert np.allclose(sims, best, atol=1e-5)


def test_index_at_default_probe_almost_always_finds_the_nearest_centroid():
    vectors, _ = planted(400, 30, dim=64, spread=0.5)  # 20 cells, 8 of them probed
    result = km.kmeans(vectors, 400, 25, seed=0, restarts=1, method="two-level")
    expected, best = brute_force(vectors, result.centroids)
    assert (result.labels == expected).mean() >= 0.97  # 0.992 measured
    assert np.all(result.similarity <= best + 1e-5)  # never better than the true nearest
    chosen = (vectors * result.centroids[result.labels]).sum(axis=1)
    assert np.allclose(result.similarity, chosen, atol=1e-5)  # the cosine to its own centroid


def test_ties_go_to_the_lower_centroid_as_in_argmax():
    vectors = np.eye(8, dtype=np.float32)  # cosines exactly 0 or 1, in any summation order
    centroids = np.concatenate([vectors[:5], vectors[:5]])  # every centroid twice
    cells = vectors[[0, 3, 6]]
    labels, sims = km.CentroidIndex(cells, centroids, probe=3).search(vectors[:5])
    assert labels.tolist() == [0, 1, 2, 3, 4] and sims.tolist() == [1.0] * 5
    assert km.nearest(vectors[:5], centroids)[0].tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("method", ["flat", "sampled", "two-level"])
def test_every_method_recovers_planted_clusters_and_labels_are_nearest_centroids(method):
    vectors, truth = planted(40, 60)
    result = km.kmeans(vectors, 40, 25, seed=0, restarts=3, method=method)
    assert result.method == method
    assert nmi(truth, result.labels) > 0.95
    counts = np.bincount(result.labels)
    assert len(counts) == result.k and counts.min() > 0  # numbered 0..k-1, none empty
    expected, best = brute_force(vectors, result.centroids)
    assert (result.labels == expected).mean() >= 0.99
    assert np.allclose(
        result.similarity, (vectors * result.centroids[result.labels]).sum(1), atol=1e-5
    )


def test_two_level_is_deterministic_for_a_seed():
    vectors, _ = planted(30, 50, spread=0.4)
    a = km.kmeans(vectors, 30, 25, seed=3, restarts=1, method="two-level")
    b = km.kmeans(vectors, 30, 25, seed=3, restarts=1, method="two-level")
    assert np.array_equal(a.labels, b.labels) and np.array_equal(a.centroids, b.centroids)


def test_auto_is_flat_for_few_clusters_and_two_level_for_many():
    assert km.choose_method("auto", km.FLAT_MAX) == "flat"
    assert km.choose_method("auto", km.FLAT_MAX + 1) == "two-level"
    with pytest.raises(ValueError, match="one of auto, flat"):
        km.choose_method("spectral", 10)


def test_allocate_splits_k_in_proportion_with_at_least_one_per_cell():
    shares = km.allocate(100, np.array([500, 300, 150, 49, 1, 0]))
    assert shares.sum() == 100
    assert shares.tolist()[:3] == [50, 30, 15] and shares[4] == 1 and shares[5] == 0
    assert km.allocate(10, np.array([3, 2])).tolist() == [3, 2]  # never more than a cell's points
    assert km.allocate(3, np.array([1] * 5)).sum() == 3  # the one-per-cell floor gives way to k


def test_means_are_normalized_cluster_means():
    vectors = unit(np.random.default_rng(4).standard_normal((50, 6)))
    labels = np.arange(50) % 4
    old = unit(np.ones((5, 6)))
    out = km.means(vectors, labels, old)
    for c in range(4):
        mean = vectors[labels == c].sum(0)
        assert np.allclose(out[c], mean / np.linalg.norm(mean), atol=1e-5)
    assert np.array_equal(out[4], old[4])  # no members: unchanged


def test_top_lists_the_nearest_centroids_first_as_brute_force_does():
    rng = np.random.default_rng(5)
    vectors = unit(rng.standard_normal((1500, 16)))
    centroids = unit(rng.standard_normal((64, 16)))
    cells = km.train(centroids, 8, 25, 0, 1, 256)
    top = km.CentroidIndex(cells, centroids, probe=8).top(vectors, 6)  # every cell probed
    sims = vectors.astype(np.float64) @ centroids.astype(np.float64).T
    assert np.array_equal(top, np.argsort(-sims, axis=1, kind="stable")[:, :6])
    few = km.CentroidIndex(cells, centroids, probe=3).top(vectors, 6)
    assert (few[:, 0] == top[:, 0]).mean() >= 0.75  # random directions: the hard case (0.83)
    assert all(len(set(row)) == 6 for row in few.tolist())  # six distinct cells each
