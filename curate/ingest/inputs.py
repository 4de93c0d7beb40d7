"""Expand ingest inputs (files, directories, globs) into an ordered list of files."""

from __future__ import annotations

import glob
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from curate.errors import InputError

DATA_SUFFIXES = (".json", ".jsonl", ".ndjson", ".parquet", ".json.gz", ".jsonl.gz", ".ndjson.gz")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputFile:
    path: Path
    display: str  # the path as the user named it (stored in the tables' source.file)
    size: int
    mtime_ns: int

    def identity(self) -> list:
        return [self.display, self.size, self.mtime_ns]


def is_data_file(name: str) -> bool:
    return name.lower().endswith(DATA_SUFFIXES)


def _walk(directory: str) -> tuple[list[str], list[str]]:
    found, skipped = [], []

    def unlistable(exc: OSError) -> None:  # kept: ingest rejects it as `unreadable`
        if exc.filename is not None:
            found.append(os.path.normpath(exc.filename))

    for root, dirs, names in os.walk(directory, onerror=unlistable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = os.path.normpath(os.path.join(root, name))
            (found if is_data_file(name) else skipped).append(path)
    return found, skipped


def _stat(path: str) -> tuple[int, int]:
    """Size and mtime for the fingerprint; (0, 0) for what is not a readable regular file
    (a dangling link, a FIFO, a device): ingest records it as one ``unreadable`` reject."""
    try:
        st = os.stat(path)
    except OSError:
        try:
            return 0, os.lstat(path).st_mtime_ns
        except OSError:
            return 0, 0
    if not stat.S_ISREG(st.st_mode):
        return 0, 0
    return st.st_size, st.st_mtime_ns


def discover(inputs: Sequence[str]) -> tuple[list[InputFile], list[str]]:
    """Files to ingest, in a deterministic order, and the non-data files skipped in directories.

    A file named explicitly is always read (its layout is sniffed from its content);
    directories are walked in sorted order for ``.json``, ``.jsonl``, ``.ndjson`` and
    ``.parquet`` files (also ``.gz``); globs are expanded in sorted order. A name is a
    glob only when no file of that literal name exists (``data[1].jsonl`` is a file).
    Paths that are not regular files (a FIFO, a device, a dangling link) are kept: they
    become ``unreadable`` rejects, and are never opened for reading.
    """
    paths: list[str] = []
    skipped: list[str] = []
    for raw in inputs:
        if os.path.isdir(raw):
            found, skip = _walk(raw)
            paths += found
            skipped += skip
        elif os.path.lexists(raw):  # a file, or a FIFO, a device, a dangling link
            paths.append(os.path.normpath(raw))
        elif _GLOB_CHARS & set(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                raise InputError(f"no file matches {raw!r}")
            for m in matches:
                if os.path.isdir(m):
                    found, skip = _walk(m)
                    paths += found
                    skipped += skip
                elif is_data_file(m):
                    paths.append(os.path.normpath(m))
                else:
                    skipped.append(os.path.normpath(m))
        else:
            raise InputError(f"input not found: {raw!r} (give files, directories or glob patterns)")
    files: list[InputFile] = []
    seen: set[str] = set()
    for p in paths:
        resolved = os.path.realpath(p)
        if resolved in seen:
            continue
        seen.add(resolved)
        size, mtime_ns = _stat(p)
        files.append(InputFile(Path(p), p, size, mtime_ns))
    if not files:
        raise InputError(
            f"no data files (.json, .jsonl, .parquet, optionally .gz) in {', '.join(inputs)}"
        )
    return files, skipped
