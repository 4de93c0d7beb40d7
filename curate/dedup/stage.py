"""``curate dedup``: group near-duplicate conversations and mark the one to keep.

1. Load the conversation vectors from an embedding sidecar (``curate embed``).
2. Find every pair with cosine similarity >= ``threshold`` (:mod:`curate.dedup.search`),
   or >= ``cross_lingual_threshold`` when the two are in different languages or
   scripts (translations score lower than copies). In ``conversation`` mode a pair
   of multi-turn conversations must also match on their last exchange; the pair's
   similarity is the lower of the two.
3. Order conversations from best to worst (:mod:`curate.dedup.ranking`) and group
   them greedily (:mod:`curate.dedup.grouping`).
4. Write the sidecar ``dedup`` (aligned with the base table): ``dup_group`` (id of
   the group's kept member), ``dup_similarity`` (to that member; 1.0 for kept rows),
   ``dup_keep``, ``dup_group_size``. Nothing is deleted: ``select`` drops rows later.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD, DEFAULT_THRESHOLD
from curate.dedup.grouping import Groups, greedy_groups
from curate.dedup.ranking import keep_order
from curate.dedup.search import Pairs, SearchStats, describe, near_pairs
from curate.embed.stage import find_embeddings, vectors_of
from curate.embed.text import DEFAULT_MODE
from curate.errors import CurateError, StoreError
from curate.store import SidecarWriter, Store

SIDECAR = "dedup"
UNKNOWN_LANGS = np.array(["und", "other"], dtype=object)


@dataclass(frozen=True)
class DedupOptions:
    threshold: float = DEFAULT_THRESHOLD
    cross_lingual_threshold: float | None = (
        DEFAULT_CROSS_LINGUAL_THRESHOLD  # None: same as threshold
    )
    embeddings: str | None = None  # an embedding sidecar by name; else embedder + text
    embedder: str | None = None
    text: str = DEFAULT_MODE
    index: str = "auto"  # auto, exact, partition, faiss-flat, faiss-ivf
    cells: int | None = None
    nprobe: int | None = None
    keep_by: str = "auto"
    seed: int = 0


@dataclass
class DedupResult:
    rows: int
    pairs: int
    dropped: int
    groups: int  # groups with two or more members
    largest: list[dict[str, Any]]
    search: dict[str, Any]
    keep_rule: str
    wall_seconds: float
    already_done: bool = False


@dataclass
class LastExchanges:
    """Last-exchange vectors of the multi-turn conversations only (rows: their base positions)."""

    rows: np.ndarray
    vectors: np.ndarray

    def lookup(self, n: int) -> np.ndarray:
        """Position in ``vectors`` of each base row, or -1."""
        position = np.full(n, -1, dtype=np.int64)
        position[self.rows] = np.arange(len(self.rows))
        return position


def load_vectors(
    store: Store, name: str, ids: pa.ChunkedArray
) -> tuple[np.ndarray, LastExchanges | None]:
    """The embeddings of every base row, in base order, and the last-exchange vectors."""
    table = store.read_sidecar(name)
    if not table.column("id").equals(ids):
        raise StoreError(
            f"embeddings {name!r} do not match the base table; rerun `curate embed` with --overwrite"
        )
    vectors = vectors_of(table.column("embedding"))
    last = None
    if (
        "embedding_last" in table.column_names
        and table.column("embedding_last").null_count < table.num_rows
    ):
        column = table.column("embedding_last")
        rows = np.flatnonzero(~column.is_null().to_numpy(zero_copy_only=False))
        last = LastExchanges(rows, np.ascontiguousarray(vectors_of(column)[rows]))
    return vectors, last


def pair_thresholds(
    pairs: Pairs, langs: np.ndarray, threshold: float, cross_lingual: float | None
) -> np.ndarray:
    """The threshold each pair must meet: ``cross_lingual`` when the two languages differ.

    Languages are the base table's ``lang`` (zh-Hant and zh-Hans count as different:
    a cross-script pair is a translation too). ``und`` (no letters) and ``other``
    (an unidentified language) never count as different: a detection gap must not
    lower the bar.
    """
    need = np.full(len(pairs), threshold, dtype=np.float32)
    if cross_lingual is None or len(pairs) == 0:
        return need
    a, b = langs[pairs.i], langs[pairs.j]
    unknown = np.isin(a, UNKNOWN_LANGS) | np.isin(b, UNKNOWN_LANGS)
    crossing = (a != b) & ~unknown
    need[crossing] = cross_lingual
    return need


def apply_thresholds(pairs: Pairs, need: np.ndarray) -> Pairs:
    keep = pairs.sim >= need
    return Pairs(pairs.i[keep], pairs.j[keep], pairs.sim[keep])


def require_last_match(
    pairs: Pairs, vectors: np.ndarray, last: LastExchanges | None, threshold: float | np.ndarray
) -> Pairs:
    """Keep the pairs whose last exchanges are near-duplicates too; similarity = the lower one.

    ``threshold`` is one value or one per pair.
    """
    if last is None or len(pairs) == 0:
        return pairs
    position = last.lookup(len(vectors))
    pi, pj = position[pairs.i], position[pairs.j]
    rows = np.flatnonzero((pi >= 0) | (pj >= 0))
    if len(rows) == 0:
        return pairs

    def side(index: np.ndarray, pos: np.ndarray) -> np.ndarray:
        out = vectors[index].copy()
        has = pos >= 0
        out[has] = last.vectors[pos[has]]
        return out

    a = side(pairs.i[rows], pi[rows])
    b = side(pairs.j[rows], pj[rows])
    sims = pairs.sim.copy()
    sims[rows] = np.minimum(sims[rows], np.einsum("ij,ij->i", a, b))
    keep = sims >= np.broadcast_to(threshold, sims.shape)
    return Pairs(pairs.i[keep], pairs.j[keep], sims[keep].astype(np.float32))


def near_duplicate_pairs(
    vectors: np.ndarray,
    last: LastExchanges | None,
    langs: np.ndarray,
    options: DedupOptions,
    progress: Callable[[int], None] | None = None,
) -> tuple[Pairs, SearchStats, int]:
    """The pairs that count as near-duplicates under ``options``, the search stats, and
    how many pairs passed the similarity thresholds before the last-exchange check."""
    cross = options.cross_lingual_threshold
    lowest = min(options.threshold, cross if cross is not None else options.threshold)
    pairs, stats = near_pairs(
        vectors,
        lowest,
        method=options.index,
        cells=options.cells,
        nprobe=options.nprobe,
        seed=options.seed,
        progress=progress,
    )
    pairs = apply_thresholds(pairs, pair_thresholds(pairs, langs, options.threshold, cross))
    candidates = len(pairs)
    pairs = require_last_match(
        pairs, vectors, last, pair_thresholds(pairs, langs, options.threshold, cross)
    )
    return pairs, stats, candidates


def run_dedup(
    store: Store,
    options: DedupOptions,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DedupResult:
    for flag, value in (
        ("--threshold", options.threshold),
        ("--cross-lingual-threshold", options.cross_lingual_threshold),
    ):
        if value is not None and not 0.0 < value <= 1.0:
            raise CurateError(f"{flag} {value} must be in (0, 1]")
    store.require_base()
    started = time.perf_counter()
    name = find_embeddings(store, options.embeddings, options.embedder, options.text)
    base = store.read(columns=["id", "flags", "n_turns", "n_chars", "lang"])
    order, rule = keep_order(store, base, options.keep_by)
    embed_manifest = store.manifest(f"sidecar.{name}")
    params = {
        **{k: v for k, v in asdict(options).items() if k not in ("embedder", "text", "embeddings")},
        "embeddings": name,
        "embeddings_fingerprint": embed_manifest["fingerprint"],
        "keep_rule": rule,
    }
    with store.lock():
        writer = SidecarWriter(store, SIDECAR, params, overwrite=overwrite)
        if writer.complete:
            manifest = store.manifest(writer.manifest_name)
            if progress is not None:
                progress(base.num_rows)
            return _result_from_manifest(manifest)
        vectors, last = load_vectors(store, name, base.column("id"))
        langs = base.column("lang").to_numpy(zero_copy_only=False)
        pairs, stats, candidates = near_duplicate_pairs(vectors, last, langs, options, progress)
        crossing = int((pair_thresholds(pairs, langs, 0.0, 1.0) > 0.5).sum())
        groups = greedy_groups(base.num_rows, pairs, order)
        _write(writer, base, groups)
        largest = largest_groups(groups, base.column("id").to_pylist(), limit=10)
        wall = time.perf_counter() - started
        search = {
            **describe(stats),
            "pairs_before_last_exchange_check": candidates,
            "pairs": len(pairs),
            "cross_lingual_pairs": crossing,
        }
        counts = {
            "rows": base.num_rows,
            "pairs": len(pairs),
            "dropped": groups.dropped,
            "kept": base.num_rows - groups.dropped,
            "groups": int(np.sum(np.bincount(groups.representative, minlength=base.num_rows) > 1)),
            "largest_group": largest[0]["size"] if largest else 1,
        }
        writer.finish(
            counts,
            search=search,
            largest=largest,
            wall_seconds=round(wall, 3),
            rows_per_second=round(base.num_rows / wall, 1) if wall > 0 else None,
        )
    return DedupResult(
        base.num_rows, len(pairs), groups.dropped, counts["groups"], largest, search, rule, wall
    )


def _write(writer: SidecarWriter, base: pa.Table, groups: Groups) -> None:
    ids = base.column("id").to_numpy(zero_copy_only=False)
    sizes = groups.sizes()
    writer.write_all(
        pa.table(
            {
                "id": pa.array(ids, pa.string()),
                "dup_group": pa.array(ids[groups.representative], pa.string()),
                "dup_similarity": pa.array(groups.similarity, pa.float32()),
                "dup_keep": pa.array(groups.keep, pa.bool_()),
                "dup_group_size": pa.array(sizes, pa.int32()),
            }
        )
    )


def largest_groups(groups: Groups, ids: list[str], limit: int) -> list[dict[str, Any]]:
    sizes = np.bincount(groups.representative, minlength=len(ids))
    heads = np.flatnonzero(sizes > 1)
    heads = heads[np.lexsort((np.array(ids, dtype=object)[heads].astype(str), -sizes[heads]))][
        :limit
    ]
    return [{"kept": ids[h], "size": int(sizes[h])} for h in heads]


def _result_from_manifest(manifest: dict[str, Any]) -> DedupResult:
    counts = manifest["counts"]
    return DedupResult(
        counts["rows"],
        counts["pairs"],
        counts["dropped"],
        counts["groups"],
        manifest.get("largest", []),
        manifest.get("search", {}),
        manifest["params"]["keep_rule"],
        manifest.get("wall_seconds", 0.0),
        already_done=True,
    )


def group_members(store: Store, group_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Members of the given groups (kept member first, then by similarity), with their messages."""
    if SIDECAR not in store.sidecars():
        raise StoreError(
            f"{store.root} has no dedup result yet: run `curate dedup {store.root}` first"
        )
    table = store.read(columns=["id", "messages", "lang"], sidecars=[SIDECAR])
    wanted = set(group_ids)
    members: dict[str, list[dict[str, Any]]] = {g: [] for g in group_ids}
    for row in table.filter(
        pc.is_in(table.column("dup_group"), pa.array(list(wanted)))
    ).to_pylist():
        members[row["dup_group"]].append(row)
    for rows in members.values():
        rows.sort(key=lambda r: (not r["dup_keep"], -r["dup_similarity"], r["id"]))
    return members
