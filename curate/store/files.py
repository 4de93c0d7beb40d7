"""Crash-safe file primitives: atomic writes, an exclusive store lock, a journal.

A file is either absent or complete: everything is written to a temporary name in
the same directory, flushed, fsynced and renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from curate.errors import StoreError

TMP_MARK = ".tmp-"


def tmp_path(path: Path) -> Path:
    """A temporary sibling of ``path`` that :func:`clean_tmp` recognises."""
    return path.with_name(f"{path.name}{TMP_MARK}{os.getpid()}")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(tmp: Path, final: Path) -> None:
    """Atomically move a finished temporary file into place."""
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    fsync_dir(final.parent)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    tmp.write_bytes(data)
    commit(tmp, path)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def clean_tmp(directory: Path) -> None:
    """Remove temporary files left by a killed run."""
    if directory.is_dir():
        for p in directory.iterdir():
            if TMP_MARK in p.name:
                p.unlink(missing_ok=True)


class Journal:
    """An append-only JSON-lines file of completion records.

    Each line is written with a single ``write`` and fsynced, so after a crash the
    file holds whole records plus at most one torn last line, which is ignored.
    """

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> list[dict]:
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_bytes().split(b"\n"):
            if not line.strip():
                continue
            try:
                records.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                break  # torn final write: everything after it is void
        return records

    def rewrite(self, records: list[dict]) -> None:
        write_bytes_atomic(self.path, b"".join(orjson.dumps(r) + b"\n" for r in records))

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(orjson.dumps(record) + b"\n")
            fh.flush()
            os.fsync(fh.fileno())

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` or fail at once with a clear error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                fh.seek(0)
                owner = fh.read().strip() or "another process"
                raise StoreError(
                    f"store {path.parent} is in use by {owner}; wait for it to finish "
                    "or stop it before starting another run"
                ) from None
            raise
        fh.seek(0)
        fh.truncate()
        fh.write(f"curate pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            fh.seek(0)
            fh.truncate()
        fh.close()
