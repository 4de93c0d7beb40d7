"""Resumable, shard-by-shard writing of a sidecar table.

A later stage (embed, tag, score, dedup) adds columns keyed by ``id``. It writes
one sidecar shard per base shard, holding the same ids in the same order, so that
reading a sidecar back is a column append rather than a join. Each shard is
written atomically; a present shard file *is* the completion record, so a killed
run resumes with :meth:`SidecarWriter.pending` and never writes a shard twice.

Typical use::

    writer = SidecarWriter(store, "score.heuristics", params={"version": 1}, overwrite=False)
    for index in writer.pending():
        shard = store.read_shard(index, columns=["id", "messages"])
        writer.write(index, compute_columns(shard))
    writer.finish(counts={...})

Slow stages (a reward model on a 100,000-row shard) also checkpoint *within* a
shard: :meth:`SidecarWriter.write_part` stores row ranges as they finish,
:meth:`SidecarWriter.chunks_to_do` says what is left after a restart, and
:meth:`SidecarWriter.write_from_parts` assembles the shard and removes them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate import names
from curate.errors import StageConflict, StoreError
from curate.store import files
from curate.store.manifest import environment, fingerprint, now_iso
from curate.store.store import Store, list_shards, shard_name

PARQUET_OPTIONS = {"compression": "zstd", "use_dictionary": True, "write_statistics": True}


def write_table_atomic(table: pa.Table, path) -> None:
    with files.atomic_path(path) as tmp:
        pq.write_table(table, tmp, **PARQUET_OPTIONS)


class SidecarWriter:
    """Writes the sidecar ``name`` for the store's base table, resuming where it stopped.

    ``inputs`` maps the sidecars this one is computed from to their build ids
    (:func:`build_id`): they are part of the fingerprint, so a result computed from
    inputs that were rebuilt since is never taken for a complete one. When only the
    inputs changed (same ``params``), the stale result is rebuilt without
    ``--overwrite``: it is derived data, and keeping it would mix old and new inputs.
    """

    def __init__(
        self,
        store: Store,
        name: str,
        params: dict[str, Any],
        overwrite: bool = False,
        inputs: dict[str, str] | None = None,
    ):
        store.require_base()
        self.store = store
        self.name = name
        self.dir = store.sidecar_dir(name)
        self.manifest_name = names.manifest_name(name)
        self.params = params
        self.inputs = dict(sorted((inputs or {}).items()))
        base = store.base_manifest()
        self.identity = {"params": params, "base": base["fingerprint"]}
        if self.inputs:  # stages without inputs keep the fingerprints of earlier versions
            self.identity["inputs"] = self.inputs
        self.fingerprint = fingerprint(self.identity)
        self.started = time.time()
        self.rebuilt_stale = False
        existing = store.manifest(self.manifest_name)
        if existing is not None and existing.get("fingerprint") != self.fingerprint:
            same_params = fingerprint(existing.get("params")) == fingerprint(params) and (
                existing.get("base_fingerprint") == base["fingerprint"]
            )
            if not (overwrite or same_params):
                raise StageConflict(
                    f"sidecar {name!r} already exists with other parameters or another base table "
                    f"(existing: {existing.get('params')}); pass --overwrite to replace it, "
                    "or choose another name"
                )
            self.rebuilt_stale = same_params and not overwrite
            existing = None
        if existing is None:
            shutil.rmtree(self.dir, ignore_errors=True)
            store.write_manifest(
                self.manifest_name,
                {
                    "stage": name,
                    "status": "running",
                    "fingerprint": self.fingerprint,
                    "build": fingerprint([self.fingerprint, time.time_ns(), os.getpid()]),
                    "params": params,
                    "inputs": self.inputs,
                    "base_fingerprint": base["fingerprint"],
                    "started": now_iso(),
                    "environment": environment(),
                },
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        files.clean_tmp(self.dir)
        self._remove_finished_parts()

    def _remove_finished_parts(self) -> None:
        """Checkpoints of shards that were written before a kill could remove them."""
        for index in range(self.store.num_shards):
            if (self.dir / shard_name(index)).is_file():
                shutil.rmtree(self._parts_dir(index), ignore_errors=True)
        parts = self.dir / "parts"
        if parts.is_dir() and not any(parts.iterdir()):
            parts.rmdir()

    @property
    def complete(self) -> bool:
        manifest = self.store.manifest(self.manifest_name)
        return bool(manifest and manifest.get("status") == "complete")

    def pending(self) -> list[int]:
        """Base shard numbers that have no sidecar shard yet, in order."""
        done = {p.name for p in list_shards(self.dir)}
        return [i for i in range(self.store.num_shards) if shard_name(i) not in done]

    def write(self, index: int, table: pa.Table) -> None:
        ids = pq.read_table(self.store.base_dir / shard_name(index), columns=["id"]).column("id")
        if "id" not in table.column_names or not table.column("id").equals(ids):
            raise StoreError(
                f"sidecar {self.name!r} shard {index}: the ids must be those of base shard {index}, "
                "in the same order"
            )
        # one chunk per column: the file does not depend on how the rows were computed
        write_table_atomic(table.combine_chunks(), self.dir / shard_name(index))
        shutil.rmtree(self._parts_dir(index), ignore_errors=True)

    def write_all(self, table: pa.Table, progress: Callable[[int], None] | None = None) -> None:
        """``table`` holds every base row in base order: cut into shards, each written if pending.

        For stages that compute the whole store at once (clusters, dedup groups, tag mappings).
        """
        pending = set(self.pending())
        offset = 0
        for index in range(self.store.num_shards):
            rows = self.store.shard_rows(index)
            if index in pending:
                self.write(index, table.slice(offset, rows))
            offset += rows
            if progress is not None:
                progress(rows)

    def _parts_dir(self, index: int):
        return self.dir / "parts" / f"{index:05d}"

    def write_part(self, index: int, start: int, table: pa.Table) -> None:
        """Checkpoint rows ``start .. start + len(table)`` of shard ``index``."""
        directory = self._parts_dir(index)
        directory.mkdir(parents=True, exist_ok=True)
        write_table_atomic(table, directory / f"rows-{start:09d}.parquet")

    def _part_files(self, index: int) -> dict[int, Path]:
        """The checkpoint files of shard ``index``, by first row (left-over temp files removed)."""
        directory = self._parts_dir(index)
        if not directory.is_dir():
            return {}
        files.clean_tmp(directory)
        return {int(p.stem.split("-")[1]): p for p in sorted(directory.glob("rows-*.parquet"))}

    def chunks_to_do(self, index: int, chunk_rows: int) -> tuple[list[tuple[int, int]], int]:
        """The ``(first row, rows)`` chunks of shard ``index`` not checkpointed yet, and the rows done.

        Chunks fill the gaps between the checkpoints, so a run resumed with a
        different ``chunk_rows`` neither repeats nor overlaps finished rows.
        """
        done = {s: pq.ParquetFile(p).metadata.num_rows for s, p in self._part_files(index).items()}
        num_rows = self.store.shard_rows(index)
        todo: list[tuple[int, int]] = []
        position = 0
        for start in [*sorted(done), num_rows]:
            for first in range(position, start, chunk_rows):
                todo.append((first, min(chunk_rows, start - first)))
            position = max(position, start + done.get(start, 0))
        return todo, sum(done.values())

    def write_from_parts(self, index: int, schema: pa.Schema) -> None:
        """Shard ``index`` from its checkpointed chunks, in row order (``schema`` for an empty shard)."""
        parts = self._part_files(index)
        tables = [pq.read_table(parts[s]) for s in sorted(parts)]
        self.write(index, pa.concat_tables(tables) if tables else schema.empty_table())

    def finish(self, counts: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
        missing = self.pending()
        if missing:
            raise StoreError(
                f"sidecar {self.name!r} is missing shards {missing[:5]}; cannot finish"
            )
        self._remove_finished_parts()
        manifest = self.store.manifest(self.manifest_name) or {}
        wall = time.time() - self.started
        rows = self.store.num_rows()
        manifest.update(
            {
                "status": "complete",
                "finished": now_iso(),
                "rows": rows,
                "counts": counts or {},
                "wall_seconds_last_run": round(wall, 3),
                "build": manifest.get("build")
                or fingerprint([self.fingerprint, manifest.get("started")]),
                **extra,
            }
        )
        self.store.write_manifest(self.manifest_name, manifest)
        return manifest
