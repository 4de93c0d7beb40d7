"""Export the base table as JSON Lines in messages or ShareGPT format."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from curate.store import Store, files

SHAREGPT_ROLES = {"user": "human", "assistant": "gpt", "system": "system"}


def row_filter(table: pa.Table, langs: Sequence[str], exclude_flags: Sequence[str]) -> pa.Table:
    if langs:
        table = table.filter(pc.is_in(table.column("lang"), pa.array(list(langs), pa.string())))
    if exclude_flags and table.num_rows:
        flagged = pc.is_in(
            pc.list_flatten(table.column("flags")), pa.array(list(exclude_flags), pa.string())
        )
        parents = pc.list_parent_indices(table.column("flags"))
        drop = set(pc.filter(parents, flagged).to_pylist())
        if drop:
            table = table.filter(pa.array([i not in drop for i in range(table.num_rows)]))
    return table


def to_record(row: dict, fmt: str) -> dict:
    if fmt == "sharegpt":
        record = {
            "id": row["id"],
            "conversations": [
                {"from": SHAREGPT_ROLES[m["role"]], "value": m["content"]} for m in row["messages"]
            ],
        }
    else:
        record = {"id": row["id"], "messages": row["messages"]}
    if row.get("rejected") is not None:
        record["rejected"] = row["rejected"]
    return record


def export_jsonl(
    store: Store,
    output: str | Path,
    fmt: str = "messages",
    langs: Sequence[str] = (),
    exclude_flags: Sequence[str] = (),
    limit: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Stream the base table to ``output``; returns the number of rows written."""
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = files.tmp_path(output)
    opener = gzip.open if output.suffix == ".gz" else open
    written = 0
    with opener(tmp, "wb") as fh:
        for shard in store.iter_shards(columns=["id", "messages", "rejected", "lang", "flags"]):
            rows_in = shard.num_rows
            shard = row_filter(shard, langs, exclude_flags)
            for row in shard.select(["id", "messages", "rejected"]).to_pylist():
                if limit is not None and written >= limit:
                    break
                fh.write(orjson.dumps(to_record(row, fmt)) + b"\n")
                written += 1
            if progress is not None:
                progress(rows_in)
            if limit is not None and written >= limit:
                break
    files.commit(tmp, output)
    return written
