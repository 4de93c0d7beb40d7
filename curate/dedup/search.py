"""Find every pair of vectors with cosine similarity >= a threshold.

No N x N matrix is ever built. Methods (``--index``):

``exact``       all pairs, by blocks of matrix products over the upper triangle
                (N^2 d / 2 multiply-adds: fine up to a few tens of thousands).
``partition``   k-means cells (FAISS); each vector is compared with the members
                of its ``nprobe`` nearest cells. The comparisons of one cell are
                one matrix product (all the vectors probing that cell, against its
                members), so the work runs at BLAS speed instead of query by query;
                and every pair above the threshold inside the probed cells is
                returned, with no k-nearest-neighbour cut-off to saturate. A pair is
                missed only when neither vector probes the other's cell: the recall
                against exact search is measured on a sample of queries every run.
``faiss-flat``  FAISS k-NN search (``IndexFlatIP``, exact) plus the threshold.
``faiss-ivf``   FAISS k-NN search on an inverted-file index (``IndexIVFFlat``).
``auto``        ``exact`` up to 20,000 vectors, else ``partition``.

The two FAISS k-NN methods need a **saturation check**: when a query's k-th
neighbour is still above the threshold it may have more, so it is searched again
with a larger k (32 -> 256 -> 1024); queries still saturated at 1,024 belong to
clusters of over a thousand near-identical texts and are counted (their nearest
1,024 neighbours are enough to place them in a group).

Devices, one code path: FAISS runs on the GPU only when ``faiss.get_num_gpus() > 0``
(on a CPU machine the GPU build must not be asked for a GPU index); the matrix
products run in torch, on CUDA when it is available. Results are deterministic:
the k-means sample and seed are fixed and pairs are returned sorted.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

METHODS = ("auto", "exact", "partition", "faiss-flat", "faiss-ivf")
EXACT_MAX = 20_000
K_SCHEDULE = (32, 256, 1024)
QUERY_CHUNK = 8192
BLOCK = 4096
RECALL_SAMPLE = 2000
DEFAULT_NPROBE = 6
KMEANS_ITERATIONS = 10
KMEANS_POINTS_PER_CELL = 32
FLAT_CELLS = 1024  # CPU: above this many cells, two-level k-means (curate.kmeans) finds them
PARALLEL_TASKS = True  # CPU: whole cells per thread (Products.map); False: one cell at a time


@dataclass
class SearchStats:
    method: str
    device: str
    vectors: int
    pairs: int = 0
    cells: int | None = None
    nprobe: int | None = None
    escalated: int = 0  # k-NN methods: searches repeated with a larger k (a query may count twice)
    saturated: int = 0  # k-NN methods: queries still saturated at the largest k
    train_seconds: float = 0.0
    search_seconds: float = 0.0
    recall_vs_exact: float | None = None  # approximate methods: on a sample of queries
    recall_pairs: int | None = None  # exact pairs in that sample


@dataclass
class Pairs:
    """Undirected near-duplicate pairs, ``i < j``, sorted by (i, j)."""

    i: np.ndarray
    j: np.ndarray
    sim: np.ndarray

    def __len__(self) -> int:
        return len(self.i)


def faiss_module():
    try:
        import faiss
    except ImportError:
        from curate.errors import CurateError

        raise CurateError(
            "dedup needs FAISS: pip install faiss-cpu (or faiss-gpu on CUDA machines), "
            'e.g. pip install -e ".[cpu]"'
        ) from None
    return faiss


def faiss_gpu(faiss, wanted: bool | None) -> bool:
    """Use FAISS on the GPU? Only when asked (or not forbidden) and a GPU is really there."""
    if wanted is False:
        return False
    get = getattr(faiss, "get_num_gpus", None)
    return bool(get and get() > 0)


class Products:
    """Matrix products and thresholding, in torch on CUDA or on the CPU."""

    def __init__(self, use_gpu: bool | None):
        import torch

        self.torch = torch
        self.device = "cuda" if use_gpu is not False and torch.cuda.is_available() else "cpu"

    def tensor(self, array: np.ndarray):
        with warnings.catch_warnings():  # read-only Arrow buffers: the tensors are never written
            warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
            return self.torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any]) -> Iterator[Any]:
        """``fn`` over ``items``, results in order. On the CPU: one task per item on a pool of
        one thread per core this process may use (``CURATE_THREADS``, else its affinity), torch at one thread each. The products of one cell are
        small; split over the cores inside each product, every product waits for its slowest
        thread, and when another process holds a core that is a whole time slice (dedup's
        lead over semhash fell from 14.8x to 2.3-8.6x on a shared machine). With whole tasks
        per thread, a busy core just takes fewer of them (BENCHMARKS.md, issue 19)."""
        from curate.models.device import cpu_count

        workers = cpu_count() if self.device == "cpu" and PARALLEL_TASKS else 1
        if workers == 1:
            yield from map(fn, items)
            return
        before = self.torch.get_num_threads()
        self.torch.set_num_threads(1)
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="curate-dedup") as pool:
                yield from pool.map(fn, items)
        finally:
            self.torch.set_num_threads(before)

    def above(self, queries, items, threshold: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, column, similarity) of the entries of queries @ items.T at or above the threshold."""
        sims = queries @ items.T
        rows, cols = self.torch.nonzero(sims >= threshold, as_tuple=True)
        vals = sims[rows, cols]
        return rows.cpu().numpy(), cols.cpu().numpy(), vals.float().cpu().numpy()


