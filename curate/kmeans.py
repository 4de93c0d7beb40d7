"""Spherical k-means that stays near-linear in the number of conversations.

The cluster tagger asks for about one cluster per 200 conversations (at most 4,096), so
with a flat k-means the work of every iteration, n x k dot products, grows as n^2 until
the cap: 20-30 minutes at 1M conversations on two cores. Two methods here:

``flat``       FAISS k-means over all k centroids (the tagger's method up to issue 19);
               every point is assigned by an exact n x k scan.
``sampled``    FAISS k-means over all k centroids trained on ``FINE_POINTS`` points per
               centroid, then every point assigned through :class:`CentroidIndex` (its
               cells: a k-means of the centroids) and the same Lloyd rounds as two-level.
               Cheaper than flat in the points, still k^2 in the training.
``two-level``  a coarse k-means into ``sqrt(k)`` cells, then a k-means inside each cell
               with a share of the k centroids proportional to the cell's size, trained on
               at most ``FINE_POINTS`` points per centroid. Every point is then assigned by
               :class:`CentroidIndex`, an inverted file over the centroids (each listed under
               its nearest coarse cell; a point is compared with the centroids of its
               ``probe`` nearest cells), and a few Lloyd rounds move the centroids to
               their members' means (on at most ``LLOYD_POINTS`` points per centroid). One iteration costs
               ``n (sqrt(k) + probe k / sqrt(k))`` dot products instead of ``n k``.

``auto`` (the default) is flat up to ``FLAT_MAX`` clusters, where it is cheap, and
two-level above: the choice and its quality (NMI against labelled categories, mean cosine
to the centroid) are measured in BENCHMARKS.md, issue 19, "Clustering that scales".

Everything is deterministic for a seed: samples come from a seeded generator, each cell's
k-means from ``seed + cell``, and ties between centroids go to the lower number, as in a
brute-force argmax.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

METHODS = ("auto", "flat", "sampled", "two-level")
FLAT_MAX = 256  # auto: flat k-means up to this many clusters
POINTS_PER_CENTROID = 256  # flat k-means trains on at most this many points per centroid
FINE_POINTS = 64  # two-level: training points per centroid inside a cell (FAISS wants 39+)
PROBE = 8  # two-level: coarse cells searched per point (3: NMI -0.02, BENCHMARKS.md)
LLOYD_ROUNDS = 10  # two-level: Lloyd rounds after training (2: NMI -0.02)
LLOYD_POINTS = 256  # ... on at most this many points per centroid (128: NMI -0.005..-0.009)
BLOCK = 32_768  # rows per block of the assignment (bounds its memory)


@dataclass(frozen=True)
class Clustering:
    """Every point's cluster (0..k-1, none empty), its cosine to that centroid, the centroids."""

    labels: np.ndarray  # int32 (n,)
    similarity: np.ndarray  # float32 (n,)
    centroids: np.ndarray  # float32 (k, d), unit length
    method: str

    @property
    def k(self) -> int:
        return len(self.centroids)

    def objective(self) -> float:
        """Mean cosine of the points to their own centroid (higher is tighter)."""
        return float(self.similarity.mean()) if len(self.similarity) else 0.0


def choose_method(method: str, k: int) -> str:
    if method not in METHODS:
        raise ValueError(f"unknown k-means method {method!r}; one of {', '.join(METHODS)}")
    if method == "auto":
        return "flat" if k <= FLAT_MAX else "two-level"
    return method


