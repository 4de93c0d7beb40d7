"""``curate pairs``: preference pairs from a store, written to a folder of their own.

Reads the store (prompt groups, scores, dedup marks, tags, the rejected answers of ingested
preference records), decides with :mod:`curate.pairs.build`, optionally confirms with a
judge (:mod:`curate.pairs.confirm`), and writes:

``pairs.jsonl``    one pair per line in TRL's conversational preference format plus an id:
                   ``{"id", "prompt": [...], "chosen": [{"role": "assistant", ...}],
                   "rejected": [...]}``
``pairs.parquet``  the same columns with ``prompt_id``, ``chosen_id``, ``rejected_id`` (null
                   for ingested), ``origin`` (``scored`` | ``ingested``), ``chosen_score``,
                   ``rejected_score``, ``margin`` (null for ingested), ``lang``, ``tags``
``dataset/``       (``hf``) a Hugging Face ``datasets`` folder (``load_from_disk``)
``report.json``    ``"kind": "pairs"``, the options, the store results used, the files
                   written, counts, every drop by reason, margins, per tag and language

**Candidates** are rows that end with an assistant reply, hold no rejected answer (a
preference record only passes through), and that dedup did not drop (unless
``include_duplicates``; dedup marks do not apply to ingested records). **Ingested
pairs**: ``prompt`` = messages[:-1], ``chosen`` = the last message, ``rejected`` = the
record's rejected answer; records flagged ``preference_identical``, ``preference_tie`` or
``rejected_prefix_differs`` say nothing and are dropped. The judge confirms scored pairs
only.

**Drops** (``report.json``, ``dropped``): rows: ``no_answer``, ``dedup``,
``missing_score``, and the ingested flags; prompts: ``single_answer`` (one scored answer);
pairs: ``tie``, ``below_min_margin``, ``judge_disagrees``, ``judge_failed``.

The output folder follows the sink rules of :mod:`curate.sink` (as ``curate select``):
staged beside it and swapped in whole, never the store or around it, never a file curate
did not write; the same options on the same store results: nothing to do; other options:
refused unless ``overwrite``. Same store and options give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from curate import sink
from curate.errors import CurateError
from curate.pairs import build
from curate.store import Store
from curate.store.schema import MESSAGES

KIND = "pairs"
REPORT = sink.REPORT
PAIR_FILES = ("pairs.jsonl", "pairs.parquet")
DATASET = "dataset"
SCORED, INGESTED = "scored", "ingested"
SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("prompt", MESSAGES),
        ("chosen", MESSAGES),
        ("rejected", MESSAGES),
        ("prompt_id", pa.string()),
        ("chosen_id", pa.string()),
        ("rejected_id", pa.string()),
        ("origin", pa.string()),
        ("chosen_score", pa.float64()),
        ("rejected_score", pa.float64()),
        ("margin", pa.float64()),
        ("lang", pa.string()),
        ("tags", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class PairsOptions:
    rejected: str = build.WORST  # worst | 2-worst | below-median
    weights: dict[str, float] = field(default_factory=dict)  # as select's --weights
    missing: str = "others"  # others | exclude
    min_margin: float = 0.0  # 0: strictly better; else chosen - rejected >= min_margin
    ingested: bool = True  # pass the store's own preference records through
    include_duplicates: bool = False
    tagger: str | None = None  # whose tags the pairs carry [default: the only/first, if any]
    hf: bool = False
    confirm_with_judge: bool = False
    judge_model: str | None = None
    judge_name: str | None = None  # the call cache's name [default: judge_model]
    judge_backend: str | None = None  # recorded: the backend is built by the caller
    judge_api_base: str | None = None
    judge_max_new_tokens: int = 512
    judge_chat_template: str | None = None


@dataclass
class PairsResult:
    output: Path
    pairs: int
    report: dict[str, Any]
    already_done: bool = False


def written_files(options: PairsOptions) -> list[str]:
    """The names a pairs run writes into its folder."""
    return sorted([REPORT, *PAIR_FILES, *([DATASET] if options.hf else [])])


def check_options(options: PairsOptions) -> None:
    """Refuse options that cannot build pairs (before anything is read)."""
    if options.rejected not in build.REJECTED_MODES:
        raise CurateError(f"--rejected must be one of {', '.join(build.REJECTED_MODES)}")
    if options.missing not in ("others", "exclude"):
        raise CurateError("--missing-score must be `others` or `exclude`")
    if not (math.isfinite(options.min_margin) and options.min_margin >= 0):
        raise CurateError(
            f"--min-margin must be a number of 0 or more, got {options.min_margin}; "
            "0 keeps every pair whose chosen answer scores higher"
        )
    if options.confirm_with_judge and not options.judge_model:
        raise CurateError("--confirm-with-judge needs --judge-model (the judge's name or path)")
    build.check_weights(options.weights, complete=False)  # the rest default to 1


def run_pairs(
    store: Store,
    options: PairsOptions,
    output: str | Path,
    overwrite: bool = False,
    judge=None,
    progress=None,
) -> PairsResult:
    """Build pairs from ``store`` into the folder ``output`` (see the module's docstring).

    ``judge``: the generation backend that confirms pairs (``confirm_with_judge``);
    ``progress(calls, tokens)`` is called as its calls return.
    """
    check_options(options)
    if options.confirm_with_judge and judge is None:
        raise CurateError("--confirm-with-judge needs a judge backend")
    if options.hf:
        sink.require_datasets()
    store.require_base()
    output = sink.check_output(store, Path(output), what="pairs")
    # the judge writes its calls into the store: the store's lock, even where reads go without
    lock = store.lock() if options.confirm_with_judge else store.read_lock()
    with lock, sink.output_lock(output, who="`curate pairs` run"):
        return _pairs(store, options, output, overwrite, judge, progress)


PAIRS_WORDS = sink.Words(
    "the output of `curate pairs`",
    "pairs built with other options or store results",
    "this run",
    "curate pairs",
)


def _pairs(store, options, output, overwrite, judge, progress) -> PairsResult:
    started = time.perf_counter()
    sources = build.find_sources(store, options.weights, options.tagger)
    inputs = sink.store_inputs(store, sources.sidecars)
    claimed = sink.claim(
        output,
        options=asdict(options),
        inputs=inputs,
        written=written_files(options),
        overwrite=overwrite,
        ours_of=lambda report: sink.files_of(report, ("options", "inputs", "pairs"), kind=KIND),
        words=PAIRS_WORDS,
    )
    ours, done = claimed.ours, claimed.done
    if done is not None:
        return PairsResult(output, int(done["pairs"]), done, already_done=True)
    pool = build.read_pool(store, sources, options.include_duplicates)
    plan = build.plan_pairs(
        pool, options.rejected, options.missing, options.min_margin, options.ingested
    )
    if not pool.quality and not len(plan.ingested):
        raise CurateError(
            f"{store.root} has no complete score sidecar and no preference records to pass "
            f"through: run `curate score {store.root} ...` first"
        )
    rows = np.unique(np.concatenate([plan.chosen, plan.rejected, plan.ingested]))
    from curate.judge.grouped import read_messages

    messages = read_messages(store, rows)  # only the rows of pairs, shard by shard
    fields = _row_fields(pool, rows)
    scored = [
        _scored_pair(pool.ids, plan.score, messages, fields, c, r)
        for c, r in zip(plan.chosen.tolist(), plan.rejected.tolist())
    ]
    judge_report = None
    if options.confirm_with_judge:
        from curate.pairs import confirm

        candidates = [
            confirm.Candidate(
                p["chosen_id"],
                p["rejected_id"],
                p["prompt"],
                p["chosen"],
                p["rejected"],
                fields[c]["lang_user"],
            )
            for p, c in zip(scored, plan.chosen.tolist())
        ]
        result = confirm.confirm_pairs(
            store.root,
            judge,
            options.judge_name or options.judge_model,
            candidates,
            options.judge_max_new_tokens,
            progress,
        )
        for reason in (confirm.DISAGREES, confirm.FAILED):
            plan.dropped[reason] = result.outcome.count(reason)
        scored = [p for p, o in zip(scored, result.outcome) if o == confirm.KEPT]
        judge_report = {
            "calls": result.calls,
            "verdicts": result.verdicts,
            "pairs_asked": len(candidates),
            **result.judge,
        }
    ingested = [_ingested_pair(pool.ids, messages, fields, r) for r in plan.ingested.tolist()]
    records = scored + ingested
    report = build_report(store, options, pool, plan, records, inputs, judge_report)
    staging = output.with_name(f".{output.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        write_outputs(staging, records, options.hf)
        report["wall_seconds"] = round(time.perf_counter() - started, 3)
        (staging / REPORT).write_text(json.dumps(report, ensure_ascii=False, indent=2))
        sink.swap_in(staging, output, ours)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # only left when something failed
    return PairsResult(output, len(records), report)


# -- the pairs' text ---------------------------------------------------------------------------


def pair_id(origin: str, chosen_id: str, rejected: str) -> str:
    """A stable id of a pair: BLAKE2b-128 of its origin, chosen id and rejected id (or text)."""
    payload = json.dumps([origin, chosen_id, rejected], ensure_ascii=False)
    return hashlib.blake2b(payload.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


def _turns(messages: list[dict]) -> list[dict]:
    return [{"role": m["role"], "content": m["content"]} for m in messages]


FIELDS = ("prompt_id", "lang", "lang_user", "rejected", "tags")


def _row_fields(pool: build.Pool, rows: np.ndarray) -> dict[int, dict[str, Any]]:
    """The base and tag fields a pair carries, for ``rows`` only (one take per column)."""
    names = [n for n in FIELDS if n != "tags" or pool.tags_sidecar]
    picked = pool.table.select(names).take(pa.array(rows, pa.int64())).to_pylist()
    return {row: {"tags": None, **values} for row, values in zip(rows.tolist(), picked)}


def _scored_pair(ids, score, messages, fields, chosen: int, rejected: int) -> dict[str, Any]:
    from curate.ids import prompt_end

    c, r = messages[chosen], messages[rejected]
    end_c = prompt_end([m["role"] for m in c])
    end_r = prompt_end([m["role"] for m in r])
    if end_c == len(c) or end_r == len(r):  # its flags said it ends with a reply: it must
        row = chosen if end_c == len(c) else rejected
        raise CurateError(
            f"row {ids[row]} ends without an assistant reply although its flags do not say "
            "so; ingest the store again"
        )
    chosen_id, rejected_id = str(ids[chosen]), str(ids[rejected])
    f = fields[chosen]
    return {
        "id": pair_id(SCORED, chosen_id, rejected_id),
        "prompt": _turns(c[:end_c]),
        "chosen": _turns(c[end_c:]),
        "rejected": _turns(r[end_r:]),
        "prompt_id": f["prompt_id"],
        "chosen_id": chosen_id,
        "rejected_id": rejected_id,
        "origin": SCORED,
        "chosen_score": float(score[chosen]),
        "rejected_score": float(score[rejected]),
        "lang": f["lang"],
        "tags": f["tags"],
    }


def _ingested_pair(ids, messages, fields, row: int) -> dict[str, Any]:
    m, f = messages[row], fields[row]
    row_id = str(ids[row])
    return {
        "id": pair_id(INGESTED, row_id, f["rejected"]),
        "prompt": _turns(m[:-1]),
        "chosen": _turns(m[-1:]),
        "rejected": [{"role": "assistant", "content": f["rejected"]}],
        "prompt_id": f["prompt_id"],
        "chosen_id": row_id,
        "rejected_id": None,
        "origin": INGESTED,
        "chosen_score": None,
        "rejected_score": None,
        "lang": f["lang"],
        "tags": f["tags"],
    }


def write_outputs(folder: Path, records: list[dict[str, Any]], hf: bool) -> None:
    import orjson
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    columns = {name: [r.get(name) for r in records] for name in SCHEMA.names if name != "margin"}
    columns["margin"] = [
        None if r["chosen_score"] is None else r["chosen_score"] - r["rejected_score"]
        for r in records
    ]
    table = pa.table(
        {name: pa.array(columns[name], SCHEMA.field(name).type) for name in SCHEMA.names}
    )
    pq.write_table(table, folder / "pairs.parquet", compression="zstd")
    with open(folder / "pairs.jsonl", "wb") as fh:
        for r in records:
            line = {
                "id": r["id"],
                "prompt": r["prompt"],
                "chosen": r["chosen"],
                "rejected": r["rejected"],
            }
            fh.write(orjson.dumps(line) + b"\n")
    if hf:
        import datasets

        datasets.Dataset(table).save_to_disk(str(folder / DATASET))


# -- the report -------------------------------------------------------------------------------


def quantiles(values: np.ndarray) -> dict[str, float | int | None]:
    values = np.asarray(values, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return {
            "n": 0,
            "mean": None,
            "min": None,
            "p10": None,
            "p50": None,
            "p90": None,
            "max": None,
        }
    p10, p50, p90 = np.percentile(values, [10, 50, 90])
    return {
        "n": int(len(values)),
        "mean": round(float(values.mean()), 4),
        "min": round(float(values.min()), 4),
        "p10": round(float(p10), 4),
        "p50": round(float(p50), 4),
        "p90": round(float(p90), 4),
        "max": round(float(values.max()), 4),
    }


def build_report(store, options, pool, plan, records, inputs, judge) -> dict[str, Any]:
    origins = Counter(r["origin"] for r in records)
    margins = np.array(
        [r["chosen_score"] - r["rejected_score"] for r in records if r["origin"] == SCORED],
        dtype=np.float64,
    )
    tags: Counter[str] = Counter()
    for r in records:
        tags.update(set(r["tags"] or ()))
    langs = Counter(r["lang"] for r in records)
    report: dict[str, Any] = {
        "kind": KIND,
        "store": str(store.root),
        "options": asdict(options),
        "inputs": inputs,
        "files": written_files(options),
        "pairs": len(records),
        "counts": {
            **plan.counts,
            "pairs": len(records),
            "by_origin": {SCORED: origins.get(SCORED, 0), INGESTED: origins.get(INGESTED, 0)},
        },
        "dropped": plan.dropped,
        "weights": pool.weights,
        "margin_unit": plan.unit,
        "margins": quantiles(margins),
        "tags_from": pool.tags_sidecar,
        "dedup": "applied"
        if pool.has_dedup and not options.include_duplicates
        else (
            "ignored (--include-duplicates)"
            if pool.has_dedup
            else "not run: near-duplicates may remain"
        ),
        "per_tag": dict(sorted(tags.items(), key=lambda kv: (-kv[1], kv[0]))),
        "per_language": dict(sorted(langs.items(), key=lambda kv: (-kv[1], str(kv[0])))),
    }
    if judge is not None:
        report["judge"] = judge
    return report
