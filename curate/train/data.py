"""What ``curate train`` reads: a selection folder, a pairs folder, or one .jsonl / .parquet file.

* a **selection** (``curate select``): ``subset.parquet`` (``id``, ``messages``, and the
  columns that say why each row was chosen) or ``subset.jsonl`` (``{"id", "messages"}``
  or ShareGPT ``{"id", "conversations"}``);
* **pairs** (``curate pairs``): ``pairs.parquet`` or ``pairs.jsonl`` with ``prompt``
  (messages up to the last user turn), ``chosen`` and ``rejected`` (the assistant's
  reply each), plus metadata columns (scores, margin, origin, ...);
* a single file of either shape, told apart by its columns.

Only the columns the trainer needs are read (``messages``, or ``prompt`` /
``chosen`` / ``rejected``): TRL never sees the metadata, which it would otherwise
try to collate. SFT on pairs trains on prompt + chosen; DPO on a selection is
refused. Rows are checked (roles ``system | user | assistant``, string contents);
an SFT conversation without any assistant turn has nothing to learn and is left
out (counted); no rows at all is refused.

The **fingerprint** is a SHA-256 over the rows as the trainer gets them, in order,
so the same data read from Parquet or from JSONL is the same run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from curate.errors import InputError

SELECTION = "selection"
PAIRS = "pairs"
SELECTION_FILES = ("subset.parquet", "subset.jsonl")
PAIRS_FILES = ("pairs.parquet", "pairs.jsonl")
ROLES = ("system", "user", "assistant")
SHAREGPT_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "bot": "assistant",
    "system": "system",
}


@dataclass
class TrainData:
    """The rows the trainer gets (trainer columns only), and where they came from."""

    kind: str  # the shape of DATA: "selection" or "pairs"
    method: str  # what they are read for: "sft" or "dpo"
    source: Path  # what the user named
    files: list[Path]  # the file read
    rows: list[dict[str, Any]]  # {"messages"} for SFT, {"prompt", "chosen", "rejected"} for DPO
    ids: list[str | None]
    skipped: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""

    def describe(self) -> dict[str, Any]:
        """What a manifest records about the data."""
        return {
            "path": str(self.source),
            "kind": self.kind,
            "files": [{"name": p.name, "bytes": p.stat().st_size} for p in self.files],
            "rows": len(self.rows),
            "skipped": dict(self.skipped),
            "fingerprint": self.fingerprint,
        }


def locate(path: Path) -> tuple[str, Path]:
    """The shape of DATA and the one file to read from it."""
    if path.is_dir():
        report = _report_kind(path)
        for kind, names in ((PAIRS, PAIRS_FILES), (SELECTION, SELECTION_FILES)):
            if report not in (None, kind):
                continue
            for name in names:
                if (path / name).is_file():
                    return kind, path / name
        hint = (
            "; it is a store: run `curate select STORE -o SUBSET` (or `curate pairs`) first"
            if (path / "store.json").is_file()
            else ""
        )
        raise InputError(
            f"{path} is neither a selection folder (subset.parquet or subset.jsonl, written by "
            "`curate select`) nor a pairs folder (pairs.parquet or pairs.jsonl, written by "
            f"`curate pairs`){hint}"
        )
    if not path.exists():
        raise InputError(
            f"training data {path} not found: give a selection or pairs folder or file"
        )
    name = path.name.lower()
    if name.endswith(".parquet"):
        return _parquet_kind(path), path
    if name.endswith((".jsonl", ".ndjson")):
        return _jsonl_kind(path), path
    raise InputError(
        f"{path}: training data is a selection or pairs folder, or one .jsonl or .parquet file"
    )


def _report_kind(folder: Path) -> str | None:
    try:
        report = orjson.loads((folder / "report.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    kind = report.get("kind") if isinstance(report, dict) else None
    return kind if kind in (PAIRS, SELECTION) else None


def _kind_of_columns(names: set[str], path: Path) -> str:
    if {"prompt", "chosen", "rejected"} <= names:
        return PAIRS
    if "messages" in names or "conversations" in names:
        return SELECTION
    raise InputError(
        f"{path} has neither a messages column (SFT conversations) nor prompt, chosen and "
        f"rejected (preference pairs); it has {', '.join(sorted(names)) or 'no columns'}"
    )


def _parquet_kind(path: Path) -> str:
    import pyarrow.parquet as pq

    try:
        names = set(pq.read_schema(path).names)
    except Exception as exc:  # not Parquet, or a damaged file
        raise InputError(f"{path} cannot be read as Parquet: {exc}") from None
    return _kind_of_columns(names, path)


def _jsonl_kind(path: Path) -> str:
    for number, record in _jsonl_records(path):
        if not isinstance(record, dict):
            raise InputError(f"{path}, line {number}: not a JSON object")
        return _kind_of_columns(set(record), path)
    raise InputError(f"{path} holds no rows: nothing to train on")


def _jsonl_records(path: Path):
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{path}, line {number}: invalid JSON ({exc})") from None


def _read_rows(path: Path, columns: list[str]) -> list[dict[str, Any]]:
    """Only ``columns`` (and ``id`` where present) of every row, in file order."""
    if path.name.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        names = set(pq.read_schema(path).names)
        wanted = [c for c in ["id", *columns] if c in names]
        return pq.read_table(path, columns=wanted).to_pylist()
    rows = []
    for number, record in _jsonl_records(path):
        if not isinstance(record, dict):
            raise InputError(f"{path}, line {number}: not a JSON object")
        rows.append({k: record.get(k) for k in ["id", *columns] if k in record})
        rows[-1]["_line"] = number
    return rows


def _messages(value: Any, where: str, sharegpt: bool = False) -> list[dict[str, str]]:
    """A clean ``[{role, content}]`` list, or an :class:`InputError` naming the row."""
    if not isinstance(value, list) or not value:
        raise InputError(f"{where}: expected a non-empty list of messages")
    out = []
    for i, message in enumerate(value):
        if not isinstance(message, dict):
            raise InputError(f"{where}: message {i} is not an object")
        if sharegpt:
            role = SHAREGPT_ROLES.get(str(message.get("from", "")).lower())
            content = message.get("value")
        else:
            role, content = message.get("role"), message.get("content")
        if role not in ROLES:
            raise InputError(
                f"{where}: message {i} has role {role!r}; training takes {', '.join(ROLES)}"
            )
        if not isinstance(content, str):
            raise InputError(f"{where}: message {i} ({role}) has no text content")
        out.append({"role": role, "content": content})
    return out


def _where(path: Path, index: int, row: dict[str, Any]) -> str:
    place = f"line {row['_line']}" if "_line" in row else f"row {index}"
    return f"{path}, {place}" + (f" (id {row['id']})" if row.get("id") else "")


def read_data(path: str | Path, method: str) -> TrainData:
    """The rows of DATA for ``method`` (``sft`` or ``dpo``), checked and fingerprinted."""
    source = Path(path).expanduser()
    kind, file = locate(source)
    if method == "dpo" and kind == SELECTION:
        raise InputError(
            f"--method dpo needs preference pairs (prompt, chosen, rejected), but {source} is a "
            "selection of single conversations: build pairs with `curate pairs` and train on "
            "that folder, or use --method sft"
        )
    skipped: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    ids: list[str | None] = []
    if kind == PAIRS:
        for i, row in enumerate(_read_rows(file, ["prompt", "chosen", "rejected"])):
            where = _where(file, i, row)
            prompt = _messages(row.get("prompt"), f"{where}, prompt")
            chosen = _messages(row.get("chosen"), f"{where}, chosen")
            if prompt[-1]["role"] != "user":
                raise InputError(f"{where}: the prompt must end on a user turn")
            if any(m["role"] != "assistant" for m in chosen):
                raise InputError(f"{where}: chosen must hold assistant messages only")
            if method == "sft":
                rows.append({"messages": prompt + chosen})
            else:
                rejected = _messages(row.get("rejected"), f"{where}, rejected")
                if any(m["role"] != "assistant" for m in rejected):
                    raise InputError(f"{where}: rejected must hold assistant messages only")
                rows.append({"prompt": prompt, "chosen": chosen, "rejected": rejected})
            ids.append(row.get("id"))
    else:
        table = _read_rows(file, ["messages", "conversations"])
        for i, row in enumerate(table):
            where = _where(file, i, row)
            if row.get("messages") is not None:
                messages = _messages(row["messages"], where)
            else:
                messages = _messages(row.get("conversations"), where, sharegpt=True)
            if not any(m["role"] == "assistant" for m in messages):
                skipped["no_assistant"] = skipped.get("no_assistant", 0) + 1
                continue
            rows.append({"messages": messages})
            ids.append(row.get("id"))
    if not rows:
        why = f" ({skipped['no_assistant']} without an assistant turn)" if skipped else ""
        raise InputError(f"{source} holds no rows to train on{why}")
    digest = hashlib.sha256()
    for row in rows:
        digest.update(orjson.dumps(row, option=orjson.OPT_SORT_KEYS) + b"\n")
    return TrainData(kind, method, source, [file], rows, ids, skipped, digest.hexdigest()[:32])
