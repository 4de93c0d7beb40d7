"""Crash-safe file primitives: atomic writes, an exclusive store lock, a journal.

A file is either absent or complete: everything is written to a temporary name in
the same directory, flushed, fsynced and renamed into place.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success move it into place.

    On any failure (a full disk, a kill signal turned into an exception, a bug) the
    temporary file is removed, so a failed write leaves neither a partial ``path``
    nor a ``.tmp-PID`` file behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path(path)
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def write_bytes_atomic(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_bytes_atomic(path, orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def read_json(path: Path) -> Any:
    return orjson.loads(path.read_bytes())


def clean_tmp(directory: Path, spare_running: bool = False) -> None:
    """Remove temporary files left by a killed run.

    ``spare_running``: keep those of processes still running on this machine (a
    directory that several processes write at once, such as the judge's call cache).
    """
    if directory.is_dir():
        for p in directory.iterdir():
            if TMP_MARK in p.name and not (spare_running and _running(p.name)):
                p.unlink(missing_ok=True)


def _running(name: str) -> bool:
    pid = name.rpartition(TMP_MARK)[2]
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return int(pid) != 0


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
        """Replace the journal atomically; a failed write (a full disk) leaves the old
        journal and no temporary file."""
        data = b"".join(orjson.dumps(r) + b"\n" for r in records)
        with atomic_path(self.path) as tmp, open(tmp, "wb") as fh:
            fh.write(data)

    def append(self, record: dict) -> None:
        """Append one record and fsync it. When the write fails (a full disk), what
        reached the file of it is cut off again where possible (a torn line is ignored
        by :meth:`read` anyway)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        data = memoryview(orjson.dumps(record) + b"\n")
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            end = os.lseek(fd, 0, os.SEEK_END)
            try:
                while data:
                    data = data[os.write(fd, data) :]
                os.fsync(fd)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, end)
                raise
        finally:
            os.close(fd)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_lock(
    path: Path, busy: Callable[[str], str] | None = None, remove: bool = False
) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` or fail at once with a clear error.

    ``busy(owner)`` words the error when another process holds it (default: the
    store's). ``remove``: delete the lock file when done (while still holding it);
    a file its holder removed just as we opened it is not taken: the new one is.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fh = open(path, "a+")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            fh.seek(0)
            owner = fh.read().strip() or "another process"
            fh.close()
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                raise StoreError(
                    busy(owner)
                    if busy
                    else f"store {path.parent} is in use by {owner}; wait for it to finish "
                    "or stop it before starting another run"
                ) from None
            raise
        if not remove or _same_file(path, fh):
            break
        fh.close()
    try:
        fh.seek(0)
        fh.truncate()
        fh.write(f"curate pid {os.getpid()}")
        fh.flush()
        yield
    finally:
        with contextlib.suppress(OSError):
            if remove:
                path.unlink()
            else:
                fh.seek(0)
                fh.truncate()
        fh.close()


def _same_file(path: Path, fh: Any) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
    except FileNotFoundError:
        return False
