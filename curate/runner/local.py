"""The local engine: per-shard stages in this process, shard by shard, chunk by chunk."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from curate.runner.stage import Progress, Stage
from curate.runner.work import finish_shard, read_columns, shard_plan, with_ids, write_unit
from curate.store import SidecarWriter, Store

__all__ = ["LocalWorkers"]


class LocalWorkers:
    """Runs ``compute_shard`` over the pending units of a sidecar in this process.

    ``prepare`` (a tokenizer, say) of the next unit runs in a background thread while
    ``compute_shard`` works on the current one.
    """

    name = "local"

    def __init__(self, stage: Stage):
        self.stage = stage

    def run_shards(self, store: Store, writer: SidecarWriter, progress: Progress | None) -> None:
        stage = self.stage
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-prepare") as pool:
            for index, units, done in shard_plan(store, stage, writer):
                shard = store.read_shard(
                    index, columns=read_columns(stage), sidecars=stage.sidecars
                )
                if progress is not None and done:
                    progress(done, 0)
                self._units(shard, units, writer, pool, progress)
                finish_shard(writer, stage, index)

    def _units(self, shard, units, writer, pool, progress) -> None:
        stage = self.stage

        def prepare(unit: Any) -> Any:
            rows = shard.slice(unit.start, unit.rows)
            return stage.prepare(rows) if stage.prepare is not None else rows

        ahead = pool.submit(prepare, units[0]) if units else None
        for i, unit in enumerate(units):
            prepared = ahead.result()
            ahead = pool.submit(prepare, units[i + 1]) if i + 1 < len(units) else None
            out = with_ids(
                shard.column("id").slice(unit.start, unit.rows),
                stage.compute_shard(prepared, progress),
            )
            write_unit(writer, stage, unit, out)
            if progress is not None and not stage.reports_progress:
                progress(unit.rows, 0)

    def extra(self) -> dict[str, Any]:
        return self.stage.extra()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}

    def close(self, graceful: bool = True) -> None:
        if self.stage.close is not None:
            self.stage.close()
