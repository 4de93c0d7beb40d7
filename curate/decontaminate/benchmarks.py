"""Benchmark files, read by ``curate ingest`` itself, as items and the segments to match.

Each file given to ``--against`` (files, directories and globs, as ``curate ingest``
takes them) is ingested on its own into a small store of its own under
``STORE/benchmarks/``, so every layout ingest reads is a benchmark layout too (FastChat
question and answer files, arena questions, Alpaca-style, plain JSONL prompts,
SQuAD-style, ...), with the same rejects and the same join of answer files with the
question file beside them. Files are ingested one by one because a question file is
a benchmark of its own: ingested together with its reference answers, ingest would
count its questions as joined and the questions without a reference would be lost.
The stores are a cache: reused while the file is unchanged, rebuilt when it changes.

An **item** is one benchmark row: its id is the record's own (``question_id``,
``qa_id``, ``id`` ...) or else its index in the file. Its **segments** are its turns,
each on its own: the prompt turns and the reference answers (assistant turns), which
count alike. A pool row that holds any one segment of an item is contaminated by it.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from curate.decontaminate.tokens import message_texts
from curate.errors import InputError, StageConflict
from curate.store import Store
from curate.store.manifest import fingerprint

CACHE_DIR = "benchmarks"
#: fields of a benchmark record that name its item, first found wins
ID_KEYS = ("question_id", "qa_id", "id", "uid", "qid", "task_id", "problem_id", "idx", "index")


@dataclass
class BenchmarkFile:
    """One ``--against`` file and its ingested store."""

    file: str  # as the user named it
    store: Store
    read: int
    items: int
    rejected: dict[str, int]


@dataclass
class Benchmarks:
    """Every item of every benchmark file, and their segments (one per non-system turn)."""

    files: list[BenchmarkFile]
    item_file: np.ndarray  # int64: index into files
    item_id: np.ndarray  # object (str)
    item_lang: np.ndarray  # object (str)
    segment_texts: pa.Array
    segment_item: np.ndarray  # int64
    segment_part: np.ndarray  # int8: 0 prompt, 1 reference

    @property
    def n_items(self) -> int:
        return len(self.item_id)

    def identity(self) -> list[dict[str, Any]]:
        """What the stage's fingerprint records of each file: its name and its content."""
        return [
            {"file": f.file, "items": f.items, "content": content_hash(f.store)} for f in self.files
        ]


def content_hash(store: Store) -> str:
    """A fingerprint of a benchmark store's rows (ids are content hashes) and item ids."""
    table = store.read(columns=["id", "meta"])
    return fingerprint(
        {"ids": table.column("id").to_pylist(), "meta": table.column("meta").to_pylist()}
    )


def cache_path(root: Path, path: Path) -> Path:
    real = os.path.realpath(path)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(real).name)[:60]
    return root / CACHE_DIR / f"{stem}-{hashlib.sha256(real.encode()).hexdigest()[:12]}"


def ingest_benchmark(path: Path, display: str, root: Path) -> BenchmarkFile:
    """Ingest one benchmark file into its cache store (reused when unchanged)."""
    from curate.ingest.pipeline import IngestOptions, Ingestor

    target = cache_path(root, path)
    try:
        result = Ingestor([str(path)], target, IngestOptions(), workers=0).run()
    except StageConflict:  # the file changed since: this cache is ours to rebuild
        result = Ingestor([str(path)], target, IngestOptions(), overwrite=True, workers=0).run()
    totals = result.totals
    return BenchmarkFile(
        display, Store.open(target), totals.read, totals.ingested, dict(totals.rejected)
    )


def read_benchmarks(against: list[str], root: Path) -> Benchmarks:
    """Ingest every ``--against`` input (one red line when there is none) and list its items."""
    from curate.ingest.inputs import discover

    if not against:
        raise InputError("give the benchmark files to check against: --against FILE (repeatable)")
    found, _skipped = discover(list(against))
    if not found:
        raise InputError(f"no benchmark files in {', '.join(against)}")
    files = [ingest_benchmark(f.path, f.display, root) for f in found]
    empty = [f.file for f in files if f.items == 0]
    if len(empty) == len(files):
        raise InputError(
            f"no benchmark item could be read from {', '.join(empty)}; "
            "check them with `curate ingest FILE --store DIR`"
        )
    item_file, item_id, item_lang, texts, seg_item, seg_part = [], [], [], [], [], []
    offset = 0
    for k, f in enumerate(files):
        if f.items == 0:
            continue
        table = f.store.read(columns=["messages", "meta", "source", "lang"])
        n = table.num_rows
        item_file.append(np.full(n, k, dtype=np.int64))
        item_id.append(np.array(_item_ids(table), dtype=object))
        item_lang.append(table.column("lang").to_numpy(zero_copy_only=False).astype(object))
        contents, rows, _, answers = message_texts(table.column("messages"))
        texts.append(contents)
        seg_item.append(rows + offset)
        seg_part.append(answers.astype(np.int8))
        offset += n
    return Benchmarks(
        files,
        np.concatenate(item_file),
        np.concatenate(item_id),
        np.concatenate(item_lang),
        pa.concat_arrays(texts),
        np.concatenate(seg_item),
        np.concatenate(seg_part),
    )


def _item_ids(table: pa.Table) -> list[str]:
    """Each row's item id: the record's own id field, else its index in the file."""
    out = []
    for meta, source in zip(table.column("meta").to_pylist(), table.column("source").to_pylist()):
        fields = orjson.loads(meta) if meta else {}
        own = next((fields[k] for k in ID_KEYS if fields.get(k) not in (None, "")), None)
        out.append(str(own) if own is not None else f"#{source['index']}")
    return out