def default_cells(n: int) -> int:
    """About 256 vectors a cell, a power of two, within [16, 65536]."""
    return int(min(65536, max(16, 2 ** round(math.log2(max(n, 1) / 256)))))


def near_pairs(
    vectors: np.ndarray,
    threshold: float,
    method: str = "auto",
    cells: int | None = None,
    nprobe: int | None = None,
    k_schedule: tuple[int, ...] = K_SCHEDULE,
    seed: int = 0,
    use_gpu: bool | None = None,
    progress: Callable[[int], None] | None = None,
    measure_recall: bool = True,
) -> tuple[Pairs, SearchStats]:
    """All pairs (i < j) with similarity >= threshold, and how they were found."""
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(vectors)
    if method == "auto":
        method = "exact" if n <= EXACT_MAX else "partition"
    start = time.perf_counter()
    if method == "exact":
        found, stats = _exact(vectors, threshold, use_gpu, progress)
    elif method == "partition":
        found, stats = _partition(
            vectors, threshold, cells, nprobe or DEFAULT_NPROBE, seed, use_gpu, progress
        )
    elif method in ("faiss-flat", "faiss-ivf"):
        found, stats = _faiss_knn(
            vectors, threshold, method, cells, nprobe, k_schedule, seed, use_gpu, progress
        )
    else:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    stats.search_seconds = time.perf_counter() - start - stats.train_seconds
    pairs = undirected(*found, n)
    stats.pairs = len(pairs)
    if measure_recall and method not in ("exact", "faiss-flat") and n > 1:
        stats.recall_vs_exact, stats.recall_pairs = sample_recall(vectors, pairs, threshold, seed)
    return pairs, stats


def _exact(vectors, threshold, use_gpu, progress):
    products = Products(use_gpu)
    stats = SearchStats(method="exact", device=products.device, vectors=len(vectors))
    data = products.tensor(vectors)
    found = []
    for lo in range(0, len(vectors), BLOCK):
        hi = min(lo + BLOCK, len(vectors))
        rows, cols, sims = products.above(data[lo:hi], data[lo:], threshold)
        i, j = rows + lo, cols + lo
        upper = j > i
        found.append((i[upper], j[upper], sims[upper]))
        if progress is not None:
            progress(hi - lo)
    return _concat(found), stats


