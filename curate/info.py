"""What a store holds: counts by source, language, turns, prompt groups and flags; rejects;
stages."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow.compute as pc

from curate import prompts
from curate.store import Store

TURN_BUCKETS = ((1, "1"), (2, "2"), (5, "3-5"), (10, "6-10"), (None, "11+"))


def _counts(values: list) -> dict[str, int]:
    return dict(sorted(Counter(values).items(), key=lambda kv: (-kv[1], str(kv[0]))))


def turn_bucket(n: int) -> str:
    for upper, label in TURN_BUCKETS:
        if upper is None or n <= upper:
            return label
    return TURN_BUCKETS[-1][1]


def _turn_counts(turns: list[int]) -> dict[str, int]:
    counts = Counter(turn_bucket(t) for t in turns)
    return {label: counts.get(label, 0) for _, label in TURN_BUCKETS}


def store_summary(store: Store, examples: int = 0) -> dict[str, Any]:
    """A JSON-able description of the store (reads a few narrow columns only)."""
    base = store.read(
        columns=["prompt_id", "source", "lang", "n_turns", "flags", "format", "rejected"]
    )
    files = pc.struct_field(base.column("source"), "file").to_pylist() if base.num_rows else []
    rejects = store.rejects(columns=["source", "reason", "detail", "raw"])
    duplicates = store.duplicates(columns=["id"])
    size = sum(p.stat().st_size for p in store.root.rglob("*.parquet"))
    summary: dict[str, Any] = {
        "store": str(store.root),
        "rows": base.num_rows,
        "shards": store.num_shards,
        "bytes_on_disk": size,
        "by_source": _counts(files),
        "by_lang": _counts(base.column("lang").to_pylist()),
        "by_turns": _turn_counts(base.column("n_turns").to_pylist()),
        "prompt_groups": prompts.group_counts(prompts.prompt_codes(base.column("prompt_id"))),
        "by_format": _counts(base.column("format").to_pylist()),
        "flags": _counts(pc.list_flatten(base.column("flags")).to_pylist())
        if base.num_rows
        else {},
        "preference_rows": base.num_rows - base.column("rejected").null_count,
        "exact_duplicates": duplicates.num_rows,
        "rejects": _counts(rejects.column("reason").to_pylist()),
        "stages": {name: _stage_summary(m) for name, m in store.manifests().items()},
        "sidecars": store.sidecars(),
    }
    if examples:
        summary["reject_examples"] = _reject_examples(rejects, examples)
    return summary


def _stage_summary(manifest: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "status",
        "finished",
        "started",
        "wall_seconds",
        "records_per_second",
        "params",
        "counts",
        "rows",
    )
    return {k: manifest[k] for k in keep if k in manifest}


def _reject_examples(rejects, per_reason: int) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rejects.to_pylist():
        bucket = out.setdefault(row["reason"], [])
        if len(bucket) < per_reason:
            src = row["source"]
            where = (
                f"{src['file']}:{src['line']}"
                if src["line"] is not None
                else f"{src['file']}#{src['index']}"
            )
            bucket.append(
                {"where": where, "detail": row["detail"], "raw": (row["raw"] or "")[:200]}
            )
    return out
