"""Pool vectors against benchmark vectors: every pair at or above its threshold, by an index.

The benchmark side is small (thousands to tens of thousands of items) and the pool
large, so the index is built over the benchmark: k-means cells (FAISS), each pool
vector compared with the members of its ``nprobe`` nearest cells, one matrix product
per cell for all the pool vectors of a chunk that probe it (BLAS speed, torch on CUDA
when present). A pair is missed only when the pool vector does not probe the item's
cell; the recall against exact search is measured on a sample of every chunk and
recorded. Up to ``EXACT_MAX`` items, every pair is compared (it is cheaper than cells).

Thresholds are per pair, as in dedup: ``threshold`` within a language, the
cross-lingual one (:class:`curate.dedup.languages.CrossLingual`) when the pool row and
the benchmark item are in different languages or scripts.

**The margin** (:class:`Margin`) finds most translations that no cosine threshold can
take without false positives. A translation scores ~0.8 with its item, but so do
generic prompts with "hub" items that resemble many texts. The ratio margin of bitext
mining (Artetxe and Schwenk, 2019) divides the cosine by the mean similarity of both
sides' neighbourhoods::

    margin(x, y) = cos(x, y) / ((r(x) + r(y)) / 2)

``r(x)``: mean cosine of pool row ``x`` with its ``k`` nearest benchmark items other than
``y`` (one per item id); ``r(y)``: mean cosine of item ``y`` with its ``k`` nearest pool
rows (one per prompt group) that are not copies of it (cosine below the within-language
threshold: copies are found anyway, and an item copied into the pool many times must
not hide its translations), from a first pass over the whole pool. Neighbours below ``floor`` count
as ``floor``, so the margin is never overstated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from curate.dedup.languages import CrossLingual
from curate.dedup.search import KMEANS_ITERATIONS, Products, faiss_gpu, faiss_module

EXACT_MAX = 4096
ITEMS_PER_CELL = 64
DEFAULT_NPROBE = 8
RECALL_ROWS = 64  # pool rows of each chunk that are also searched exactly
MARGIN_K = 4


@dataclass
class VectorStats:
    method: str
    device: str
    items: int
    cells: int | None = None
    nprobe: int | None = None
    recall_found: int = 0
    recall_pairs: int = 0
    queries: int = field(default=0)

    def describe(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out.pop("recall_found"), out.pop("recall_pairs")
        if self.method == "partition":
            out["recall_vs_exact"] = (
                round(self.recall_found / self.recall_pairs, 4) if self.recall_pairs else None
            )
            out["recall_pairs"] = self.recall_pairs
        return out


class VectorIndex:
    """Benchmark item vectors with their languages, searched by pool vectors."""

    def __init__(
        self,
        vectors: np.ndarray,
        langs: np.ndarray,
        threshold: float,
        cross_lingual: CrossLingual | None,
        method: str = "auto",
        nprobe: int | None = None,
        floor: float | None = None,
        seed: int = 0,
        use_gpu: bool | None = None,
    ):
        self.products = Products(use_gpu)
        vectors = np.nan_to_num(np.ascontiguousarray(vectors, dtype=np.float32))
        self.langs = np.asarray(langs, dtype=str)
        self.threshold = threshold
        self.cross = cross_lingual
        self.lowest = min([threshold, *(cross_lingual.values() if cross_lingual else [])])
        if floor is not None:  # pairs down to the margin's floor are wanted too
            self.lowest = min(self.lowest, floor)
        m = len(vectors)
        if method == "auto":
            method = "exact" if m <= EXACT_MAX else "partition"
        self.stats = VectorStats(method, self.products.device, m)
        self.items = self.products.tensor(vectors)
        if method == "partition":
            self._build_cells(vectors, nprobe or DEFAULT_NPROBE, seed, use_gpu)

    def _build_cells(self, vectors: np.ndarray, nprobe: int, seed: int, use_gpu) -> None:
        faiss = faiss_module()
        m, d = vectors.shape
        cells = max(1, min(m // ITEMS_PER_CELL, 65536))
        kmeans = faiss.Kmeans(
            d, cells, niter=KMEANS_ITERATIONS, seed=seed, spherical=True,
            gpu=faiss_gpu(faiss, use_gpu), min_points_per_centroid=1, verbose=False,
        )  # fmt: skip
        kmeans.train(vectors)
        centroids = np.ascontiguousarray(kmeans.centroids, dtype=np.float32)
        nearest = np.argmax(vectors @ centroids.T, axis=1)
        self.members = np.argsort(nearest, kind="stable")
        self.bounds = np.searchsorted(nearest[self.members], np.arange(cells + 1))
        self.centroids = self.products.tensor(centroids)
        self.ordered = self.products.tensor(vectors[self.members])
        self.stats.cells, self.stats.nprobe = cells, min(nprobe, cells)

    def _thresholds(self, query_langs: np.ndarray, q: np.ndarray, item: np.ndarray) -> np.ndarray:
        if self.cross is None:
            return np.full(len(q), self.threshold, dtype=np.float32)
        codes, index = np.unique(
            np.concatenate([np.asarray(query_langs, dtype=str), self.langs]), return_inverse=True
        )
        table = self.cross.matrix(codes, self.threshold)
        return table[index[: len(query_langs)][q], index[len(query_langs) :][item]]

    def search(self, queries: np.ndarray, query_langs: np.ndarray) -> tuple[np.ndarray, ...]:
        """(query row, item, similarity, meets its threshold) of every pair at or above the
        lowest threshold (or the margin's floor), sorted."""
        queries = np.nan_to_num(np.ascontiguousarray(queries, dtype=np.float32))
        self.stats.queries += len(queries)
        data = self.products.tensor(queries)
        if self.stats.method == "exact":
            q, item, sim = self.products.above(data, self.items, self.lowest)
        else:
            q, item, sim = self._probe(data)
            self._measure_recall(data, q, item)
        order = np.lexsort((item, q))
        q, item, sim = q[order].astype(np.int64), item[order].astype(np.int64), sim[order]
        return q, item, sim, sim >= self._thresholds(query_langs, q, item)

    def _probe(self, data) -> tuple[np.ndarray, ...]:
        torch = self.products.torch
        probes = torch.topk(data @ self.centroids.T, self.stats.nprobe, dim=1).indices
        probes = probes.cpu().numpy()
        cell = probes.reshape(-1)
        order = np.argsort(cell, kind="stable")
        query_of = np.repeat(np.arange(len(probes)), probes.shape[1])[order]
        bounds = np.searchsorted(cell[order], np.arange(len(self.bounds)))
        found = []
        for c in range(len(self.bounds) - 1):
            lo, hi = self.bounds[c], self.bounds[c + 1]
            queries = query_of[bounds[c] : bounds[c + 1]]
            if hi == lo or len(queries) == 0:
                continue
            rows, cols, sims = self.products.above(data[queries], self.ordered[lo:hi], self.lowest)
            found.append((queries[rows], self.members[lo + cols], sims))
        if not found:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
        return tuple(np.concatenate([f[k] for f in found]) for k in range(3))

    def _measure_recall(self, data, q: np.ndarray, item: np.ndarray) -> None:
        sample = min(RECALL_ROWS, len(data))
        eq, eitem, _ = self.products.above(data[:sample], self.items, self.lowest)
        if len(eq) == 0:
            return
        found = set(zip(q[q < sample].tolist(), item[q < sample].tolist()))
        self.stats.recall_pairs += len(eq)
        self.stats.recall_found += sum((a, b) in found for a, b in zip(eq.tolist(), eitem.tolist()))


def prompt_codes(prompt_ids: list[str]) -> np.ndarray:
    """A 64-bit code per ``prompt_id`` (a hex content hash): the same in every chunk."""
    return np.array([int(p[:16], 16) for p in prompt_ids], dtype=np.uint64)


def top_k(group: np.ndarray, key: np.ndarray, sim: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """Per group, its ``k`` highest similarities over distinct keys: (group, key, sim), sorted."""
    order = np.lexsort((-sim, key, group))
    group, key, sim = group[order], key[order], sim[order]
    first = np.ones(len(group), dtype=bool)
    first[1:] = (group[1:] != group[:-1]) | (key[1:] != key[:-1])
    group, key, sim = group[first], key[first], sim[first]
    order = np.lexsort((key, -sim, group))
    group, key, sim = group[order], key[order], sim[order]
    starts = np.searchsorted(group, group, side="left")
    keep = np.arange(len(group)) - starts < k
    return group[keep], key[keep], sim[keep]


def neighbourhood(group: np.ndarray, sim: np.ndarray, n: int, k: int, floor: float) -> np.ndarray:
    """Mean of each group's (already top-``k``) similarities, missing ones counted as ``floor``."""
    total = np.bincount(group, weights=sim, minlength=n)
    count = np.bincount(group, minlength=n)
    return ((total + (k - np.minimum(count, k)) * floor) / k).astype(np.float32)


@dataclass
class Margin:
    """Ratio margins of pool-item pairs (see the module docstring)."""

    item_keys: np.ndarray  # uint64 code of each item's id: one neighbour per id
    floor: float
    k: int = MARGIN_K
    item_background: np.ndarray | None = None  # r(y), after :meth:`learn_items`
    _items: tuple[np.ndarray, ...] = ()

    def add_pool(self, item: np.ndarray, prompt: np.ndarray, sim: np.ndarray) -> None:
        """First pass: pairs (item, the row's prompt group code, cosine) of one pool chunk."""
        if self._items:
            item = np.concatenate([self._items[0], item])
            prompt = np.concatenate([self._items[1], prompt])
            sim = np.concatenate([self._items[2], sim])
        self._items = top_k(item, prompt, sim.astype(np.float32), self.k)

    def learn_items(self) -> None:
        group, _, sim = self._items or (np.zeros(0, np.int64),) * 3
        self.item_background = neighbourhood(
            group.astype(np.int64), sim, len(self.item_keys), self.k, self.floor
        )
        self._items = ()

    def margins(self, q: np.ndarray, item: np.ndarray, sim: np.ndarray, n: int) -> np.ndarray:
        """The margin of every pair (q: pool row in the chunk, item, cosine >= floor).

        ``r(x)`` leaves the pair's own item out: the mean of the row's ``k`` nearest
        *other* items, so the margin says how far the pair stands out of the row's
        neighbourhood.
        """
        keys = self.item_keys[item]
        rows, top_keys, top = top_k(q, keys, sim, self.k + 1)
        total = np.bincount(rows, weights=top, minlength=n)
        count = np.bincount(rows, minlength=n)
        kth = np.full(n, self.floor, dtype=np.float64)  # the (k+1)-th, dropped when not own
        last = np.flatnonzero(np.diff(np.append(rows, -1)) != 0)  # each row's last entry
        full = count[rows[last]] == self.k + 1
        kth[rows[last][full]] = top[last][full]
        # is the pair's key among its row's top k+1? then leave it out, else leave the k+1-th
        among = np.zeros(len(q), dtype=bool)
        if len(rows):
            code = rows.astype(np.uint64) * np.uint64(1 << 20) ^ top_keys
            pair = q.astype(np.uint64) * np.uint64(1 << 20) ^ keys
            order = np.argsort(code)
            at = np.minimum(np.searchsorted(code[order], pair), len(code) - 1)
            among = code[order][at] == pair
        padded = total + (self.k + 1 - np.minimum(count, self.k + 1)) * self.floor
        own = np.where(among, sim, kth[q])
        background = (padded[q] - own) / self.k
        return sim / ((background + self.item_background[item]) / 2)