def kmeans(
    vectors: np.ndarray,
    k: int,
    iterations: int = 25,
    seed: int = 0,
    restarts: int = 3,
    method: str = "auto",
    probe: int | None = None,
) -> Clustering:
    """Cluster unit vectors into (at most) ``k`` clusters by cosine; empty clusters are dropped."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    k = max(1, min(k, n))
    chosen = choose_method(method, k)
    probe = PROBE if probe is None else probe
    if n == 0:
        return Clustering(
            np.zeros(0, np.int32),
            np.zeros(0, np.float32),
            np.zeros((0, vectors.shape[1]), np.float32),
            chosen,
        )
    if chosen == "flat":
        centroids = train(vectors, k, iterations, seed, restarts, POINTS_PER_CENTROID)
        labels, similarity = nearest(vectors, centroids)
    else:
        if chosen == "sampled":
            index = CentroidIndex.over(
                train(vectors, k, iterations, seed, restarts, FINE_POINTS), seed, probe
            )
        else:
            index = two_level(vectors, k, iterations, seed, restarts, probe)
        index = lloyd_rounds(index, vectors, k, seed)
        labels, similarity = index.search(vectors)
        centroids = index.centroids
    return _without_empty(labels, similarity, centroids, chosen)


def lloyd_rounds(index: CentroidIndex, vectors: np.ndarray, k: int, seed: int) -> CentroidIndex:
    """``LLOYD_ROUNDS`` rounds of assigning (through the index) and moving each centroid to
    its members' mean, on a seeded sample of at most ``k * LLOYD_POINTS`` rows."""
    rows = vectors
    if len(vectors) > k * LLOYD_POINTS:
        rng = np.random.default_rng(seed + 1)
        rows = vectors[np.sort(rng.choice(len(vectors), k * LLOYD_POINTS, replace=False))]
    for _ in range(LLOYD_ROUNDS):
        labels, _ = index.search(rows)
        index = index.moved_to(means(rows, labels, index.centroids))
    return index


@contextmanager
def faiss_threads(threads: int | None) -> Iterator[None]:
    """FAISS's OpenMP threads set for a block (None: unchanged), restored after."""
    from curate.dedup.search import faiss_module

    faiss = faiss_module()
    before = faiss.omp_get_max_threads()
    if threads is not None:
        faiss.omp_set_num_threads(threads)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def train(
    vectors: np.ndarray,
    k: int,
    iterations: int,
    seed: int,
    restarts: int,
    points_per_centroid: int,
    threads: int | None = None,
    gpu: bool = False,
) -> np.ndarray:
    """FAISS spherical k-means on a seeded sample of at most ``k * points_per_centroid`` rows.

    ``threads``: 1 for the small k-means of one cell. FAISS's OpenMP threads cost more than
    they give there (measured: 0.03 s at one thread against 0.5 s at two for 1,472 points
    and 23 centroids when the other core is busy)."""
    from curate.dedup.search import faiss_module

    faiss = faiss_module()
    n, d = vectors.shape
    k = max(1, min(k, n))
    model = faiss.Kmeans(
        d,
        k,
        niter=iterations,
        nredo=restarts,
        seed=seed,
        spherical=True,
        gpu=gpu,
        max_points_per_centroid=points_per_centroid,
        min_points_per_centroid=1,
        verbose=False,
    )
    size = min(n, k * points_per_centroid)
    if size < n:
        sample = np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
        vectors = vectors[sample]
    with faiss_threads(threads):
        model.train(np.ascontiguousarray(vectors))
    return np.ascontiguousarray(model.centroids, dtype=np.float32)


