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

The store's lock is held from the first read of its results to the last write, so
no stage rewrites them meanwhile, and a lock beside the output folder
(``.<name>.lock``) keeps two selections from writing one folder at once. The
subset is written beside the output (``.<name>.partial``) and swapped in whole, so
a killed run never leaves half a subset. ``report.json`` lists the files this
selection wrote (``files``). Run again with the same options on the same store
results and there is nothing to do; ``--overwrite`` replaces a different selection:
only the files it wrote, never another file that lies in the folder (a selection
that would overwrite such a file is refused). ``-o`` must be a new or empty folder,
or one that holds a selection: never the store, a folder inside or above it, or
the current directory.

**Eligibility** before any ranking: rows that dedup marked as dropped never enter
(unless ``include_duplicates``), nor do rows that ``curate decontaminate`` marked as
holding a benchmark item (unless ``include_contaminated``); rows without a tag have no bucket; rows with fewer
than ``min_turns`` user turns are left out. Then, of the answers to one prompt (rows
that share a ``prompt_id``: DESIGN.md, "Prompt groups") only the best ``per_prompt``
(default 1) stay, compared by the combined score's weights over scores standardized
across the whole pool (so that the tag an answer fell into does not decide between
two answers to one prompt). Each exclusion is counted, and the report counts prompts
and answers per prompt in the pool, among the candidates and in the selection.

**Ties** in the combined score are broken by each score on its own, heaviest weight
first, and only then by the id (or, with ``seed``, a hash of it).

**A funnel judge** (``curate judge --mode funnel``) scores only the top of each cluster
by the other scores, on purpose. Within a tag, and among the answers to one prompt, the
rows it scored come first and the rows it passed over after them, each in combined-score
order (``report.json``: ``judged_first``): a row the funnel passed over never pushes out
one the judge chose, and is taken only when the judged rows run out. A stale score
sidecar (a judge built on scores that were rebuilt since) is refused, not dropped.

**Quality**: every complete score sidecar (``score.<key>``, column
:func:`curate.names.score_column`, e.g. ``skywork_reward_score``; the same name in
``subset.parquet`` and ``report.json``)
is z-scored within each tag and averaged with ``weights`` (default 1 each; the
heuristic scorer 0.25 when a model score is also present, as it is a weak signal).
A failed score is left out of a row's average (``missing="others"``) or excludes
the row (``"exclude"``); never replaced by an invented value.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import names, prompts, sink
from curate.errors import CurateError
from curate.runner import sidecar_state, stale_inputs
from curate.sink import (  # noqa: F401 (STORE_ENTRIES: the names select always had)
    REPORT,
    STORE_ENTRIES,
    check_output,
    output_lock,
    previous_report,
)
from curate.sink import swap_in as _swap_in  # tests interrupt a selection here
from curate.store import Store

HEURISTICS_WEIGHT = 0.25


@dataclass(frozen=True)
class SelectOptions:
    per_tag: int | None = 500
    per_prompt: int | None = 1  # answers per prompt group; None: no limit
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
    include_contaminated: bool = False
    output_format: str = "messages"  # messages | sharegpt
    hf: bool = False
    seed: int | None = None  # None: ties go to the smaller id; else to the smaller hash(seed, id)


@dataclass
class SelectResult:
    output: Path
    selected: int
    report: dict[str, Any]
    already_done: bool = False


SUBSET_FILES = ("subset.jsonl", "subset.parquet")
DATASET = "dataset"


def selection_inputs(store: Store, sidecars: list[str]) -> dict[str, str]:
    """What a selection is made from: the base table and each sidecar's fingerprint and finish time."""
    return sink.store_inputs(store, sidecars)


SELECTION_WORDS = sink.Words(
    "a curate selection", "another selection", "this selection", "curate select"
)


def written_files(options: SelectOptions) -> list[str]:
    """The names a selection writes into its folder."""
    return sorted([REPORT, *SUBSET_FILES, *([DATASET] if options.hf else [])])


