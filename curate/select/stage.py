"""``curate select``: the stage-1 subset, with the reasons for every choice.

Reads the store (tags, scores, dedup marks, embeddings), decides with
:mod:`curate.select.algorithms`, and writes to the output folder:

``subset.jsonl``      the selected conversations, ``{"id", "messages"}`` (or ShareGPT
                      ``{"id", "conversations"}``), in the order they were chosen
``subset.parquet``    the same rows with why: ``bucket`` (the tag that took it),
                      ``rank`` in that bucket, ``combined_score``, ``reason``, every
                      score, ``tags``, ``lang``
``dataset/``          (``--hf``) a Hugging Face ``datasets`` folder (``load_from_disk``)
``report.json``       per tag: pool, candidates, selected, exclusions, score of pool vs
                      selection; tag coverage; language mix; every exclusion counted;
                      the options and the store results the selection was made from

The folder is written beside the output and swapped in whole, so a killed run
never leaves half a subset. Run again with the same options on the same store
results and there is nothing to do; ``--overwrite`` replaces a different
selection (only a folder that holds one: a ``report.json`` written here).

**Eligibility** before any ranking: rows that dedup marked as dropped never enter
(unless ``include_duplicates``); rows without a tag have no bucket; rows with fewer
than ``min_turns`` user turns are left out. Each exclusion is counted.

**Quality**: every complete score sidecar (``score.<name>``, column ``<name>_score``)
is z-scored within each tag and averaged with ``weights`` (default 1 each; the
heuristic scorer 0.25 when a model score is also present, as it is a weak signal).
A failed score is left out of a row's average (``missing="others"``) or excludes
the row (``"exclude"``); never replaced by an invented value.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.errors import CurateError
from curate.store import Store

HEURISTICS_WEIGHT = 0.25


@dataclass(frozen=True)
class SelectOptions:
    per_tag: int | None = 500
    total: int | None = None
    tagger: str | None = None
    weights: dict[str, float] = field(default_factory=dict)
    missing: str = "others"  # others | exclude
    min_score: float | None = None
    min_turns: int | None = None
    complexity_first: bool = False
    tau: float | None = None  # representation filter (cosine); needs embeddings
    embeddings: str | None = None
    lang_shares: dict[str, float] = field(default_factory=dict)
    include_duplicates: bool = False
    format: str = "messages"  # messages | sharegpt
    hf: bool = False
    seed: int | None = None  # None: ties go to the smaller id; else to the smaller hash(seed, id)


@dataclass
class SelectResult:
    output: Path
    selected: int
    report: dict[str, Any]
    already_done: bool = False


REPORT = "report.json"


def selection_inputs(store: Store, sidecars: list[str]) -> dict[str, str]:
    """What a selection is made from: the base table and each sidecar's fingerprint and finish time."""
    inputs = {"base": store.manifest("ingest")["fingerprint"]}
    for name in sidecars:
        manifest = store.manifest(f"sidecar.{name}") or {}
        inputs[name] = f"{manifest.get('fingerprint')}@{manifest.get('finished')}"
    return inputs