def nearest(vectors: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Brute force: each row's most similar centroid (the lowest number on ties) and the cosine."""
    labels = np.empty(len(vectors), np.int32)
    similarity = np.empty(len(vectors), np.float32)
    for lo in range(0, len(vectors), BLOCK):
        sims = vectors[lo : lo + BLOCK] @ centroids.T
        best = sims.argmax(axis=1)
        labels[lo : lo + BLOCK] = best
        similarity[lo : lo + BLOCK] = sims[np.arange(len(best)), best]
    return labels, similarity


def top_cells(vectors: np.ndarray, cells: np.ndarray, probe: int) -> np.ndarray:
    """Each row's ``probe`` most similar cells (n, probe), in no particular order."""
    probe = min(probe, len(cells))
    if probe == len(cells):
        return np.broadcast_to(np.arange(probe), (len(vectors), probe))
    out = np.empty((len(vectors), probe), np.int64)
    for lo in range(0, len(vectors), BLOCK):
        sims = vectors[lo : lo + BLOCK] @ cells.T
        out[lo : lo + BLOCK] = np.argpartition(-sims, probe - 1, axis=1)[:, :probe]
    return out


def grouped(keys: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions of ``keys`` sorted by key, and where each key's run starts (``count + 1`` bounds)."""
    order = np.argsort(keys, kind="stable")
    return order, np.searchsorted(keys[order], np.arange(count + 1))


@dataclass(frozen=True)
class CentroidIndex:
    """An inverted file over centroids: each is listed under its nearest coarse cell."""

    cells: np.ndarray  # (c, d) coarse centroids
    centroids: np.ndarray  # (k, d)
    probe: int = PROBE

    def _probed(self, vectors: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Block by block, cell by cell: the rows probing the cell, the centroids listed under
        it, and their cosines (rows x centroids): the one product both searches are made of."""
        c = len(self.cells)
        listed, list_bounds = grouped(nearest(self.centroids, self.cells)[0], c)
        for lo in range(0, len(vectors), BLOCK):
            block = vectors[lo : lo + BLOCK]
            rows = np.repeat(np.arange(len(block)), min(self.probe, c))
            by_cell, bounds = grouped(top_cells(block, self.cells, self.probe).reshape(-1), c)
            for cell in range(c):
                members = listed[list_bounds[cell] : list_bounds[cell + 1]]
                queries = rows[by_cell[bounds[cell] : bounds[cell + 1]]]
                if len(members) and len(queries):
                    yield lo + queries, members, block[queries] @ self.centroids[members].T

    def search(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's most similar centroid among those listed under its ``probe`` nearest cells.

        Exact (equal to :func:`nearest`) when ``probe`` covers every cell; the share that
        differs at the default is measured in the tests and BENCHMARKS.md."""
        n = len(vectors)
        best = np.full(n, -np.inf, np.float32)
        labels = np.full(n, len(self.centroids), np.int64)
        for at, members, sims in self._probed(vectors):
            pick = sims.argmax(axis=1)
            sim, label = sims[np.arange(len(pick)), pick], members[pick]
            better = (sim > best[at]) | ((sim == best[at]) & (label < labels[at]))
            best[at[better]], labels[at[better]] = sim[better], label[better]
        unlisted = labels == len(self.centroids)  # every probed cell lists no centroid
        if unlisted.any():
            labels[unlisted], best[unlisted] = nearest(vectors[unlisted], self.centroids)
        return labels.astype(np.int32), best

    def top(self, vectors: np.ndarray, m: int) -> np.ndarray:
        """Each row's ``m`` most similar centroids (n, m), nearest first (ties: the lower
        number), among those listed under its ``probe`` nearest cells: the cells that dedup's
        partitioned search compares a vector with."""
        n = len(vectors)
        m = min(m, len(self.centroids))
        best = np.full((n, m), -np.inf, np.float32)
        ids = np.full((n, m), len(self.centroids), np.int64)
        for at, members, found in self._probed(vectors):
            sims = np.concatenate([best[at], found], 1)
            cand = np.concatenate([ids[at], np.broadcast_to(members, found.shape)], 1)
            if sims.shape[1] > m:  # keep the m best so far
                keep = np.argsort(-sims, axis=1, kind="stable")[:, :m]
                sims, cand = np.take_along_axis(sims, keep, 1), np.take_along_axis(cand, keep, 1)
            best[at], ids[at] = sims, cand
        order = np.lexsort((ids, -best), axis=1) if n else np.zeros((0, m), np.int64)
        ids = np.take_along_axis(ids, order, 1)
        short = (ids == len(self.centroids)).any(axis=1)  # probed cells listed fewer than m
        if short.any():
            sims = vectors[short] @ self.centroids.T
            ids[short] = np.argsort(-sims, axis=1, kind="stable")[:, :m]
        return ids

    @classmethod
    def over(cls, centroids: np.ndarray, seed: int, probe: int = PROBE) -> CentroidIndex:
        """An index whose cells are a k-means of the centroids themselves (sqrt(k) cells)."""
        c = max(1, round(math.sqrt(len(centroids))))
        return cls(train(centroids, c, 25, seed, 1, POINTS_PER_CENTROID), centroids, probe)

    def moved_to(self, centroids: np.ndarray) -> CentroidIndex:
        return CentroidIndex(self.cells, centroids, self.probe)


def two_level(
    vectors: np.ndarray, k: int, iterations: int, seed: int, restarts: int, probe: int = PROBE
) -> CentroidIndex:
    """Coarse cells, then each cell's share of the ``k`` centroids trained on its own points."""
    c = max(2, round(math.sqrt(k)))
    cells = train(vectors, c, iterations, seed, restarts, POINTS_PER_CENTROID)
    cell_of, _ = nearest(vectors, cells)
    members, bounds = grouped(cell_of, len(cells))
    shares = allocate(k, np.diff(bounds))
    rng = np.random.default_rng(seed)
    parts = []
    for cell, share in enumerate(shares):
        if share == 0:
            continue
        points = members[bounds[cell] : bounds[cell + 1]]
        if len(points) > share * FINE_POINTS:
            points = np.sort(rng.choice(points, size=share * FINE_POINTS, replace=False))
        parts.append(
            train(vectors[points], int(share), iterations, seed + cell, restarts, FINE_POINTS, 1)
        )
    return CentroidIndex(cells, np.concatenate(parts).astype(np.float32), probe)


def allocate(k: int, sizes: np.ndarray) -> np.ndarray:
    """``k`` split across cells in proportion to their sizes (largest remainders first), at
    least one per non-empty cell and never more than a cell's points."""
    sizes = np.asarray(sizes, np.int64)
    exact = k * sizes / max(int(sizes.sum()), 1)
    shares = np.minimum(np.maximum(np.floor(exact).astype(np.int64), sizes > 0), sizes)
    by_remainder = np.lexsort((np.arange(len(sizes)), -(exact - shares)))
    spare = min(k, int(sizes.sum())) - int(shares.sum())
    while spare > 0:  # passes over the cells (sqrt(k) of them), not over rows
        for cell in by_remainder:
            if spare and shares[cell] < sizes[cell]:
                shares[cell] += 1
                spare -= 1
    while spare < 0:  # the one-per-cell floor overshot k: take from the largest shares
        cell = int(np.argmax(shares))
        shares[cell] -= 1
        spare += 1
    return shares


def means(vectors: np.ndarray, labels: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each cluster's normalized mean (a cluster left without points keeps its centroid).

    One sparse (k x n) product: no sorted copy of the n vectors."""
    from scipy import sparse

    n, k = len(vectors), len(centroids)
    members = sparse.csr_matrix(
        (np.ones(n, np.float32), (labels, np.arange(n))), shape=(k, n), dtype=np.float32
    )
    sums = np.asarray(members @ vectors, dtype=np.float32)
    norms = np.linalg.norm(sums, axis=1)
    filled = norms > 1e-12
    out = centroids.copy()
    out[filled] = sums[filled] / norms[filled, None]
    return np.ascontiguousarray(out, dtype=np.float32)


def _without_empty(
    labels: np.ndarray, similarity: np.ndarray, centroids: np.ndarray, method: str
) -> Clustering:
    counts = np.bincount(labels, minlength=len(centroids))
    used = np.flatnonzero(counts)
    if len(used) < len(centroids):
        renumber = np.full(len(centroids), -1, np.int32)
        renumber[used] = np.arange(len(used), dtype=np.int32)
        labels, centroids = renumber[labels], centroids[used]
    return Clustering(labels.astype(np.int32), similarity.astype(np.float32), centroids, method)
