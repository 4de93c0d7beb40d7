"""``curate dedup``: group near-duplicate conversations and mark the one to keep.

1. Load the conversation vectors from an embedding sidecar (``curate embed``).
2. Find every pair with cosine similarity >= ``threshold`` (:mod:`curate.dedup.search`),
   or >= ``cross_lingual_threshold`` when the two are in different languages or
   scripts (translations score lower than copies; per language pair:
   :mod:`curate.dedup.languages`). In ``conversation`` mode a pair
   of multi-turn conversations must also match on their last exchange; the pair's
   similarity is the lower of the two.
3. Order conversations from best to worst (:mod:`curate.dedup.ranking`) and group
   them greedily (:mod:`curate.dedup.grouping`).
4. Write the sidecar ``dedup`` (aligned with the base table): ``dup_group`` (id of
   the group's kept member), ``dup_similarity`` (to that member; 1.0 for kept rows),
   ``dup_keep``, ``dup_group_size``. Nothing is deleted: ``select`` drops rows later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import lang, names, prompts
from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD, DEFAULT_THRESHOLD
from curate.dedup.grouping import Groups, greedy_groups
from curate.dedup.languages import CrossLingual
from curate.dedup.ranking import find_auto_score, keep_order, keep_rule
from curate.dedup.search import Pairs, SearchStats, describe, near_pairs
from curate.embed.stage import find_embeddings, vectors_of
from curate.embed.text import DEFAULT_MODE, MODES
from curate.errors import CurateError, StoreError
from curate.options import option
from curate.runner import Stage, run_stage
from curate.store import Store

UNKNOWN_LANGS = np.array(lang.UNKNOWN_LANGS, dtype=object)


@dataclass(frozen=True)
class DedupOptions:
    threshold: float = option(
        DEFAULT_THRESHOLD,
        "Cosine similarity at or above which two conversations are near-duplicates.",
        flag=("--threshold", "-t"),
        type=float,
    )
    cross_lingual_threshold: str | float | None = option(
        DEFAULT_CROSS_LINGUAL_THRESHOLD,
        "Threshold for pairs in different languages or scripts (a translation scores lower than "
        "a copy): one number, or per language pair with a fallback, e.g. "
        "en/ru=0.825,zh-Hans/zh-Hant=0.8,*=0.875. The default keeps precision >= 0.99 on every "
        "translation set of BENCHMARKS.md; equal to --threshold treats all pairs alike.",
        type=str,
    )
    embedder: str | None = option(
        None, "Use the embeddings of this embedder [default: use-multilingual]."
    )
    text: str = option(
        DEFAULT_MODE,
        "Use the embeddings of this text mode.",
        type=click.Choice(MODES),
    )
    embeddings: str | None = option(
        None, "An embedding sidecar by name (overrides --embedder/--text)."
    )
    index: str = option(
        "auto",
        "exact: all pairs; partition: k-means cells, each vector against its --nprobe nearest "
        "cells (recall vs exact measured every run); faiss-flat/faiss-ivf: FAISS k-NN with a "
        "saturation check; auto: exact up to 20,000 vectors, else partition.",
        type=click.Choice(["auto", "exact", "partition", "faiss-flat", "faiss-ivf"]),
    )
    cells: int | None = option(
        None, "k-means cells [default: ~N/256, a power of two].", type=click.IntRange(min=1)
    )
    nprobe: int | None = option(
        None,
        "Cells each vector is compared with [default: 6; faiss-ivf: 16].",
        type=click.IntRange(min=1),
    )
    keep_by: str = option(
        "auto",
        "Which member to keep: auto (the score stage's score, else rule), rule, COLUMN or "
        "SIDECAR:COLUMN; '-' prefix: lower is better.",
    )
    seed: int = option(0, "Seed of the k-means partition.", type=int)


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
    prompts: dict[str, Any] = field(default_factory=dict)  # prompt groups, before and after


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


def load_vectors(store: Store, name: str) -> tuple[np.ndarray, LastExchanges | None]:
    """The embeddings of every base row, in base order, and the last-exchange vectors.

    Read shard by shard into one array (the last-exchange vectors of the multi-turn rows
    only), so the peak is the vectors plus one shard, not the sidecar's Arrow columns and
    their copies as well (4.4 GB at 300k x 512 before)."""
    vectors: np.ndarray | None = None
    last_rows, last_vectors = [], []
    offset = 0
    for index in range(store.num_shards):
        shard = store.read_shard(index, columns=["id"], sidecars=[name])  # aligned by id
        block = vectors_of(shard.column("embedding"))
        if vectors is None:
            vectors = np.empty((store.num_rows(), block.shape[1]), dtype=np.float32)
        vectors[offset : offset + len(block)] = block
        if "embedding_last" in shard.column_names:
            column = shard.column("embedding_last").combine_chunks()
            rows = np.flatnonzero(~column.is_null().to_numpy(zero_copy_only=False))
            if len(rows):
                last_rows.append(offset + rows)
                last_vectors.append(vectors_of(column)[rows])
        offset += len(block)
        del shard, block
    pa.default_memory_pool().release_unused()
    if vectors is None:
        return np.empty((0, 0), dtype=np.float32), None
    if np.isnan(vectors[:, 0]).any():  # a base row without a vector: the join found no id
        raise StoreError(
            f"embeddings {name!r} do not match the base table; rerun `curate embed` with --overwrite"
        )
    last = None
    if last_rows:
        last = LastExchanges(np.concatenate(last_rows), np.concatenate(last_vectors))
    return vectors, last


def pair_thresholds(
    pairs: Pairs,
    langs: np.ndarray,
    threshold: float,
    cross_lingual: str | float | CrossLingual | None,
) -> np.ndarray:
    """The threshold each pair must meet: ``threshold``, or the cross-lingual one of its two
    languages (:class:`curate.dedup.languages.CrossLingual`) when they differ.

    Languages are the base table's ``lang`` (zh-Hant and zh-Hans count as different:
    a cross-script pair is a translation too). ``und`` (no letters) and ``other``
    (an unidentified language) never count as different: a detection gap must not
    lower the bar.
    """
    need = np.full(len(pairs), threshold, dtype=np.float32)
    if cross_lingual is None or len(pairs) == 0:
        return need
    codes, index = np.unique(np.asarray(langs, dtype=str), return_inverse=True)
    table = CrossLingual.parse(cross_lingual).matrix(codes, threshold)
    return table[index[pairs.i], index[pairs.j]]


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
    cross = None if cross is None else CrossLingual.parse(cross)
    lowest = min([options.threshold, *(cross.values() if cross is not None else [])])
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


def keep_sidecars(spec: str) -> list[str]:
    """The sidecar a resolved ``--keep-by`` spec reads (``SIDECAR:COLUMN``), if any."""
    return [spec.lstrip("-").split(":", 1)[0]] if ":" in spec else []


def check_options(options: DedupOptions) -> CrossLingual | None:
    """Refuse bad thresholds with one red line (before any work); the parsed cross-lingual ones."""
    if not 0.0 < options.threshold <= 1.0:
        raise CurateError(f"--threshold {options.threshold} must be in (0, 1]")
    cross = options.cross_lingual_threshold
    return None if cross is None else CrossLingual.parse(cross)


def run_dedup(
    store: Store,
    options: DedupOptions,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> DedupResult:
    cross = check_options(options)
    store.require_base()
    name = find_embeddings(store, options.embeddings, options.embedder, options.text)
    spec = options.keep_by
    if spec == "auto":
        spec = find_auto_score(store) or "rule"
    summary: dict[str, Any] = {}

    def compute_all(store: Store, _progress: Any) -> pa.Table:
        base = store.read(columns=["id", "prompt_id", "flags", "n_turns", "n_chars", "lang"])
        order, _ = keep_order(store, base, spec)
        vectors, last = load_vectors(store, name)
        langs = base.column("lang").to_numpy(zero_copy_only=False)
        pairs, stats, candidates = near_duplicate_pairs(vectors, last, langs, options, progress)
        crossing = int((pair_thresholds(pairs, langs, 0.0, 1.0) > 0.5).sum())
        groups = greedy_groups(base.num_rows, pairs, order)
        largest = largest_groups(groups, base.column("id"), limit=10)
        summary["search"] = {
            **describe(stats),
            "pairs_before_last_exchange_check": candidates,
            "pairs": len(pairs),
            "cross_lingual_pairs": crossing,
        }
        summary["largest"] = largest
        codes = prompts.prompt_codes(base.column("prompt_id"))
        summary["prompts"] = {
            "pool": prompts.group_counts(codes),
            "kept": prompts.group_counts(codes, groups.keep),
            "groups_across_prompts": prompts.groups_across_prompts(codes, groups.representative),
        }
        summary["counts"] = {
            "rows": base.num_rows,
            "pairs": len(pairs),
            "dropped": groups.dropped,
            "kept": base.num_rows - groups.dropped,
            "groups": int(np.sum(np.bincount(groups.representative, minlength=base.num_rows) > 1)),
            "largest_group": largest[0]["size"] if largest else 1,
        }
        return groups_table(base, groups)

    stage = Stage(
        name=names.DEDUP,
        params={
            **{
                k: v
                for k, v in asdict(options).items()
                if k not in ("embedder", "text", "embeddings")
            },
            "cross_lingual_threshold": None if cross is None else cross.spec(),
            "embeddings": name,
            "keep_rule": keep_rule(spec),
        },
        sidecars=[name, *keep_sidecars(spec)],
        compute_all=compute_all,
        counts=lambda store: summary["counts"],
        extra=lambda: {k: summary[k] for k in ("search", "largest", "prompts")},
    )
    on_rows = None if progress is None else (lambda n, _extra=0: progress(n))
    result = run_stage(store, stage, overwrite=overwrite, progress=on_rows)
    return _result_from_manifest(result.manifest, result.already_done)


def groups_table(base: pa.Table, groups: Groups) -> pa.Table:
    """The ``dedup`` sidecar: every row's group, similarity to its kept member, keep flag."""
    ids = base.column("id").to_numpy(zero_copy_only=False)
    return pa.table(
        {
            "id": pa.array(ids, pa.string()),
            "dup_group": pa.array(ids[groups.representative], pa.string()),
            "dup_similarity": pa.array(groups.similarity, pa.float32()),
            "dup_keep": pa.array(groups.keep, pa.bool_()),
            "dup_group_size": pa.array(groups.sizes(), pa.int32()),
        }
    )


