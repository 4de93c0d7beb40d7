"""Every judge call, kept in the store, so that no call is ever paid for twice.

An LLM judge is the most expensive stage there is (a hosted endpoint bills every
call), so a rerun, a run resumed after a kill, or a later run with a larger top-K
must find the verdicts it already has. A call is known by its **key**: the hash of
the judge's identity (model name and revision or weight hash, as the backend's
``identity()`` says, never a secret), the exact template text, the conversation ids
it shows, in the order it shows them (A/B and B/A are two calls), and the sampling
attempt (a failed parse gets one sampled retry, which is another call).

Layout: ``STORE/judge/calls/<judge>/part-NNNNN.parquet``, one part per finished
chunk of calls, written beside its final name and moved into place whole
(:func:`curate.store.files.atomic_path`). A run killed mid-chunk loses only that
chunk's calls, which were not recorded as done either; a part is never rewritten.
Loading reads every part into a dict by key; a key recorded twice (two runs that
raced before taking the store lock) keeps its first record.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from curate.store import files

#: where a store keeps its judge calls (an entry of the store: never a selection's output)
CALLS_DIR = ("judge", "calls")
_PART = re.compile(r"^part-(\d{5})\.parquet$")

SCHEMA = pa.schema(
    [
        ("key", pa.string()),
        ("ids", pa.list_(pa.string())),  # the conversations shown, in the order shown
        ("attempt", pa.int32()),  # 0: the first call, 1: the sampled retry
        ("raw", pa.string()),  # the judge's whole reply (None: the backend failed)
        ("error", pa.string()),  # the backend's error, when it failed
        ("prompt_tokens", pa.int64()),
        ("completion_tokens", pa.int64()),
        ("logprobs", pa.string()),  # JSON of the rating position's top logprobs, when returned
    ]
)


def call_key(identity: dict[str, Any], template: str, ids: Sequence[str], attempt: int = 0) -> str:
    """The key of one call: BLAKE2b-128 of the canonical JSON of what decides its reply."""
    payload = orjson.dumps(
        {"judge": identity, "template": template, "ids": list(ids), "attempt": int(attempt)},
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.blake2b(payload, digest_size=16).hexdigest()


@dataclass(frozen=True)
class Call:
    """One recorded judge call."""

    key: str
    ids: tuple[str, ...]
    attempt: int
    raw: str | None
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    logprobs: str | None = None


class CallCache:
    """The calls of one judge in one store: what is known, and adding a finished chunk."""

    def __init__(self, root: str | Path, judge: str):
        if not judge or "/" in judge or judge.startswith("."):
            raise ValueError(f"not a judge name for a folder: {judge!r}")
        self.directory = Path(root).joinpath(*CALLS_DIR, judge)
        self._calls: dict[str, Call] | None = None

    def _parts(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if _PART.match(p.name))

    @property
    def calls(self) -> dict[str, Call]:
        """Every recorded call by key (read once, then kept up to date by :meth:`add`)."""
        if self._calls is None:
            # a part a killed run was writing (not one another worker is writing now)
            files.clean_tmp(self.directory, spare_running=True)
            known: dict[str, Call] = {}
            for part in self._parts():
                for row in pq.read_table(part).to_pylist():
                    row["ids"] = tuple(row["ids"])
                    known.setdefault(row["key"], Call(**row))
            self._calls = known
        return self._calls

    def __contains__(self, key: str) -> bool:
        return key in self.calls

    def __len__(self) -> int:
        return len(self.calls)

    def get(self, key: str) -> Call | None:
        return self.calls.get(key)

    def missing(self, keys: Iterable[str]) -> list[str]:
        """The keys not recorded yet, in the order given, each once."""
        known = self.calls
        return [k for k in dict.fromkeys(keys) if k not in known]

    def add(self, calls: Sequence[Call]) -> Path | None:
        """Record a finished chunk of calls as one new part (nothing when empty)."""
        fresh = [c for c in calls if c.key not in self.calls]
        if not fresh:
            return None
        table = pa.Table.from_pylist(
            [{**asdict(c), "ids": list(c.ids)} for c in fresh], schema=SCHEMA
        )
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = files.tmp_path(self.directory / "part.parquet")
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            path = self._link_next(tmp)
            files.fsync_dir(self.directory)
        finally:
            tmp.unlink(missing_ok=True)
        for c in fresh:
            self.calls.setdefault(c.key, c)
        return path

    def _link_next(self, tmp: Path) -> Path:
        """Give the written ``tmp`` the next free part name; never replaces a part.

        A hard link fails when the name exists, so writers in several processes (the
        judge's Ray workers) each get their own part.
        """
        parts = self._parts()
        number = int(_PART.match(parts[-1].name).group(1)) + 1 if parts else 0
        while True:
            path = self.directory / f"part-{number:05d}.parquet"
            try:
                os.link(tmp, path)
                return path
            except FileExistsError:
                number += 1
