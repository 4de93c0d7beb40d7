"""Expand ingest inputs (files, directories, globs) into an ordered list of files."""

from __future__ import annotations

import glob
import os
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
    for root, dirs, names in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            path = os.path.normpath(os.path.join(root, name))
            (found if is_data_file(name) else skipped).append(path)
    return found, skipped


def discover(inputs: Sequence[str]) -> tuple[list[InputFile], list[str]]:
    """Files to ingest, in a deterministic order, and the non-data files skipped in directories.

    A file named explicitly is always read (its layout is sniffed from its content);
    directories are walked in sorted order for ``.json``, ``.jsonl``, ``.ndjson`` and
    ``.parquet`` files (also ``.gz``); globs are expanded in sorted order.
    """
    paths: list[str] = []
    skipped: list[str] = []
    for raw in inputs:
        if _GLOB_CHARS & set(raw):
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
        elif os.path.isdir(raw):
            found, skip = _walk(raw)
            paths += found
            skipped += skip
        elif os.path.isfile(raw):
            paths.append(os.path.normpath(raw))
        else:
            raise InputError(f"input not found: {raw!r} (give files, directories or glob patterns)")
    files: list[InputFile] = []
    seen: set[Path] = set()
    for p in paths:
        resolved = Path(p).resolve()
        if resolved in seen:
            continue
        seen.add(resolved)
        st = resolved.stat()
        files.append(InputFile(Path(p), p, st.st_size, st.st_mtime_ns))
    if not files:
        raise InputError(
            f"no data files (.json, .jsonl, .parquet, optionally .gz) in {', '.join(inputs)}"
        )
    return files, skipped
