"""Export the base table as JSON Lines in messages or ShareGPT format.

A file is written under a temporary name beside it and renamed when complete (a
failure, a full disk say, leaves neither a partial file nor the temporary one);
``-`` writes to stdout, and an existing FIFO or device is written in place. The
store's lock is held while its table is read.
"""

from __future__ import annotations

import gzip
import os
import re
import stat
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from curate.errors import InputError
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
    """Stream the base table to ``output``; returns the number of rows written.

    ``output`` is a file written under a temporary name and renamed when complete
    (``.gz`` compresses), ``-`` (stdout), or an existing FIFO, device or ``/dev/stdout``,
    which is opened and written as it is. A path inside the store is refused.
    """
    if fmt not in ("messages", "sharegpt"):
        raise InputError(f"--output-format must be `messages` or `sharegpt`, not {fmt!r}")
    target = output_target(store, output)
    with store.read_lock():
        if target == "-":
            return _write(sys.stdout.buffer, store, fmt, langs, exclude_flags, limit, progress)
        if isinstance(target, tuple):  # a stream that exists: written in place
            path, mode = target
            with open(path, mode) as raw:
                fh = gzip.GzipFile(fileobj=raw, mode="wb") if path.suffix == ".gz" else raw
                with fh:
                    return _write(fh, store, fmt, langs, exclude_flags, limit, progress)
        opener = gzip.open if target.suffix == ".gz" else open
        with files.atomic_path(target) as tmp, opener(tmp, "wb") as fh:
            written = _write(fh, store, fmt, langs, exclude_flags, limit, progress)
        return written


# paths that name one of this process's file descriptors: written in place, appended to
_FD_ALIASES = re.compile(r"^/(dev/(stdout|stderr|fd/\d+)|proc/self/fd/\d+)$")


def output_target(store: Store, output: str | Path) -> str | Path | tuple[Path, str]:
    """Where :func:`export_jsonl` writes: ``"-"``, ``(stream path, open mode)``, or a file path.

    Raises :class:`InputError` for a folder, or for a file inside the store (which
    would overwrite the store's own tables).
    """
    if str(output) == "-":
        return "-"
    path = Path(output)
    if _FD_ALIASES.match(os.path.abspath(path)):
        return path, "ab"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise InputError(f"cannot use -o {output}: {exc.strerror}; choose another path") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(f"-o {output} is a folder; name a file, e.g. -o {path / 'export.jsonl'}")
    if mode is not None and not stat.S_ISREG(mode):  # a FIFO, a device, a socket
        return path, "wb"
    real = Path(os.path.realpath(path))  # a symlink stays a link to the new file
    root = Path(os.path.realpath(store.root))
    if real == root or root in real.parents:
        raise InputError(
            f"-o {output} is inside the store {store.root}: export would overwrite the store's "
            "own files; write it outside the store"
        )
    return real


def _write(fh, store, fmt, langs, exclude_flags, limit, progress) -> int:
    written = 0
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
    fh.flush()
    return written