def largest_groups(
    groups: Groups, ids: pa.ChunkedArray | pa.Array, limit: int
) -> list[dict[str, Any]]:
    """The ``limit`` largest groups (ties by kept id): only their heads' ids become strings."""
    sizes = np.bincount(groups.representative, minlength=len(ids))
    heads = np.flatnonzero(sizes > 1)
    head_ids = np.asarray(ids.take(pa.array(heads)).to_pylist(), dtype=object).astype(str)
    order = np.lexsort((head_ids, -sizes[heads]))[:limit]
    return [{"kept": str(head_ids[o]), "size": int(sizes[heads[o]])} for o in order]


def _result_from_manifest(manifest: dict[str, Any], already_done: bool) -> DedupResult:
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
        already_done=already_done,
        prompts=manifest.get("prompts", {}),
    )


def group_members(store: Store, group_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Members of the given groups (kept member first, then by similarity), with their messages."""
    if names.DEDUP not in store.sidecars():
        raise StoreError(
            f"{store.root} has no dedup result yet: run `curate dedup {store.root}` first"
        )
    table = store.read(columns=["id", "messages", "lang"], sidecars=[names.DEDUP])
    wanted = set(group_ids)
    members: dict[str, list[dict[str, Any]]] = {g: [] for g in group_ids}
    for row in table.filter(
        pc.is_in(table.column("dup_group"), pa.array(list(wanted)))
    ).to_pylist():
        members[row["dup_group"]].append(row)
    for rows in members.values():
        rows.sort(key=lambda r: (not r["dup_keep"], -r["dup_similarity"], r["id"]))
    return members
