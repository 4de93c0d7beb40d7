"""The store: one directory that holds a curation run.

Layout::

    store.json                      marker and format version
    base/part-NNNNN.parquet         one row per distinct conversation (schema.BASE)
    rejects/part-NNNNN.parquet      input records that could not be ingested, with reasons
    duplicates/part-NNNNN.parquet   input records that were exact duplicates of a base row
    sidecars/<name>/part-NNNNN.parquet
                                    columns added by a later stage, keyed by ``id`` and
                                    aligned with the base shard of the same number
    manifests/<stage>.json          parameters, versions, counts and timings of each stage
    journal/<stage>.jsonl           completion records that make stages resumable
    .lock                           held by the process that writes the store

Every later stage reads the base table through :meth:`Store.iter_shards` or
:meth:`Store.read` and adds a sidecar with :class:`curate.store.sidecar.SidecarWriter`.
"""

from __future__ import annotations

import contextlib
import errno
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from curate.errors import StoreError
from curate.ids import prompt_ids_of
from curate.store import files, schema
from curate.store.manifest import now_iso

STORE_FORMAT = 1
#: the stages that write a store's base table: its manifest is the base's (a store has one)
#: ``prompts`` is the prompt table ``curate generate`` keeps inside the store it writes
SOURCE_STAGES = ("ingest", "generate", "prompts")
MARKER = "store.json"
SHARD_RE = re.compile(r"^part-(\d{5})\.parquet$")
SIDECAR_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]*$")


def shard_name(index: int) -> str:
    return f"part-{index:05d}.parquet"


def list_shards(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if SHARD_RE.match(p.name))


def read_parquet_dir(
    directory: Path, columns: Sequence[str] | None, empty_schema: pa.Schema
) -> pa.Table:
    shards = list_shards(directory)
    if not shards:
        return (
            empty_schema.empty_table()
            if columns is None
            else empty_schema.empty_table().select(list(columns))
        )
    return pa.concat_tables(pq.read_table(p, columns=columns) for p in shards)