def _partition(vectors, threshold, cells, nprobe, seed, use_gpu, progress):
    faiss = faiss_module()
    n, d = vectors.shape
    products = Products(use_gpu)
    on_gpu = faiss_gpu(faiss, use_gpu)
    cells = max(1, min(cells or default_cells(n), n))
    nprobe = max(1, min(nprobe, cells))
    stats = SearchStats(
        method="partition", device=products.device, vectors=n, cells=cells, nprobe=nprobe
    )
    started = time.perf_counter()
    if on_gpu or cells <= FLAT_CELLS:
        probes = _flat_cells(faiss, vectors, cells, nprobe, seed, on_gpu)
    else:  # thousands of cells: a flat k-means and its n x cells assignment grow as n^2
        from curate.kmeans import two_level

        index = two_level(vectors, cells, KMEANS_ITERATIONS, seed, restarts=1)
        probes = index.top(vectors, nprobe)  # each vector's nprobe nearest cells, nearest first
    stats.train_seconds = time.perf_counter() - started
    # Members of each cell (by nearest cell), and the vectors probing each cell.
    primary = probes[:, 0]
    members = np.argsort(primary, kind="stable")
    member_bounds = np.searchsorted(primary[members], np.arange(cells + 1))
    probe_cell = probes.reshape(-1)
    probing = np.repeat(np.arange(n), nprobe)[np.argsort(probe_cell, kind="stable")]
    probe_bounds = np.searchsorted(np.sort(probe_cell, kind="stable"), np.arange(cells + 1))
    ordered = products.tensor(vectors[members])  # cell members are contiguous

    def cell_pairs(cell: int) -> tuple[tuple[np.ndarray, ...], int]:
        m_lo, m_hi = member_bounds[cell], member_bounds[cell + 1]
        queries = probing[probe_bounds[cell] : probe_bounds[cell + 1]]
        found = []
        if m_hi > m_lo and len(queries):
            for q_lo in range(0, len(queries), BLOCK):
                chunk = queries[q_lo : q_lo + BLOCK]
                rows, cols, sims = products.above(
                    products.tensor(vectors[chunk]), ordered[m_lo:m_hi], threshold
                )
                i, j = chunk[rows], members[m_lo + cols]
                other = i != j
                found.append((i[other], j[other], sims[other]))
        return _concat(found), int(m_hi - m_lo)

    found = []
    for pairs, members_done in products.map(cell_pairs, range(cells)):
        found.append(pairs)
        if progress is not None:
            progress(members_done)
    return _concat(found), stats


def _flat_cells(faiss, vectors, cells, nprobe, seed, on_gpu) -> np.ndarray:
    """FAISS k-means cells and each vector's ``nprobe`` nearest ones, nearest first."""
    from curate.kmeans import train

    trained = train(vectors, cells, KMEANS_ITERATIONS, seed, 1, KMEANS_POINTS_PER_CELL, gpu=on_gpu)
    centroids = faiss.IndexFlatIP(vectors.shape[1])
    centroids.add(trained)
    if on_gpu:
        centroids = faiss.index_cpu_to_all_gpus(centroids)
    return centroids.search(vectors, nprobe)[1]


