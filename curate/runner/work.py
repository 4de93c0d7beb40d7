"""The units of work of a per-shard stage, shared by every engine.

A unit is a shard, or (for a stage with ``chunk_rows``) one chunk of a shard that is
not checkpointed yet: what a killed run loses at most, and what an engine hands to a
worker. The driver reads each shard once, writes each unit's result as it returns,
and writes the shard from its checkpoints once all its units are in.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from curate.runner.stage import Stage
from curate.store import SidecarWriter, Store


@dataclass(frozen=True)
class Unit:
    """Rows ``start .. start + rows`` of shard ``shard``."""

    shard: int
    start: int
    rows: int

    def __str__(self) -> str:
        return f"shard {self.shard} rows {self.start}-{self.start + self.rows}"


def with_ids(ids: pa.ChunkedArray | pa.Array, columns: Any) -> pa.Table:
    """A stage's output as a sidecar table: ``id`` first, then its columns."""
    if isinstance(columns, pa.Table):
        return columns if "id" in columns.column_names else columns.add_column(0, "id", ids)
    return pa.table({"id": ids, **columns})


def read_columns(stage: Stage) -> list[str]:
    return list(dict.fromkeys(["id", *stage.columns]))


def shard_plan(
    store: Store, stage: Stage, writer: SidecarWriter
) -> Iterator[tuple[int, list[Unit], int]]:
    """Each pending shard: its units still to compute and the rows already checkpointed."""
    for index in writer.pending():
        if stage.chunk_rows is None:
            yield index, [Unit(index, 0, store.shard_rows(index))], 0
        else:
            todo, done = writer.chunks_to_do(index, stage.chunk_rows)
            yield index, [Unit(index, start, rows) for start, rows in todo], done


def write_unit(writer: SidecarWriter, stage: Stage, unit: Unit, table: pa.Table) -> None:
    """Record one unit's result: the shard itself, or a checkpointed chunk of it."""
    if stage.chunk_rows is None:
        writer.write(unit.shard, table)
    else:
        writer.write_part(unit.shard, unit.start, table)


def finish_shard(writer: SidecarWriter, stage: Stage, index: int) -> None:
    """A chunked shard whose units are all in: written whole from its checkpoints."""
    if stage.chunk_rows is not None:
        writer.write_from_parts(index, pa.schema([("id", pa.string()), *stage.schema]))