def _previous_report(output: Path) -> dict[str, Any] | None:
    try:
        return json.loads((output / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _same_selection(
    previous: dict[str, Any] | None, options: SelectOptions, inputs, output
) -> bool:
    if previous is None:
        return False
    wanted = json.loads(json.dumps(asdict(options)))
    expected = ["subset.jsonl", "subset.parquet", *(["dataset"] if options.hf else [])]
    return (
        previous.get("options") == wanted
        and previous.get("inputs") == inputs
        and all((output / name).exists() for name in expected)
    )


def _swap_in(staging: Path, output: Path) -> None:
    """Replace ``output`` by the finished ``staging`` folder (two renames; the old one removed)."""
    old = output.with_name(f".{output.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if output.exists():
        output.rename(old)
    staging.rename(output)
    shutil.rmtree(old, ignore_errors=True)


def default_weights(names: list[str], given: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise CurateError(
            f"--weights names {unknown}, but the store's scores are {names or 'none'}; "
            "run `curate score` first or fix the names"
        )
    weights = {}
    for name in names:
        if name in given:
            weights[name] = float(given[name])
        elif name == "heuristics" and len(names) > 1:
            weights[name] = HEURISTICS_WEIGHT
        else:
            weights[name] = 1.0
    return weights


def tie_keys(ids: np.ndarray, seed: int | None) -> np.ndarray:
    """What breaks ties between equal scores: the id, or with a seed the hash of (seed, id).

    Selection has no random step; a seed only picks another fixed order among equals
    (for a pool without scores, a different deterministic sample per seed).
    """
    if seed is None:
        return ids
    import hashlib

    prefix = f"{seed}:".encode()
    return np.array(
        [hashlib.blake2b(prefix + i.encode(), digest_size=8).hexdigest() for i in ids.tolist()]
    )


def _quantiles(values: np.ndarray) -> dict[str, float | None]:
    values = values[~np.isnan(values)]
    if not len(values):
        return {"n": 0, "mean": None, "p10": None, "p50": None, "p90": None}
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {
        "n": int(len(values)),
        "mean": round(float(values.mean()), 4),
        "p10": round(float(p10), 4),
        "p50": round(float(p50), 4),
        "p90": round(float(p90), 4),
    }


def run_select(
    store: Store, options: SelectOptions, output: str | Path, overwrite: bool = False
) -> SelectResult:
    from curate.select import algorithms
    from curate.tag.stage import find_tags

    if options.missing not in ("others", "exclude"):
        raise CurateError("--missing-score must be `others` or `exclude`")
    if options.format not in ("messages", "sharegpt"):
        raise CurateError("--format must be `messages` or `sharegpt`")
    if options.hf:
        try:
            import datasets  # noqa: F401
        except ImportError:
            raise CurateError(
                "--hf needs the `datasets` package: pip install datasets (or the `train` extra)"
            ) from None
    output = Path(output)
    store.require_base()
    started = time.perf_counter()
    tag_sidecar = find_tags(store, options.tagger)
    from curate.score.stage import PREFIX, score_columns

    scores = {name.removeprefix(PREFIX): column for name, column in score_columns(store).items()}
    weights = default_weights(sorted(scores), options.weights)
    sidecars = [tag_sidecar, *(f"score.{k}" for k in sorted(scores))]
    has_dedup = (store.manifest("sidecar.dedup") or {}).get("status") == "complete"
    if has_dedup:
        sidecars.append("dedup")
    source = None
    if options.tau is not None:
        from curate.embed.stage import find_embeddings

        source = find_embeddings(store, options.embeddings, None, "conversation")
    inputs = selection_inputs(store, [*sidecars, *([source] if source else [])])
    previous = _previous_report(output)
    if _same_selection(previous, options, inputs, output):
        return SelectResult(output, int(previous["selected"]), previous, already_done=True)
    if output.exists() and any(output.iterdir()):
        if not overwrite:
            raise CurateError(
                f"{output} holds another selection or other files; pass --overwrite to replace "
                "a selection, or choose another -o"
            )
        if previous is None:
            raise CurateError(
                f"{output} is not a curate selection (no {REPORT}); refusing to replace it: "
                "choose another -o"
            )
    table = store.read(columns=["id", "lang", "n_turns"], sidecars=sidecars)
    n = table.num_rows
    ids = table.column("id").to_numpy(zero_copy_only=False).astype(str)
    lang = table.column("lang").to_numpy(zero_copy_only=False).astype(str)

    # -- eligibility ------------------------------------------------------------------------
    excluded: dict[str, int] = {}
    eligible = np.ones(n, dtype=bool)
    if has_dedup and not options.include_duplicates:
        dropped = ~table.column("dup_keep").to_numpy(zero_copy_only=False).astype(bool)
        excluded["dedup"] = int((dropped & eligible).sum())
        eligible &= ~dropped
    if options.min_turns:
        few = table.column("n_turns").to_numpy(zero_copy_only=False) < options.min_turns
        excluded["min_turns"] = int((few & eligible).sum())
        eligible &= ~few
    tags = table.column("tags")
    no_tag = pc.fill_null(pc.list_value_length(tags), 0).to_numpy(zero_copy_only=False) == 0
    excluded["no_tag"] = int((no_tag & eligible).sum())
    eligible &= ~no_tag

    # -- memberships: one per (row, tag) ----------------------------------------------------
    flat = pc.list_flatten(tags)
    parent = pc.list_parent_indices(tags).to_numpy(zero_copy_only=False).astype(np.int64)
    encoded = pc.dictionary_encode(flat).combine_chunks()
    names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    bucket = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    keep = eligible[parent]
    member_row, member_bucket = parent[keep], bucket[keep]
    used = np.unique(member_bucket)
    remap = np.full(len(names), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    member_bucket = remap[member_bucket]
    bucket_names = names[used].astype(str)
    n_tags = np.bincount(member_row, minlength=n)

    quality = {
        key: np.asarray(
            pc.fill_null(pc.cast(table.column(col), pa.float64()), np.nan).to_numpy(
                zero_copy_only=False
            ),
            dtype=np.float64,
        )
        for key, col in scores.items()
    }
    if quality:
        combined = algorithms.membership_scores(
            quality, member_row, member_bucket, len(bucket_names), weights, options.missing
        )
    else:  # no score stage: every candidate ranks equal, ties by id
        combined = np.zeros(len(member_row), dtype=np.float64)

    vectors = None
    if source is not None:
        from curate.embed.stage import read_vectors

        vectors = read_vectors(store, source)
    selection = algorithms.select(
        member_row,
        member_bucket,
        bucket_names,
        combined,
        tie_keys(ids, options.seed),
        n_tags=n_tags,
        vectors=vectors,
        lang=lang,
        per_bucket=options.per_tag,
        total=options.total,
        min_score=options.min_score,
        complexity_first=options.complexity_first,
        tau=options.tau,
        lang_shares=options.lang_shares or None,
    )
    report = build_report(
        store,
        options,
        weights,
        tag_sidecar,
        has_dedup,
        excluded,
        n,
        lang,
        selection,
        combined,
        member_bucket,
        bucket_names,
        quality,
    )
    report["inputs"] = inputs
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_outputs(store, options, staging, table, selection, bucket_names, quality)
        report["wall_seconds"] = round(time.perf_counter() - started, 3)
        (staging / REPORT).write_text(json.dumps(report, ensure_ascii=False, indent=2))
        _swap_in(staging, output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # only left when something failed
    return SelectResult(output, len(selection), report)


def build_report(
    store,
    options,
    weights,
    tag_sidecar,
    has_dedup,
    excluded,
    n,
    lang,
    selection,
    combined,
    member_bucket,
    bucket_names,
    quality,
) -> dict[str, Any]:
    b = selection.buckets
    chosen = np.zeros(n, dtype=bool)
    chosen[selection.row] = True
    per_tag = []
    # group memberships and selected rows by bucket once (no per-tag scan of all memberships)
    by_bucket = np.argsort(member_bucket, kind="stable")
    starts = np.searchsorted(member_bucket[by_bucket], np.arange(len(bucket_names) + 1))
    sel_order = np.argsort(selection.bucket, kind="stable")
    sel_starts = np.searchsorted(selection.bucket[sel_order], np.arange(len(bucket_names) + 1))
    for i in np.argsort(-b.selected, kind="stable"):
        pool_scores = combined[by_bucket[starts[i] : starts[i + 1]]]
        chosen_scores = selection.score[sel_order[sel_starts[i] : sel_starts[i + 1]]]
        per_tag.append(
            {
                "tag": str(bucket_names[i]),
                "pool": int(b.pool[i]),
                "candidates": int(b.candidates[i]),
                "selected": int(b.selected[i]),
                "taken_here": int(b.taken[i]),
                "missing_score": int(b.missing[i]),
                "below_min_score": int(b.below_min[i]),
                "similar_to_selected": int(b.rejected[i]),
                "language_share_full": int(b.lang_skipped[i]),
                "quota_filled": bool(b.filled[i]),
                "combined_score_pool": _quantiles(pool_scores),
                "combined_score_selected": _quantiles(chosen_scores),
            }
        )
    pool_lang, pool_counts = np.unique(lang, return_counts=True)
    sel_lang, sel_counts = np.unique(lang[chosen], return_counts=True)
    scores_summary = {
        name: {"pool": _quantiles(values), "selected": _quantiles(values[chosen])}
        for name, values in quality.items()
    }
    candidates_total = int(selection.rows - selection.rows_without_score)
    return {
        "store": str(store.root),
        "options": asdict(options),
        "tags_from": tag_sidecar,
        "weights": weights,
        "dedup": "applied"
        if has_dedup and not options.include_duplicates
        else (
            "ignored (--include-duplicates)" if has_dedup else "not run: near-duplicates may remain"
        ),
        "rows": n,
        "selected": int(len(selection)),
        "stop": selection.stop,
        "excluded": {
            **excluded,
            "no_score": int(selection.rows_without_score),
            "similar_to_selected": int(selection.rejected),
            "language_share_full": int(selection.lang_skipped),
            "not_reached_quotas_or_total": int(
                max(
                    candidates_total - len(selection) - selection.rejected - selection.lang_skipped,
                    0,
                )
            ),
        },
        "tags": {
            "total": int(len(bucket_names)),
            "with_selection": int((b.selected > 0).sum()),
            "quota_filled": int(b.filled.sum()),
        },
        "languages": {
            "pool": {str(k): int(v) for k, v in zip(pool_lang, pool_counts)},
            "selected": {str(k): int(v) for k, v in zip(sel_lang, sel_counts)},
        },
        "scores": scores_summary,
        "reasons": {r: int((selection.reasons() == r).sum()) for r in ("quality", "complexity")},
        "per_tag": per_tag,
    }


def write_outputs(store, options, output, table, selection, bucket_names, quality) -> None:
    import orjson
    import pyarrow.parquet as pq

    from curate.export import to_record

    output.mkdir(parents=True)
    rows = selection.row
    # messages are read shard by shard for the selected rows only
    order = np.argsort(rows, kind="stable")
    messages: list[Any] = [None] * len(rows)
    offset, k = 0, 0
    for index in range(store.num_shards):
        shard = store.read_shard(index, columns=["messages"])
        end = offset + shard.num_rows
        start_k = k
        while k < len(order) and rows[order[k]] < end:
            k += 1
        if k > start_k:
            local = rows[order[start_k:k]] - offset
            picked = shard.column("messages").take(pa.array(local)).to_pylist()
            for j, value in zip(order[start_k:k], picked):
                messages[j] = value
        offset = end
    ids = table.column("id").take(pa.array(rows))
    columns = {
        "id": ids,
        "messages": pa.array(messages),
        "lang": table.column("lang").take(pa.array(rows)),
        "tags": table.column("tags").take(pa.array(rows)),
        "bucket": pa.array(bucket_names[selection.bucket].tolist(), pa.string()),
        "rank": pa.array(selection.rank, pa.int32()),
        "combined_score": pa.array(selection.score, pa.float64()),
        "reason": pa.array(selection.reasons().tolist(), pa.string()),
    }
    for name, values in quality.items():
        columns[f"{name}_score"] = pa.array(values[rows], pa.float64(), mask=np.isnan(values[rows]))
    subset = pa.table(columns)
    pq.write_table(subset, output / "subset.parquet", compression="zstd")
    with open(output / "subset.jsonl", "wb") as fh:
        for row_id, conversation in zip(ids.to_pylist(), messages):
            record = to_record({"id": row_id, "messages": conversation}, options.format)
            fh.write(orjson.dumps(record) + b"\n")
    if options.hf:
        import datasets

        datasets.Dataset(subset).save_to_disk(str(output / "dataset"))
