"""``curate ingest``: stream input files into the store's base table.

The inputs form one ordered stream of items (files in order, records in order).
The stream is cut into shards of ``shard_size`` items; each shard produces one
Parquet file in ``base/``, ``rejects/`` and ``duplicates/``, written under a
temporary name, renamed into place, and then recorded in ``journal/ingest.jsonl``
with the stream position and the per-file counts. A killed run, started again
with the same inputs and options, drops any shard that has no journal record,
rebuilds the set of seen ids from the committed shards, skips to the recorded
position and carries on; its output is byte-identical to an uninterrupted run.

Every item ends in exactly one place: the base table, the duplicates table (an
exact duplicate of a base row, by id) or the rejects table (with a reason), so
``read = ingested + duplicates + rejected`` holds per file.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from itertools import chain, islice
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import StageConflict, StoreError
from curate.ingest import formats
from curate.ingest.convert import FileSpec, convert_items
from curate.ingest.formats.fastchat import FastChatAnswer, Questions, resolve
from curate.ingest.inputs import InputFile, discover
from curate.ingest.readers import Item, open_reader
from curate.ingest.records import apply_field_map
from curate.store import Store, files, schema
from curate.store.manifest import environment, fingerprint, now_iso
from curate.store.sidecar import PARQUET_OPTIONS
from curate.store.store import list_shards, shard_name

STAGE = "ingest"


@dataclass(frozen=True)
class IngestOptions:
    format: str | None = None  # force one format for every file
    field_map: dict[str, str] = field(default_factory=dict)  # canonical field -> source field
    role_map: dict[str, str] = field(default_factory=dict)  # raw role -> user/assistant/system
    questions: str | None = None  # the question file of leaderboard answer files
    max_chars: int = 200_000
    split_embedded_turns: bool = False  # split "User: … Assistant: …" inside one message
    shard_size: int = 100_000  # input items per shard
    batch_size: int = 4096

    def params(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FileStats:
    file: str
    layout: str = ""
    format: str = ""
    read: int = 0
    ingested: int = 0
    duplicates: int = 0
    preference: int = 0  # ingested rows that keep a rejected answer
    rejected: Counter = field(default_factory=Counter)
    questions: str = ""  # the question file an answer file was joined with

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def balanced(self) -> bool:
        return self.read == self.ingested + self.duplicates + self.rejected_total

    def merge(self, other: dict[str, Any]) -> None:
        self.layout = other.get("layout") or self.layout
        self.format = other.get("format") or self.format
        self.questions = other.get("questions") or self.questions
        for key in ("read", "ingested", "duplicates", "preference"):
            setattr(self, key, getattr(self, key) + other.get(key, 0))
        self.rejected.update(other.get("rejected", {}))

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["rejected"] = dict(sorted(self.rejected.items()))
        return out


@dataclass
class IngestResult:
    store: Path
    files: list[FileStats]
    skipped: list[str]
    langs: dict[str, int]
    flags: dict[str, int]
    wall_seconds: float
    already_done: bool = False
    resumed_from_shard: int = 0

    @property
    def totals(self) -> FileStats:
        total = FileStats("total")
        for f in self.files:
            total.merge(f.to_json())
        return total


ProgressHook = Callable[[int, int], None]  # (bytes advanced, items advanced)
PARALLEL_MIN_BYTES = 16 << 20  # below this, worker start-up costs more than it saves
MIN_POOL_BATCH = 1024  # smaller batches (small files) are converted in the main process


def default_workers(total_bytes: int) -> int:
    """Conversion processes for ``--workers`` auto.

    None for small inputs (start-up costs more than it saves) and on machines with
    fewer than 4 cores, where the main process (reading, writing, dedup) and two
    workers compete for the cores and measured no faster (BENCHMARKS.md); else one
    per core left after the main process, at most 4.
    """
    cores = (
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )
    if total_bytes < PARALLEL_MIN_BYTES or cores < 4:
        return 0
    return min(cores - 1, 4)


@contextmanager
def _worker_pool(workers: int) -> Iterator[Any]:
    """A process pool for :func:`convert_items`, or None to convert in this process."""
    if workers <= 0:
        yield None
        return
    # fork: workers inherit the loaded code and need no `if __name__ == "__main__"` guard
    # in the caller's script. Curate's progress bars refresh without a thread, so the
    # process is single-threaded when it forks.
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    with multiprocessing.get_context(method).Pool(workers) as pool:
        yield pool


@dataclass
class Task:
    """A batch of items of one file, cut so that no batch crosses a shard boundary."""

    file_index: int
    spec: FileSpec | None
    layout: str
    items: list[Item]
    bytes_done: int  # reader position after the batch, for the progress bar
    commit: tuple[int, int] | None  # stream position to record when this batch ends a shard
    final: bool = False


@dataclass
class _WriteState:
    writer: ShardWriter
    shard_stats: dict[int, FileStats]
    dirty: bool


DETECTION_MAX_ITEMS = 4096  # items read ahead, at most, to find records to detect a format from


def _detection_head(stream: Iterator[Item]) -> list[Item]:
    """The first items of a file, up to ``formats.SAMPLE`` records (objects) to detect its
    format from: bad lines at the start of a file do not hide its format."""
    head: list[Item] = []
    records = 0
    for item in stream:
        head.append(item)
        records += isinstance(item.value, dict)
        if records >= formats.SAMPLE or len(head) >= DETECTION_MAX_ITEMS:
            break
    return head


def split_duplicates(base: pa.Table, seen: set[str]) -> tuple[pa.Table, pa.Table]:
    """Keep the first occurrence of each id (in stream order); the rest are exact duplicates."""
    keep = []
    for row_id in base.column("id").to_pylist():
        if row_id in seen:
            keep.append(False)
        else:
            seen.add(row_id)
            keep.append(True)
    if all(keep):
        return base, schema.DUPLICATES.empty_table()
    mask = pa.array(keep, pa.bool_())
    dups = base.filter(pc.invert(mask)).select(["id", "source"])
    return base.filter(mask), dups.cast(schema.DUPLICATES)


class ShardWriter:
    """The three Parquet files of one shard, written under temporary names.

    Small batches are buffered and written as one row group of at least
    ``ROW_GROUP`` rows, so that many small input files do not make many tiny row groups.
    Each file is written through :func:`curate.store.files.atomic_path`: :meth:`commit`
    moves them into place, :meth:`abort` (on any failure: a full disk, a crash) removes
    them, so that a failed run leaves no temporary file behind.
    """

    TABLES = (("base", schema.BASE), ("rejects", schema.REJECTS), ("duplicates", schema.DUPLICATES))
    ROW_GROUP = 16384

    def __init__(self, store: Store, index: int):
        self.index = index
        self.final = {name: store.root / name / shard_name(index) for name, _ in self.TABLES}
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.buffers: dict[str, list[pa.Table]] = {name: [] for name, _ in self.TABLES}
        self.buffered: dict[str, int] = {name: 0 for name, _ in self.TABLES}
        self._tmp: dict[str, Path] = {}
        self._files = ExitStack()  # one atomic_path per file: commit on exit, remove on error

    def _tmp_path(self, name: str) -> Path:
        if name not in self._tmp:
            self._tmp[name] = self._files.enter_context(files.atomic_path(self.final[name]))
        return self._tmp[name]

    def write(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self.buffers[name].append(table)
        self.buffered[name] += table.num_rows
        if self.buffered[name] >= self.ROW_GROUP:
            self._flush(name)

    def _flush(self, name: str) -> None:
        if not self.buffers[name]:
            return
        table = pa.concat_tables(self.buffers[name])
        self.buffers[name], self.buffered[name] = [], 0
        if name not in self.writers:
            self.writers[name] = pq.ParquetWriter(
                self._tmp_path(name), table.schema, **PARQUET_OPTIONS
            )
        self.writers[name].write_table(table)

    def commit(self) -> None:
        try:
            for name, table_schema in self.TABLES:
                self._flush(name)
                if name in self.writers:
                    self.writers.pop(name).close()
                else:
                    pq.write_table(
                        table_schema.empty_table(), self._tmp_path(name), **PARQUET_OPTIONS
                    )
        except BaseException:
            self.abort()
            raise
        self._files.close()  # moves each file into place; on a failure, removes the rest

    def abort(self) -> None:
        """Close and remove the temporary files (nothing is committed)."""
        for writer in self.writers.values():
            with suppress(Exception):
                writer.close()
        self.writers.clear()
        failed = OSError("ingest stopped before the shard was committed")
        self._files.__exit__(OSError, failed, None)


class Ingestor:
    """One ingest run over a list of inputs into one store."""

    def __init__(
        self,
        inputs: list[str],
        store_path: str | Path,
        options: IngestOptions,
        overwrite: bool = False,
        workers: int | None = None,
    ):
        self.options = options
        self.overwrite = overwrite
        self.files, self.skipped = discover(inputs)
        self.store_path = Path(store_path)
        if options.format is not None:
            formats.get(options.format)  # fail early on a bad name
        self.workers = default_workers(self.total_bytes) if workers is None else workers
        self._specs: list[FileSpec] = []
        # input files by real path: how a question file that is also an input is shown
        self._displays = {os.path.realpath(f.path): f.display for f in self.files}
        self.fingerprint = fingerprint(
            {"files": [f.identity() for f in self.files], "params": options.params()}
        )

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    # ------------------------------------------------------------------ state
    def _prepare_store(self, store: Store) -> list[dict]:
        """Decide between a fresh run, a resume and a no-op; returns committed journal records."""
        journal = store.journal(STAGE)
        manifest = store.manifest(STAGE)
        entries = journal.read()
        if self.overwrite:
            store.clear()
            return []
        if manifest is not None:
            if (
                manifest.get("fingerprint") == self.fingerprint
                and manifest.get("status") == "complete"
            ):
                return [{"complete": True}]
            raise StageConflict(
                f"{store.root} already holds an ingest of other inputs or options; "
                "pass --overwrite to rebuild it from scratch (this deletes every later stage too), "
                "or choose another --store"
            )
        if entries:
            if entries[0].get("fingerprint") != self.fingerprint:
                raise StageConflict(
                    f"{store.root} holds an interrupted ingest of other inputs or options; rerun that "
                    "command to finish it, or pass --overwrite to start over"
                )
            return entries[1:]
        if store.base_shards():
            raise StoreError(
                f"{store.root} has base shards but no ingest journal; pass --overwrite to rebuild it"
            )
        return []

    # ------------------------------------------------------------------ run
    def run(self, progress: ProgressHook | None = None) -> IngestResult:
        started = time.perf_counter()
        self._specs = self._plan()
        self._fingerprint_joins()
        store = Store.create(self.store_path)
        with store.lock():
            committed = self._prepare_store(store)
            if committed and committed[0].get("complete"):
                return self._result_from_manifest(store)
            journal = store.journal(STAGE)
            # A fresh journal, or the committed records alone (drops a torn last line).
            header = (
                journal.read()[0]
                if committed
                else {"fingerprint": self.fingerprint, "started": now_iso()}
            )
            journal.rewrite([header, *committed])
            stats = [
                FileStats(f.display, questions=self._questions_shown(s))
                for f, s in zip(self.files, self._specs)
            ]
            for entry in committed:
                for key, delta in entry["files"].items():
                    stats[int(key)].merge(delta)
            next_shard = committed[-1]["shard"] + 1 if committed else 0
            position = tuple(committed[-1]["position"]) if committed else (0, 0)
            self._drop_uncommitted(store, next_shard)
            seen = self._seen_ids(store, next_shard)
            if progress is not None and committed:
                done_bytes = sum(f.size for f in self.files[: position[0]])
                progress(done_bytes, sum(s.read for s in stats))
            with _worker_pool(self.workers) as pool:
                self._stream(store, journal, stats, seen, next_shard, position, progress, pool)
            wall = time.perf_counter() - started
            result = self._finish(store, stats, wall, resumed_from=next_shard)
            journal.remove()
            return result

    def _drop_uncommitted(self, store: Store, next_shard: int) -> None:
        for name, _ in ShardWriter.TABLES:
            directory = store.root / name
            files.clean_tmp(directory)
            for path in list_shards(directory):
                if int(path.name[5:10]) >= next_shard:
                    path.unlink()

    def _seen_ids(self, store: Store, next_shard: int) -> set[str]:
        seen: set[str] = set()
        for i in range(next_shard):
            seen.update(
                pq.read_table(store.base_dir / shard_name(i), columns=["id"])
                .column("id")
                .to_pylist()
            )
        return seen

    def _tasks(self, position: tuple[int, int]) -> Iterator[Task]:
        """Read the inputs from ``position`` on and cut them into batches and shards (main process)."""
        opts = self.options
        in_shard = 0
        start_file, start_item = position
        for fi in range(start_file, len(self.files)):
            info = self.files[fi]
            spec = self._specs[fi]
            with open_reader(info.path) as reader:
                stream = reader.records()
                head = _detection_head(stream)
                items = islice(chain(head, stream), start_item if fi == start_file else 0, None)
                yielded = False
                while True:
                    batch = list(islice(items, min(opts.batch_size, opts.shard_size - in_shard)))
                    if not batch:
                        break
                    in_shard += len(batch)
                    commit = (fi, batch[-1].index + 1) if in_shard >= opts.shard_size else None
                    if commit:
                        in_shard = 0
                    yielded = True
                    yield Task(fi, spec, reader.layout, batch, reader.bytes_done, commit)
                if not yielded:  # an empty file, or one already consumed before a resume
                    yield Task(fi, spec, reader.layout, [], info.size, None)
        yield Task(-1, None, "", [], 0, (len(self.files), 0), final=True)

    def _plan(self) -> list[FileSpec]:
        """Every file's format, detected from its first records, and the joins between
        leaderboard answer files and their question files (decided before any file is
        read in full, so that a question file knows whether answers of this run join it)."""
        opts = self.options
        given = Path(opts.questions) if opts.questions else None
        specs: list[FileSpec] = []
        joins: dict[str, list[str]] = {}
        for info in self.files:
            with open_reader(info.path) as reader:
                head = _detection_head(reader.records())
            spec = self._spec(info, head)
            if spec.format == FastChatAnswer.name:
                records = [
                    apply_field_map(it.value, opts.field_map) for it in head if it.error is None
                ]
                found = resolve(info.path, given, records)
                spec = replace(
                    spec,
                    questions=str(found.path) if found.path else None,
                    questions_error=found.error,
                )
                if found.path is not None:
                    joins.setdefault(os.path.realpath(found.path), []).append(info.display)
            specs.append(spec)
        return [
            replace(s, joined_by=tuple(joins[key]))
            if s.format == Questions.name and (key := os.path.realpath(s.path)) in joins
            else s
            for s in specs
        ]

    def _fingerprint_joins(self) -> None:
        """Make question files that answer files join, but that are not inputs themselves,
        part of the fingerprint: editing one is a change of inputs (a resume never mixes
        the old and the new questions). Runs without such files keep their fingerprint."""
        external = sorted(
            {
                q
                for s in self._specs
                if (q := s.questions) and os.path.realpath(q) not in self._displays
            }
        )
        if not external:
            return
        identities = []
        for path in external:
            st = os.stat(path)
            identities.append([path, st.st_size, st.st_mtime_ns])
        self.fingerprint = fingerprint(
            {
                "files": [f.identity() for f in self.files],
                "params": self.options.params(),
                "questions": identities,
            }
        )

    def _questions_shown(self, spec: FileSpec) -> str:
        """The question file of an answer file as the user named it (if it is an input)."""
        if not spec.questions:
            return ""
        return self._displays.get(os.path.realpath(spec.questions), spec.questions)

    def _spec(self, info: InputFile, head: list[Item]) -> FileSpec:
        opts = self.options
        if opts.format is not None:
            fmt = formats.get(opts.format)
        else:
            fmt = formats.detect(
                apply_field_map(it.value, opts.field_map) for it in head if it.error is None
            )
        return FileSpec(
            path=str(info.path),
            display=info.display,
            format=fmt.name,
            unrecognized_keys=tuple(getattr(fmt, "keys", ())),
            field_map=dict(opts.field_map),
            role_map=dict(opts.role_map),
            questions=opts.questions,
            max_chars=opts.max_chars,
            split_embedded_turns=opts.split_embedded_turns,
        )

    def _stream(
        self,
        store: Store,
        journal: files.Journal,
        stats: list[FileStats],
        seen: set[str],
        shard: int,
        position: tuple[int, int],
        progress: ProgressHook | None,
        pool: Any,
    ) -> None:
        """Convert batches (in worker processes when ``pool`` is set) and write them in order."""
        state = _WriteState(ShardWriter(store, shard), {}, False)
        pending: deque[tuple[Task, Any]] = deque()
        max_pending = 2 * max(self.workers, 1)
        bytes_seen: dict[int, int] = {}
        try:
            for task in self._tasks(position):
                if pool is not None and len(task.items) >= MIN_POOL_BATCH:
                    pending.append((task, pool.apply_async(convert_items, (task.spec, task.items))))
                else:
                    pending.append((task, None))
                while len(pending) > max_pending:
                    self._consume(
                        *pending.popleft(), store, journal, stats, seen, state, progress, bytes_seen
                    )
            while pending:
                self._consume(
                    *pending.popleft(), store, journal, stats, seen, state, progress, bytes_seen
                )
        except BaseException:
            state.writer.abort()  # no temporary file is left behind (a full disk, a crash)
            raise

    def _consume(
        self,
        task: Task,
        future: Any,
        store: Store,
        journal: files.Journal,
        stats: list[FileStats],
        seen: set[str],
        state: _WriteState,
        progress: ProgressHook | None,
        bytes_seen: dict[int, int],
    ) -> None:
        if task.final:
            if state.dirty or state.writer.index == 0:
                self._commit(state.writer, journal, state.shard_stats, stats, task.commit)
            return
        delta = state.shard_stats.setdefault(task.file_index, FileStats(task.spec.display))
        delta.layout, delta.format = task.layout, task.spec.format
        state.dirty = True
        if task.items:
            converted = future.get() if future is not None else convert_items(task.spec, task.items)
            base, dups = split_duplicates(converted.base, seen)
            state.writer.write("base", base)
            state.writer.write("rejects", converted.rejects)
            state.writer.write("duplicates", dups)
            delta.read += len(task.items)
            delta.ingested += base.num_rows
            delta.duplicates += dups.num_rows
            delta.preference += base.num_rows - base.column("rejected").null_count
            delta.rejected.update(converted.rejects.column("reason").to_pylist())
        if progress is not None:
            advanced = task.bytes_done - bytes_seen.get(task.file_index, 0)
            bytes_seen[task.file_index] = task.bytes_done
            progress(max(advanced, 0), len(task.items))
        if task.commit is not None:
            self._commit(state.writer, journal, state.shard_stats, stats, task.commit)
            state.writer = ShardWriter(store, state.writer.index + 1)
            state.shard_stats = {}
            state.dirty = False

    def _commit(
        self,
        writer: ShardWriter,
        journal: files.Journal,
        shard_stats: dict[int, FileStats],
        stats: list[FileStats],
        position: tuple[int, int],
    ) -> None:
        writer.commit()
        deltas = {str(fi): s.to_json() for fi, s in sorted(shard_stats.items())}
        journal.append({"shard": writer.index, "position": list(position), "files": deltas})
        for fi, s in shard_stats.items():
            stats[fi].merge(s.to_json())

    # ------------------------------------------------------------------ summary
    def _finish(
        self, store: Store, stats: list[FileStats], wall: float, resumed_from: int
    ) -> IngestResult:
        unbalanced = [s.file for s in stats if not s.balanced]
        if unbalanced:  # a bug, never a user error
            raise AssertionError(f"reconciliation failed for {unbalanced}")
        table = store.read(columns=["lang", "flags"])
        langs = _value_counts(table.column("lang"))
        flags = _value_counts(pc.list_flatten(table.column("flags")))
        result = IngestResult(
            store.root, stats, self.skipped, langs, flags, wall, resumed_from_shard=resumed_from
        )
        totals = result.totals
        manifest = {
            "stage": STAGE,
            "status": "complete",
            "fingerprint": self.fingerprint,
            "params": self.options.params(),
            "inputs": [
                {"file": f.display, "bytes": f.size, "mtime_ns": f.mtime_ns} for f in self.files
            ],
            "skipped_non_data_files": self.skipped,
            "counts": {
                "read": totals.read,
                "ingested": totals.ingested,
                "duplicates": totals.duplicates,
                "rejected": totals.rejected_total,
                "rejected_by_reason": dict(sorted(totals.rejected.items())),
                "preference": totals.preference,
                "shards": store.num_shards,
                "lang": langs,
                "flags": flags,
            },
            "files": [s.to_json() for s in stats],
            "finished": now_iso(),
            "wall_seconds": round(wall, 3),
            "records_per_second": round(totals.read / wall, 1) if wall > 0 else None,
            "resumed_from_shard": resumed_from,
            "environment": environment(),
        }
        store.write_manifest(STAGE, manifest)
        return result

    def _result_from_manifest(self, store: Store) -> IngestResult:
        manifest = store.manifest(STAGE)
        stats = []
        for entry in manifest["files"]:
            s = FileStats(entry["file"])
            s.merge(entry)
            stats.append(s)
        counts = manifest["counts"]
        return IngestResult(
            store.root,
            stats,
            manifest.get("skipped_non_data_files", []),
            counts["lang"],
            counts["flags"],
            manifest["wall_seconds"],
            already_done=True,
        )


def _value_counts(array: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    if len(array) == 0:
        return {}
    counts = pc.value_counts(array)
    pairs = [(v.as_py(), c.as_py()) for v, c in zip(counts.field("values"), counts.field("counts"))]
    return dict(sorted(pairs, key=lambda kv: (-kv[1], str(kv[0]))))