def _files_of(previous: dict[str, Any] | None) -> set[str] | None:
    """The names an earlier selection wrote into its folder, or None: not a selection."""
    return sink.files_of(
        previous,
        ("options", "inputs", "selected"),
        # written before report.json listed its files
        legacy=lambda report: [
            REPORT,
            *SUBSET_FILES,
            *([DATASET] if (report.get("options") or {}).get("hf") else []),
        ],
    )


def resolve_weight_names(keys: list[str], given: dict[str, float]) -> dict[str, float]:
    """``judge=1`` means the store's one judge score (``judge.qwen``): a name that is not a key
    but the prefix of exactly one (before a ``.``) stands for it."""
    out: dict[str, float] = {}
    for name, weight in given.items():
        matches = [k for k in keys if k.startswith(f"{name}.")]
        out[matches[0] if name not in keys and len(matches) == 1 else name] = weight
    return out


def default_weights(keys: list[str], given: dict[str, float]) -> dict[str, float]:
    given = resolve_weight_names(keys, given)
    unknown = sorted(set(given) - set(keys))
    if unknown:
        raise CurateError(
            f"--weights names {unknown}, but the store's scores are {keys or 'none'}; "
            "run `curate score` first or fix the names"
        )
    weights = {}
    for name in keys:
        if name in given:
            weights[name] = float(given[name])
        elif name.startswith("heuristics") and len(keys) > 1:
            weights[name] = HEURISTICS_WEIGHT
        else:
            weights[name] = 1.0
    return weights


def funnel_judges(store: Store, weights: dict[str, float]) -> list[str]:
    """The weighted score keys written by ``curate judge --mode funnel``.

    A funnel judges only the top of each cluster by the other scores, on purpose; a row
    it passed over has no judge score and, ranked by the others alone, would outrank the
    rows the judge rated low. So its rows come first within a tag and a prompt, and the
    rest after them.
    """
    out = []
    for key, weight in sorted(weights.items()):
        manifest = store.manifest(names.manifest_name(names.score_sidecar(key))) or {}
        if weight > 0 and (manifest.get("params") or {}).get("judge") == "funnel":
            out.append(key)
    return out


def prompt_quality(
    quality: dict[str, np.ndarray], weights: dict[str, float], missing: str, rows: np.ndarray
) -> np.ndarray:
    """How the answers to one prompt are compared, (N,) float64, NaN outside ``rows``.

    The same weights as the combined score, over scores standardized across all of
    ``rows`` (the eligible ones) rather than within a tag: two answers to one prompt may
    carry different tags, and the tag an answer fell into must not decide between them.
    """
    from curate.select import algorithms

    n = len(rows)
    out = np.full(n, np.nan)
    members = np.flatnonzero(rows)
    if not quality:
        out[members] = 0.0
        return out
    out[members] = algorithms.membership_scores(
        quality, members, np.zeros(len(members), dtype=np.int64), 1, weights, missing
    )
    return out


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
    """Select from ``store`` into the folder ``output`` (see the module's docstring)."""
    check_options(options)
    if options.hf:
        sink.require_datasets()
    store.require_base()
    output = check_output(store, Path(output))
    with store.read_lock(), output_lock(output):
        return _select(store, options, output, overwrite)


def check_options(options: SelectOptions) -> None:
    """Refuse options that cannot make a selection (before anything is read)."""
    if options.missing not in ("others", "exclude"):
        raise CurateError("--missing-score must be `others` or `exclude`")
    if options.output_format not in ("messages", "sharegpt"):
        raise CurateError("--output-format must be `messages` or `sharegpt`")
    shares = options.lang_shares
    if shares:
        bad = {k: v for k, v in shares.items() if not (0.0 <= v <= 1.0)}  # NaN included
        if bad:
            raise CurateError(
                f"--lang-share shares must be between 0 and 1, got {bad}; give each language "
                "its share of --total, e.g. --lang-share zh-Hant=0.4,ru=0.3"
            )
        if math.fsum(shares.values()) > 1 + 1e-9:
            raise CurateError(
                f"--lang-share shares sum to {math.fsum(shares.values()):g}, over 1; lower them "
                "so that they sum to at most 1 (the rest of --total is open to every language)"
            )
        if options.total is None:
            raise CurateError(
                "--lang-share caps languages at shares of --total; give --total N as well"
            )
    for name, weight in options.weights.items():
        if not math.isfinite(weight):
            raise CurateError(f"--weights {name}={weight} is not a finite number; give a number")