def _sample(n: int, size: int, seed: int) -> np.ndarray | None:
    if size >= n:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def _faiss_knn(vectors, threshold, method, cells, nprobe, k_schedule, seed, use_gpu, progress):
    faiss = faiss_module()
    n, d = vectors.shape
    on_gpu = faiss_gpu(faiss, use_gpu)
    stats = SearchStats(method=method, device="cuda" if on_gpu else "cpu", vectors=n)
    started = time.perf_counter()
    if method == "faiss-flat":
        index = faiss.IndexFlatIP(d)
    else:
        cells = max(
            1, min(cells or default_cells(n), n // 39 or 1)
        )  # FAISS wants 39+ points a cell
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, cells, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        sample = _sample(n, cells * 64, seed)
        index.train(vectors[sample] if sample is not None else vectors)
        index.nprobe = max(1, min(nprobe or 16, cells))
        stats.cells, stats.nprobe = cells, index.nprobe
    index.add(vectors)
    if on_gpu:
        index = faiss.index_cpu_to_all_gpus(index)
    stats.train_seconds = time.perf_counter() - started
    found = []
    for lo in range(0, n, QUERY_CHUNK):
        pending = np.arange(lo, min(lo + QUERY_CHUNK, n), dtype=np.int64)
        for step, k in enumerate(k_schedule):
            k = min(k, n)
            sims, ids = index.search(vectors[pending], k)
            last = step == len(k_schedule) - 1 or k >= n
            saturated = sims[:, -1] >= threshold
            done = ~saturated | last
            found.append(_above(pending[done], sims[done], ids[done], threshold))
            if last:
                stats.saturated += int((saturated & (k < n)).sum())
                break
            pending = pending[saturated]
            if len(pending) == 0:
                break
            stats.escalated += len(pending)
        if progress is not None:
            progress(min(QUERY_CHUNK, n - lo))
    return _concat(found), stats


def _above(
    rows: np.ndarray, sims: np.ndarray, ids: np.ndarray, threshold: float
) -> tuple[np.ndarray, ...]:
    """k-NN results above the threshold, self-matches removed."""
    mask = (sims >= threshold) & (ids >= 0) & (ids != rows[:, None])
    return np.broadcast_to(rows[:, None], ids.shape)[mask], ids[mask], sims[mask]


def _concat(found: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    return tuple(np.concatenate([f[k] for f in found]) for k in range(3))  # type: ignore[return-value]


def undirected(q: np.ndarray, nb: np.ndarray, s: np.ndarray, n: int) -> Pairs:
    """Unique (i < j) pairs, sorted, each with its highest similarity."""
    i = np.minimum(q, nb).astype(np.int64)
    j = np.maximum(q, nb).astype(np.int64)
    key = i * n + j
    order = np.lexsort((-s, key))
    key, s = key[order], s[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, s = key[first], s[first]
    return Pairs(key // n, key % n, s.astype(np.float32))


def exact_neighbours(
    vectors: np.ndarray, queries: np.ndarray, threshold: float
) -> list[np.ndarray]:
    """Brute force: for each query row, the indices of all other vectors above the threshold."""
    out = []
    for lo in range(0, len(queries), 256):
        block = vectors[queries[lo : lo + 256]] @ vectors.T
        for row, q in zip(block, queries[lo : lo + 256]):
            hits = np.flatnonzero(row >= threshold)
            out.append(hits[hits != q])
    return out


def sample_recall(
    vectors: np.ndarray, pairs: Pairs, threshold: float, seed: int
) -> tuple[float | None, int]:
    """Share of the exact pairs of a random sample of queries that the search found."""
    n = len(vectors)
    queries = np.sort(
        np.random.default_rng(seed + 1).choice(n, size=min(RECALL_SAMPLE, n), replace=False)
    )
    exact = exact_neighbours(vectors, queries, threshold)
    q = np.repeat(queries, [len(h) for h in exact]).astype(np.int64)
    h = np.concatenate(exact).astype(np.int64) if exact else np.zeros(0, dtype=np.int64)
    if len(q) == 0:
        return None, 0
    wanted = np.minimum(q, h) * n + np.maximum(q, h)
    keys = pairs.i * n + pairs.j  # sorted
    if len(keys) == 0:
        return 0.0, int(len(wanted))
    pos = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return float((keys[pos] == wanted).mean()), int(len(wanted))


def describe(stats: SearchStats) -> dict[str, Any]:
    """The stats as a manifest entry (rounded, no empty fields)."""
    from dataclasses import asdict

    out = {k: v for k, v in asdict(stats).items() if v is not None}
    out["train_seconds"] = round(stats.train_seconds, 3)
    out["search_seconds"] = round(stats.search_seconds, 3)
    return out
