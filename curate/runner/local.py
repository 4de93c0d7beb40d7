"""The local engine: per-shard stages in this process, shard by shard, chunk by chunk."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from curate.runner.stage import Progress, Stage
from curate.store import SidecarWriter, Store


def with_ids(ids: pa.ChunkedArray | pa.Array, columns: Any) -> pa.Table:
    """A stage's output as a sidecar table: ``id`` first, then its columns."""
    if isinstance(columns, pa.Table):
        return columns if "id" in columns.column_names else columns.add_column(0, "id", ids)
    return pa.table({"id": ids, **columns})


class LocalEngine:
    """Runs ``compute_shard`` over the pending shards of a sidecar in this process."""

    name = "local"

    def run_shards(
        self, store: Store, stage: Stage, writer: SidecarWriter, progress: Progress | None
    ) -> None:
        columns = list(dict.fromkeys(["id", *stage.columns]))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-prepare") as pool:
            for index in writer.pending():
                shard = store.read_shard(index, columns=columns, sidecars=stage.sidecars)
                if stage.chunk_rows is None:
                    todo, done = [(0, shard.num_rows)], 0
                else:
                    todo, done = writer.chunks_to_do(index, stage.chunk_rows)
                if progress is not None and done:
                    progress(done, 0)
                self._chunks(shard, index, todo, stage, writer, pool, progress)
                if stage.chunk_rows is not None:
                    writer.write_from_parts(index, pa.schema([("id", pa.string()), *stage.schema]))

    def _chunks(self, shard, index, todo, stage, writer, pool, progress) -> None:
        def prepare(chunk: tuple[int, int]) -> Any:
            rows = shard.slice(*chunk)
            return stage.prepare(rows) if stage.prepare is not None else rows

        ahead = pool.submit(prepare, todo[0]) if todo else None
        for i, (start, rows) in enumerate(todo):
            prepared = ahead.result()
            ahead = pool.submit(prepare, todo[i + 1]) if i + 1 < len(todo) else None
            out = with_ids(
                shard.column("id").slice(start, rows), stage.compute_shard(prepared, progress)
            )
            if stage.chunk_rows is None:
                writer.write(index, out)
            else:
                writer.write_part(index, start, out)
            if progress is not None and not stage.reports_progress:
                progress(rows, 0)


ENGINES = {"local": LocalEngine}


def resolve_engine(name: str | None) -> LocalEngine:
    from curate.errors import InputError

    key = name or "local"
    if key not in ENGINES:
        raise InputError(f"unknown --engine {key!r}; choose one of {', '.join(ENGINES)}")
    return ENGINES[key]()