def _select(store: Store, options: SelectOptions, output: Path, overwrite: bool) -> SelectResult:
    from curate.score.stage import score_arrays, score_columns
    from curate.select import algorithms
    from curate.tag.stage import find_tags

    started = time.perf_counter()
    tag_sidecar = find_tags(store, options.tagger)
    stale_scores = [
        name
        for name in store.sidecars()
        if name.startswith(names.SCORE) and sidecar_state(store, name) == "stale"
    ]
    if stale_scores:  # a judge built on scores rebuilt since: never weighed silently, nor dropped
        name = stale_scores[0]
        raise CurateError(
            f"{name} in {store.root} is stale: {', '.join(stale_inputs(store, name))} changed "
            f"after it was built; run the stage that wrote it again (for a judge: `curate judge "
            f"{store.root} ...` with --overwrite), or remove it"
        )
    scores = {names.score_key(name): column for name, column in score_columns(store).items()}
    weights = default_weights(sorted(scores), options.weights)
    negative = {k: w for k, w in weights.items() if w < 0}
    if negative:
        raise CurateError(
            f"--weights must be 0 or more, got {negative}; a score you do not trust gets 0"
        )
    if weights and max(weights.values()) <= 0:
        raise CurateError(
            f"--weights gives no score a positive weight ({weights}); give at least one score "
            f"a weight above 0, e.g. --weights {next(iter(weights))}=1"
        )
    sidecars = [tag_sidecar, *(names.score_sidecar(k) for k in sorted(scores))]
    dedup_state = sidecar_state(store, names.DEDUP)
    if dedup_state == "stale":
        raise CurateError(
            f"the dedup result of {store.root} is stale: {', '.join(stale_inputs(store, names.DEDUP))} "
            f"changed after it ran; run `curate dedup {store.root}` again first"
        )
    has_dedup = dedup_state == "complete"
    if has_dedup:
        sidecars.append(names.DEDUP)
    contamination_state = sidecar_state(store, names.DECONTAMINATE)
    if contamination_state == "stale":
        raise CurateError(
            f"the decontaminate result of {store.root} is stale: "
            f"{', '.join(stale_inputs(store, names.DECONTAMINATE))} changed after it ran; run "
            f"`curate decontaminate {store.root} --against ...` again first"
        )
    has_contamination = contamination_state == "complete"
    if has_contamination:
        sidecars.append(names.DECONTAMINATE)
    source = None
    if options.tau is not None:
        from curate.embed.stage import find_embeddings

        source = find_embeddings(store, options.embeddings, None, "conversation")
    inputs = selection_inputs(store, [*sidecars, *([source] if source else [])])
    claimed = sink.claim(
        output,
        options=asdict(options),
        inputs=inputs,
        written=written_files(options),
        overwrite=overwrite,
        ours_of=_files_of,
        words=SELECTION_WORDS,
    )
    ours = claimed.ours
    if claimed.done is not None:
        done = claimed.done
        return SelectResult(output, int(done["selected"]), done, already_done=True)
    table = store.read(columns=["id", "prompt_id", "lang", "n_turns"], sidecars=sidecars)
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
    if has_contamination and not options.include_contaminated:
        marked = table.column("contaminated").to_numpy(zero_copy_only=False).astype(bool)
        excluded["contaminated"] = int((marked & eligible).sum())
        eligible &= ~marked
    if options.min_turns:
        few = table.column("n_turns").to_numpy(zero_copy_only=False) < options.min_turns
        excluded["min_turns"] = int((few & eligible).sum())
        eligible &= ~few
    tags = table.column("tags")
    no_tag = pc.fill_null(pc.list_value_length(tags), 0).to_numpy(zero_copy_only=False) == 0
    excluded["no_tag"] = int((no_tag & eligible).sum())
    eligible &= ~no_tag
    quality = score_arrays(table, scores)
    # -- one prompt, at most --per-prompt answers: its best by the same weights -------------
    ties = algorithms.tie_order(quality, weights, tie_keys(ids, options.seed))
    prompt_codes = prompts.prompt_codes(table.column("prompt_id"))
    candidates = eligible.copy()  # before the prompt limit, for the report
    judged_first = funnel_judges(store, weights)
    tier = np.zeros(n, dtype=np.int64)  # 1: a row a funnel judge passed over (ranks after)
    for key in judged_first:
        tier[np.isnan(quality[key])] = 1
    if options.per_prompt is not None:
        best = algorithms.best_per_group(
            prompt_codes,
            prompt_quality(quality, weights, options.missing, eligible),
            ties,
            eligible,
            options.per_prompt,
            tier=tier,
        )
        excluded["per_prompt"] = int((eligible & ~best).sum())
        eligible &= best

    # -- memberships: one per (row, tag) ----------------------------------------------------
    flat = pc.list_flatten(tags)
    parent = pc.list_parent_indices(tags).to_numpy(zero_copy_only=False).astype(np.int64)
    encoded = pc.dictionary_encode(flat).combine_chunks()
    tag_names = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    bucket = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    keep = eligible[parent]
    member_row, member_bucket = parent[keep], bucket[keep]
    used = np.unique(member_bucket)
    remap = np.full(len(tag_names), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    member_bucket = remap[member_bucket]
    bucket_names = tag_names[used].astype(str)
    n_tags = np.bincount(member_row, minlength=n)

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
        ties,
        n_tags=n_tags,
        vectors=vectors,
        lang=lang,
        per_bucket=options.per_tag,
        total=options.total,
        min_score=options.min_score,
        complexity_first=options.complexity_first,
        tau=options.tau,
        lang_shares=options.lang_shares or None,
        tier=tier[member_row],
    )
    report = build_report(
        store,
        options,
        weights,
        tag_sidecar,
        has_dedup,
        has_contamination,
        excluded,
        n,
        lang,
        selection,
        combined,
        member_bucket,
        bucket_names,
        quality,
    )
    report["prompts"] = prompt_summary(prompt_codes, candidates, selection.row)
    report["judged_first"] = {
        key: {
            "rows_scored": int((~np.isnan(quality[key])).sum()),
            "selected_unscored": int(tier[selection.row].sum()),
        }
        for key in judged_first
    }
    report["inputs"] = inputs
    report["files"] = written_files(options)
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_outputs(store, options, staging, table, selection, bucket_names, quality)
        report["wall_seconds"] = round(time.perf_counter() - started, 3)
        (staging / REPORT).write_text(json.dumps(report, ensure_ascii=False, indent=2))
        _swap_in(staging, output, ours)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # only left when something failed
    return SelectResult(output, len(selection), report)


