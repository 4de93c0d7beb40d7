"""Turn a batch of read items into Arrow tables (runs in worker processes).

This is the CPU-heavy half of ingest: format conversion, checks, flags, ids and
language detection. It is a pure function of its inputs, so batches can be
converted in any process and in any order; the caller keeps the order, removes
exact duplicates and writes (see :mod:`curate.ingest.pipeline`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from curate import lang
from curate.ingest import formats
from curate.ingest.formats import Converter, FormatContext, RecordError
from curate.ingest.readers import Item
from curate.ingest.records import Prepared, apply_field_map, prepare, raw_text
from curate.store import schema


@dataclass(frozen=True)
class FileSpec:
    """Everything a worker needs to convert records of one file (picklable)."""

    path: str
    display: str
    format: str
    unrecognized_keys: tuple[str, ...] = ()
    field_map: dict[str, str] = field(default_factory=dict)
    role_map: dict[str, str] = field(default_factory=dict)
    questions: str | None = None  # the question file this answer file joins
    questions_error: str | None = None  # why none could be chosen
    joined_by: tuple[str, ...] = ()  # answer files of the run that join this question file
    max_chars: int = 200_000
    split_embedded_turns: bool = False

    def key(self) -> tuple:
        return (
            self.path,
            self.format,
            self.unrecognized_keys,
            tuple(sorted(self.role_map.items())),
            self.questions,
            self.questions_error,
            self.joined_by,
        )


class Converted(NamedTuple):
    base: pa.Table  # every convertible record, exact duplicates included
    rejects: pa.Table


_CONVERTERS: dict[tuple, Converter] = {}


def converter_for(spec: FileSpec) -> Converter:
    """The file's converter, built once per process (FastChat adapters load question files)."""
    key = spec.key()
    conv = _CONVERTERS.get(key)
    if conv is None:
        fmt = (
            formats.Unrecognized(list(spec.unrecognized_keys))
            if spec.format == formats.Unrecognized.name
            else formats.get(spec.format)
        )
        ctx = FormatContext(
            Path(spec.path),
            dict(spec.role_map),
            Path(spec.questions) if spec.questions else None,
            spec.questions_error,
            spec.joined_by,
        )
        conv = _CONVERTERS[key] = fmt.converter(ctx)
    return conv


def convert_items(spec: FileSpec, items: list[Item]) -> Converted:
    convert = converter_for(spec)
    field_map, max_chars, split = spec.field_map, spec.max_chars, spec.split_embedded_turns
    base: list[tuple[Item, Prepared]] = []
    rejects: list[tuple[Item, str, str, str, int]] = []

    def reject(
        item: Item, reason: str, detail: str, value: Any = None, raw: bytes | None = None
    ) -> None:
        text, size = raw_text(value, raw)
        rejects.append((item, reason, detail, text, size))

    for item in items:
        if item.error is not None:
            reject(item, item.reason or "invalid_json", item.error, raw=item.raw or b"")
            continue
        record = apply_field_map(item.value, field_map)
        if not isinstance(record, dict):
            reject(item, "not_an_object", f"a JSON {type(record).__name__}, not an object", record)
            continue
        try:
            base.append((item, prepare(convert(record), max_chars, split)))
        except RecordError as exc:
            reject(item, exc.reason, exc.detail, record)
        except Exception as exc:  # an adapter bug must not stop the run or lose the record
            reject(item, "adapter_error", f"{type(exc).__name__}: {exc}", record)
    return Converted(base_table(spec, base), rejects_table(spec, rejects))


def source_array(file: str, items: list[Item]) -> pa.StructArray:
    n = len(items)
    return pa.StructArray.from_arrays(
        [
            pa.array([file] * n, pa.string()),
            pa.array([it.index for it in items], pa.int64()),
            pa.array([it.line for it in items], pa.int64()),
        ],
        fields=list(schema.SOURCE),
    )


def base_table(spec: FileSpec, base: list[tuple[Item, Prepared]]) -> pa.Table:
    rows = [p for _, p in base]
    n = len(rows)
    if n == 0:
        return schema.BASE.empty_table()
    lang_all, lang_user, lang_assistant, script = lang.detect_conversations(
        [p.user_text for p in rows], [p.assistant_text for p in rows]
    )
    lengths = np.fromiter((len(p.roles) for p in rows), dtype=np.int32, count=n)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    messages = pa.ListArray.from_arrays(
        pa.array(offsets),
        pa.StructArray.from_arrays(
            [
                pa.array([r for p in rows for r in p.roles], pa.string()),
                pa.array([c for p in rows for c in p.contents], pa.string()),
            ],
            fields=list(schema.MESSAGE),
        ),
    )
    columns = {
        "id": pa.array([p.id for p in rows], pa.string()),
        "prompt_id": pa.array([p.prompt_id for p in rows], pa.string()),
        "messages": messages,
        "rejected": pa.array([p.rejected for p in rows], pa.string()),
        "source": source_array(spec.display, [it for it, _ in base]),
        "format": pa.array([spec.format] * n, pa.string()),
        "lang": pa.array(lang_all, pa.string()),
        "lang_user": pa.array(lang_user, pa.string()),
        "lang_assistant": pa.array(lang_assistant, pa.string()),
        "script": pa.array(script, pa.string()),
        "n_messages": pa.array(lengths, pa.int32()),
        "n_turns": pa.array([p.n_turns for p in rows], pa.int32()),
        "n_chars": pa.array([p.n_chars for p in rows], pa.int64()),
        "flags": pa.array([p.flags for p in rows], pa.list_(pa.string())),
        "meta": pa.array([p.meta for p in rows], pa.string()),
    }
    return pa.Table.from_pydict(columns, schema=schema.BASE)


def rejects_table(spec: FileSpec, rejects: list[tuple[Item, str, str, str, int]]) -> pa.Table:
    if not rejects:
        return schema.REJECTS.empty_table()
    items = [r[0] for r in rejects]
    return pa.Table.from_pydict(
        {
            "source": source_array(spec.display, items),
            "column": pa.array([it.column for it in items], pa.int64()),
            "format": pa.array([spec.format] * len(items), pa.string()),
            "reason": pa.array([r[1] for r in rejects], pa.string()),
            "detail": pa.array([r[2] for r in rejects], pa.string()),
            "raw": pa.array([r[3] for r in rejects], pa.string()),
            "raw_bytes": pa.array([r[4] for r in rejects], pa.int64()),
        },
        schema=schema.REJECTS,
    )