class Store:
    """A handle on a store directory. Cheap to create; reads lazily."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: str | Path) -> Store:
        store = cls(path)
        if not (store.root / MARKER).is_file():
            raise StoreError(
                f"{store.root} is not a curate store (no {MARKER}); "
                f"create one with `curate ingest INPUT... --store {store.root}`"
            )
        meta = files.read_json(store.root / MARKER)
        if meta.get("format") != STORE_FORMAT:
            raise StoreError(
                f"{store.root} has store format {meta.get('format')}, this curate reads format "
                f"{STORE_FORMAT}; re-ingest into a new store"
            )
        return store

    @classmethod
    def create(cls, path: str | Path) -> Store:
        """Open the store at ``path``, creating it if the directory is new or empty."""
        import errno

        store = cls(path)
        if (store.root / MARKER).is_file():
            return cls.open(path)
        try:
            if store.root.exists() and not store.root.is_dir():
                raise StoreError(
                    f"{store.root} exists and is not a directory; choose another --store"
                )
            if store.root.is_dir() and any(store.root.iterdir()):
                raise StoreError(
                    f"{store.root} is not empty and is not a curate store; "
                    "choose a new or empty directory for --store"
                )
            store.root.mkdir(parents=True, exist_ok=True)
            files.write_json_atomic(
                store.root / MARKER, {"format": STORE_FORMAT, "created": now_iso()}
            )
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise  # the CLI says: free space, run again
            why = {
                errno.EACCES: "permission denied",
                errno.EPERM: "permission denied",
                errno.EROFS: "the file system is read-only",
                errno.ENOTDIR: "a part of the path is a file, not a folder",
                errno.EEXIST: "a part of the path is a file, not a folder",
            }.get(exc.errno, exc.strerror or str(exc))
            where = f" ({exc.filename})" if exc.filename and str(exc.filename) != str(path) else ""
            raise StoreError(
                f"cannot create the store {store.root}: {why}{where}; "
                "choose a --store on a writable disk where you may create folders"
            ) from None
        return store

    def lock(self):
        """Context manager: exclusive write access to the store."""
        return files.exclusive_lock(self.root / ".lock")

    @contextlib.contextmanager
    def read_lock(self) -> Iterator[None]:
        """Hold the store's lock while a sink reads it, so that no stage rewrites it meanwhile.

        A store on a read-only file system cannot take the lock, and cannot change
        either: it is read without one.
        """
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.lock())
            except OSError as exc:
                if exc.errno != errno.EROFS:
                    raise
            yield

    # ------------------------------------------------------------------ paths
    @property
    def base_dir(self) -> Path:
        return self.root / "base"

    @property
    def rejects_dir(self) -> Path:
        return self.root / "rejects"

    @property
    def duplicates_dir(self) -> Path:
        return self.root / "duplicates"

    @property
    def sidecars_dir(self) -> Path:
        return self.root / "sidecars"

    @property
    def manifests_dir(self) -> Path:
        return self.root / "manifests"

    def journal(self, stage: str) -> files.Journal:
        return files.Journal(self.root / "journal" / f"{stage}.jsonl")

    def sidecar_dir(self, name: str) -> Path:
        if not SIDECAR_NAME_RE.match(name):
            raise StoreError(
                f"invalid sidecar name {name!r}: use lowercase letters, digits, '.', '_' or '-'"
            )
        return self.sidecars_dir / name

    # ------------------------------------------------------------------ manifests
    def manifest(self, name: str) -> dict[str, Any] | None:
        path = self.manifests_dir / f"{name}.json"
        return files.read_json(path) if path.is_file() else None

    def manifests(self) -> dict[str, dict[str, Any]]:
        if not self.manifests_dir.is_dir():
            return {}
        return {p.stem: files.read_json(p) for p in sorted(self.manifests_dir.glob("*.json"))}

    def write_manifest(self, name: str, data: dict[str, Any]) -> None:
        files.write_json_atomic(self.manifests_dir / f"{name}.json", data)

    def remove_manifest(self, name: str) -> None:
        (self.manifests_dir / f"{name}.json").unlink(missing_ok=True)

    # ------------------------------------------------------------------ base table
    def base_shards(self) -> list[Path]:
        return list_shards(self.base_dir)

    @property
    def num_shards(self) -> int:
        return len(self.base_shards())

    def base_manifest(self) -> dict[str, Any] | None:
        """The manifest of the stage that wrote the base table (ingest, generate), or None."""
        for name in SOURCE_STAGES:
            manifest = self.manifest(name)
            if manifest is not None:
                return manifest
        return None

    def require_base(self) -> None:
        manifest = self.base_manifest()
        if manifest is None or manifest.get("status") != "complete":
            raise StoreError(
                f"{self.root} has no complete base table; run (or finish) "
                f"`curate ingest INPUT... --store {self.root}` first"
            )

    def num_rows(self) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in self.base_shards())

    def shard_rows(self, index: int) -> int:
        """Rows of base shard ``index``, from the Parquet footer (no data read)."""
        return pq.ParquetFile(self.base_dir / shard_name(index)).metadata.num_rows

    def read_shard(
        self, index: int, columns: Sequence[str] | None = None, sidecars: Sequence[str] = ()
    ) -> pa.Table:
        """One base shard, with the columns of the named sidecars appended (aligned by id)."""
        base_cols = None if columns is None else list(dict.fromkeys(["id", *columns]))
        path = self.base_dir / shard_name(index)
        derive = (base_cols is None or "prompt_id" in base_cols) and (
            "prompt_id" not in pq.ParquetFile(path).schema_arrow.names
        )
        if derive:  # a store ingested before prompt_id existed: computed from messages
            wanted = base_cols
            read = None if wanted is None else [c for c in wanted if c != "prompt_id"]
            if read is not None and "messages" not in read:
                read.append("messages")
            table = pq.read_table(path, columns=read)
            table = table.add_column(1, "prompt_id", prompt_ids_of(table.column("messages")))
            if wanted is not None:
                table = table.select(wanted)
        else:
            table = pq.read_table(path, columns=base_cols)
        for name in sidecars:
            table = _append_aligned(table, self._read_sidecar_shard(name, index), name)
        if columns is not None and "id" not in columns:
            table = table.drop_columns(["id"])
        return table

    def iter_shards(
        self, columns: Sequence[str] | None = None, sidecars: Sequence[str] = ()
    ) -> Iterator[pa.Table]:
        """Stream the base table shard by shard (bounded memory)."""
        for path in self.base_shards():
            yield self.read_shard(int(SHARD_RE.match(path.name).group(1)), columns, sidecars)

    def read(self, columns: Sequence[str] | None = None, sidecars: Sequence[str] = ()) -> pa.Table:
        """The whole base table (or some columns), joined with sidecars by id."""
        tables = list(self.iter_shards(columns, sidecars))
        if not tables:
            empty = schema.BASE.empty_table()
            return empty if columns is None else empty.select(list(columns))
        return pa.concat_tables(tables)

    def rejects(self, columns: Sequence[str] | None = None) -> pa.Table:
        return read_parquet_dir(self.rejects_dir, columns, schema.REJECTS)

    def duplicates(self, columns: Sequence[str] | None = None) -> pa.Table:
        return read_parquet_dir(self.duplicates_dir, columns, schema.DUPLICATES)

    # ------------------------------------------------------------------ sidecars
    def sidecars(self) -> list[str]:
        if not self.sidecars_dir.is_dir():
            return []
        return sorted(p.name for p in self.sidecars_dir.iterdir() if p.is_dir())

    def _read_sidecar_shard(self, name: str, index: int) -> pa.Table:
        path = self.sidecar_dir(name) / shard_name(index)
        if not path.is_file():
            manifest = self.manifest(f"sidecar.{name}")
            status = manifest.get("status") if manifest else "missing"
            raise StoreError(
                f"sidecar {name!r} has no shard {index} (status: {status}); "
                "finish the stage that writes it before reading it"
            )
        return pq.read_table(path)

    def read_sidecar(self, name: str, columns: Sequence[str] | None = None) -> pa.Table:
        """A sidecar table on its own (all of its shards), or some of its columns."""
        return read_parquet_dir(self.sidecar_dir(name), columns, pa.schema([("id", pa.string())]))

    # ------------------------------------------------------------------ maintenance
    def clear(self, keep_marker: bool = True) -> None:
        """Delete every table, sidecar, journal and manifest (used by ``--overwrite``)."""
        for child in self.root.iterdir():
            if child.name in (MARKER, ".lock") and keep_marker:
                continue
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()


def _append_aligned(table: pa.Table, side: pa.Table, name: str) -> pa.Table:
    """Append a sidecar shard's columns to a base shard; both must list the same ids."""
    if side.num_rows != table.num_rows or not side.column("id").equals(table.column("id")):
        # Not aligned (written by an external tool, say): fall back to a join by id.
        return join_by_id(table, side, name)
    for field in side.schema:
        if field.name == "id":
            continue
        if field.name in table.column_names:
            raise StoreError(
                f"sidecar {name!r} column {field.name!r} clashes with a column already read; "
                "read the two tables separately"
            )
        table = table.append_column(field, side.column(field.name))
    return table


def join_by_id(left: pa.Table, right: pa.Table, name: str = "right") -> pa.Table:
    """Left join on ``id`` that keeps the left table's row order."""
    clash = (set(left.column_names) & set(right.column_names)) - {"id"}
    if clash:
        raise StoreError(
            f"table {name!r} has columns {sorted(clash)} that clash with columns already read"
        )
    order = "__curate_row"
    joined = left.append_column(order, pa.array(range(left.num_rows), pa.int64())).join(
        right, keys="id", join_type="left outer", use_threads=False
    )
    return joined.sort_by(order).drop_columns([order])