def prompt_summary(codes: np.ndarray, candidates: np.ndarray, selected: np.ndarray) -> dict:
    """Prompts and answers per prompt in the pool, among the candidates, and selected."""
    return {
        "pool": prompts.group_counts(codes),
        "candidates": prompts.group_counts(codes, candidates),
        "selected": prompts.group_counts(codes, np.asarray(selected, dtype=np.int64)),
    }


def build_report(
    store,
    options,
    weights,
    tag_sidecar,
    has_dedup,
    has_contamination,
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
        names.score_column(key): {
            "pool": _quantiles(values),
            "selected": _quantiles(values[chosen]),
        }
        for key, values in quality.items()
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
        "decontamination": (
            "applied" if not options.include_contaminated else "ignored (--include-contaminated)"
        )
        if has_contamination
        else "not run: benchmark items may remain",
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
    for key, values in quality.items():
        columns[names.score_column(key)] = pa.array(
            values[rows], pa.float64(), mask=np.isnan(values[rows])
        )
    subset = pa.table(columns)
    pq.write_table(subset, output / "subset.parquet", compression="zstd")
    with open(output / "subset.jsonl", "wb") as fh:
        for row_id, conversation in zip(ids.to_pylist(), messages):
            record = to_record({"id": row_id, "messages": conversation}, options.output_format)
            fh.write(orjson.dumps(record) + b"\n")
    if options.hf:
        import datasets

        datasets.Dataset(subset).save_to_disk(str(output / "dataset"))
