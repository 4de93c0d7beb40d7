"""Stream records out of input files, turning every syntax error into an item.

A reader yields :class:`Item` tuples ``(index, line, value, error, raw)``: either a
parsed JSON value, or a parse error with its 1-based line and column and the raw
bytes it could not read. Nothing is dropped, so ingest can account for every
record, and nothing larger than one record (or one read block) sits in memory.

Supported layouts, sniffed from the content rather than the file name:

* JSON Lines (also when saved as ``.json``): one value per line, split on ``\\n``
  only, so a raw U+2028 inside a string is not a line break; ``\\r\\n`` is fine.
* A JSON array, read in blocks: each block is parsed by orjson in one call, cut
  at a ``},`` boundary; a block that fails is re-split element by element so that
  one broken element (or a trailing comma) costs one reject, not the file.
* A single JSON document: a SQuAD-style ``{"data": [{"paragraphs": ...}]}`` yields
  one record per question; a wrapper such as ``{"data": [...]}`` yields its list;
  any other object is one record.
* Parquet (row batches), and any of the JSON layouts gzip-compressed.
"""

from __future__ import annotations

import gzip
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

BLOCK = 8 << 20
SNIFF_BYTES = 1 << 16
UTF8_BOM = b"\xef\xbb\xbf"


class Item(NamedTuple):
    index: int  # 0-based ordinal of the item in its file
    line: int | None  # 1-based line where it starts, when known
    value: Any  # parsed JSON value; None when error is set
    error: str | None  # parse error, with line and column
    raw: bytes | None  # the bytes that failed to parse
    column: int | None = None  # 1-based column of the parse error


def error_item(index: int, line: int | None, column: int | None, message: str, raw: bytes) -> Item:
    where = f"line {line}, column {column}: " if line is not None else ""
    return Item(index, line, None, f"{where}{message}", raw, column)


def _position(exc: orjson.JSONDecodeError) -> tuple[int, int, str]:
    return exc.lineno, exc.colno, exc.msg


class Reader:
    """Base class: iterate ``Item``s and report how many input bytes were consumed."""

    layout = "unknown"

    def __init__(self, path: Path):
        self.path = path
        self._raw = open(path, "rb")  # noqa: SIM115 - closed in close()
        self.size = path.stat().st_size
        self.stream: io.BufferedIOBase = self._raw
        if self._raw.read(2) == b"\x1f\x8b":
            self._raw.seek(0)
            self.stream = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
        else:
            self._raw.seek(0)

    @property
    def bytes_done(self) -> int:
        """Compressed bytes consumed so far (for progress bars)."""
        try:
            return self._raw.tell()
        except ValueError:
            return self.size

    def close(self) -> None:
        self.stream.close()
        self._raw.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Item]:
        raise NotImplementedError

    def records(self) -> Iterator[Item]:
        """The items, with a failure mid-file (a truncated gzip stream, a corrupt Parquet
        page, a disk error) turned into one last error item instead of an exception."""
        next_index = 0
        try:
            for item in self:
                next_index = item.index + 1
                yield item
        except Exception as exc:  # noqa: BLE001 - any read failure is recorded, not raised
            message = f"read error after {next_index} records: {type(exc).__name__}: {exc}"
            yield error_item(next_index, None, None, message, b"")


class JsonLinesReader(Reader):
    layout = "jsonl"

    def __iter__(self) -> Iterator[Item]:
        loads = orjson.loads
        index = 0
        for lineno, line in enumerate(self.stream, start=1):
            stripped = line.strip()
            if not stripped:
                continue
            if lineno == 1 and stripped.startswith(UTF8_BOM):
                stripped = stripped[len(UTF8_BOM) :]
            try:
                yield Item(index, lineno, loads(stripped), None, None)
            except orjson.JSONDecodeError as exc:
                _, col, msg = _position(exc)
                yield error_item(index, lineno, col, msg, line.rstrip(b"\r\n"))
            index += 1


# A candidate cut between two object elements of an array: "}" then "," (whitespace allowed).
_OBJECT_SEPARATOR = re.compile(rb"\}[ \t\r\n]*,")
# Tokens of the exact splitter: a whole string, a lone quote (string not terminated
# in the buffer), or a structural character.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|"|[\[\]{},]')
_WS = b" \t\r\n"


MAX_ELEMENT = 256 << 20  # past this, an element is split the slow way


def _last_separator(buf: bytes, start: int) -> re.Match | None:
    cut = None
    for cut in _OBJECT_SEPARATOR.finditer(buf, start):  # noqa: B007 - we want the last one
        pass
    return cut


class JsonArrayReader(Reader):
    """A top-level JSON array, streamed block by block."""

    layout = "json-array"

    def __iter__(self) -> Iterator[Item]:
        head = self.stream.read(BLOCK)
        if head.startswith(UTF8_BOM):
            head = head[len(UTF8_BOM) :]
        start = len(head) - len(head.lstrip(_WS))
        assert head[start : start + 1] == b"[", "sniffed as array"
        self._buf = head
        self._pos = start + 1  # just after "["
        self._eof = len(head) < BLOCK
        self._consumed_newlines = 0  # newlines in bytes dropped from the front of _buf
        self._index = 0
        yield from self._fast()

    # -- buffer management -------------------------------------------------------
    def _refill(self) -> bool:
        """Drop consumed bytes and read one more block. False at end of file."""
        if self._eof:
            return False
        self._consumed_newlines += self._buf.count(b"\n", 0, self._pos)
        more = self.stream.read(BLOCK)
        self._buf = self._buf[self._pos :] + more
        self._pos = 0
        if len(more) < BLOCK:
            self._eof = True
        return bool(more)

    def _line_col(self, offset: int) -> tuple[int, int]:
        line = 1 + self._consumed_newlines + self._buf.count(b"\n", 0, offset)
        col = offset - self._buf.rfind(b"\n", 0, offset)
        return line, col

    # -- fast path: one orjson call per block --------------------------------------
    def _fast(self) -> Iterator[Item]:
        while True:
            cut = None
            if not self._eof:
                # The last separator, looked for near the end of the buffer first.
                cut = _last_separator(self._buf, max(self._pos, len(self._buf) - (1 << 20)))
                cut = cut or _last_separator(self._buf, self._pos)
                if cut is None and len(self._buf) - self._pos < MAX_ELEMENT and self._refill():
                    continue  # one element longer than the buffer: read on
            last = self._eof and cut is None  # the rest of the file, up to "]"
            if cut is None and not last:
                yield from self._exact()
                return
            body = (
                self._buf[self._pos :].rstrip(_WS)
                if last
                else self._buf[self._pos : cut.start() + 1] + b"]"
            )
            if body == b"]":
                return
            try:
                values = orjson.loads(b"[" + body)
            except orjson.JSONDecodeError:
                yield from self._exact()  # re-split this block element by element
                return
            for value in values:
                yield Item(self._index, None, value, None, None)
                self._index += 1
            if last:
                return
            self._pos = cut.end()
            self._refill()

    # -- exact path: element by element, for blocks that did not parse ------------
    def _exact(self) -> Iterator[Item]:
        depth = 1  # inside the top-level array
        elem_start = scan = self._pos
        while True:
            m = _TOKEN.search(self._buf, scan)
            if m is None or m.group() == b'"':
                # Out of tokens, or a string that runs past the end of the buffer:
                # keep the current element, read more, and rescan from where we stopped.
                resume = m.start() if m is not None else len(self._buf)
                self._pos = elem_start
                if self._refill():
                    scan, elem_start = resume - elem_start, 0
                    continue
                rest = self._buf[elem_start:]
                if rest.strip(_WS):
                    line, col = self._line_col(elem_start + len(rest) - len(rest.lstrip(_WS)))
                    what = "unterminated string" if m is not None else "unexpected end of file"
                    yield error_item(
                        self._index, line, col, f"{what}: the JSON array is not closed", rest
                    )
                    self._index += 1
                return
            tok = m.group()[:1]
            scan = m.end()
            if tok == b'"':
                continue
            if tok in b"[{":
                depth += 1
            elif tok in b"]}":
                depth -= 1
                if depth == 0:  # the top-level array closes here
                    yield from self._element(elem_start, m.start(), closing=True)
                    yield from self._trailing(m.end())
                    return
            elif depth == 1:  # a comma between two elements
                yield from self._element(elem_start, m.start(), closing=False)
                elem_start = self._pos = m.end()

    def _trailing(self, offset: int) -> Iterator[Item]:
        """Anything but whitespace after the closing bracket is one error item."""
        self._pos = offset
        trailing = self._buf[self._pos :].strip(_WS)
        while not trailing and self._refill():
            trailing = self._buf[self._pos :].strip(_WS)
        if trailing:
            start = (
                self._pos + len(self._buf[self._pos :]) - len(self._buf[self._pos :].lstrip(_WS))
            )
            line, col = self._line_col(start)
            yield error_item(
                self._index, line, col, "unexpected data after the JSON array", trailing
            )
            self._index += 1

    def _element(self, begin: int, end: int, closing: bool) -> Iterator[Item]:
        raw = self._buf[begin:end]
        body = raw.strip(_WS)
        lead = len(raw) - len(raw.lstrip(_WS))
        if not body:
            if closing and self._index == 0:
                return  # empty array "[]"
            line, col = self._line_col(begin + lead)
            what = "trailing comma before ']'" if closing else "empty element between commas"
            yield error_item(self._index, line, col, what, self._buf[max(begin - 1, 0) : end + 1])
            self._index += 1
            return
        try:
            value = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            line0, col0 = self._line_col(begin + lead)
            eline, ecol, msg = _position(exc)
            line = line0 + eline - 1
            col = ecol if eline > 1 else col0 + ecol - 1
            yield error_item(self._index, line, col, msg, body)
        else:
            yield Item(self._index, None, value, None, None)
        self._index += 1


class JsonDocumentReader(Reader):
    """A file holding one JSON value that is not an array (read whole)."""

    layout = "json-document"

    def __iter__(self) -> Iterator[Item]:
        data = self.stream.read()
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            line, col, msg = _position(exc)
            yield error_item(0, line, col, msg, data)
            return
        yield from (Item(i, None, v, None, None) for i, v in enumerate(unwrap_document(value)))


# Keys under which dataset files commonly wrap their list of records.
WRAPPER_KEYS = (
    "data",
    "train",
    "validation",
    "test",
    "examples",
    "items",
    "records",
    "rows",
    "dataset",
)


def unwrap_document(value: Any) -> list[Any]:
    """The records inside a single-document JSON file.

    SQuAD-style files become one record per question; ``{"data": [...]}`` and the
    other WRAPPER_KEYS yield their list; any other object is a single record.
    """
    if isinstance(value, dict):
        data = value.get("data")
        if (
            isinstance(data, list)
            and data
            and isinstance(data[0], dict)
            and "paragraphs" in data[0]
        ):
            return list(_squad_questions(data))
        wrapped = [k for k in WRAPPER_KEYS if isinstance(value.get(k), list)]
        if len(wrapped) == 1:
            return value[wrapped[0]]
    return [value]


def _squad_questions(data: list[dict]) -> Iterator[dict]:
    """Flatten SQuAD / DRCD ``data[].paragraphs[].qas[]`` into one record per question."""
    for article in data:
        for paragraph in article.get("paragraphs", ()):
            for qa in paragraph.get("qas", ()):
                yield {
                    "title": article.get("title"),
                    "context": paragraph.get("context"),
                    "question": qa.get("question"),
                    "answers": qa.get("answers"),
                    "qa_id": qa.get("id"),
                    **({"is_impossible": qa["is_impossible"]} if "is_impossible" in qa else {}),
                }


class ParquetReader(Reader):
    layout = "parquet"

    def __init__(self, path: Path):
        super().__init__(path)
        import pyarrow.parquet as pq

        self._file = pq.ParquetFile(self._raw)
        self._done = 0

    @property
    def bytes_done(self) -> int:
        return self._done

    def __iter__(self) -> Iterator[Item]:
        index = 0
        meta = self._file.metadata
        total_rows = max(meta.num_rows, 1)
        for batch in self._file.iter_batches(batch_size=4096):
            for row in batch.to_pylist():
                yield Item(index, None, row, None, None)
                index += 1
            self._done = int(self.size * index / total_rows)


class UnreadableReader(Reader):
    """A file that cannot be read as JSON, JSON Lines or Parquet: one error item.

    The item keeps the first 4 KB of the file as it is on disk (or nothing, when
    the file cannot even be opened).
    """

    layout = "unreadable"

    def __init__(self, path: Path, why: str):
        self.path, self.why = path, why
        try:
            self.size = path.stat().st_size
            with open(path, "rb") as fh:
                self.head = fh.read(4096)
        except OSError:
            self.size, self.head = 0, b""

    @property
    def bytes_done(self) -> int:
        return self.size

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Item]:
        yield error_item(0, 1, 1, self.why, self.head)


def open_reader(path: Path) -> Reader:
    """Open ``path`` with the reader its content calls for; never raises for a bad file."""
    try:
        return _sniff(path)
    except Exception as exc:  # noqa: BLE001 - unreadable files are recorded as rejects
        return UnreadableReader(path, f"cannot read the file: {type(exc).__name__}: {exc}")


def _sniff(path: Path) -> Reader:
    with open(path, "rb") as fh:
        magic = fh.read(4)
        if magic == b"PAR1":
            return ParquetReader(path)
        fh.seek(0)
        stream: io.BufferedIOBase = gzip.GzipFile(fileobj=fh) if magic[:2] == b"\x1f\x8b" else fh  # type: ignore[assignment]
        try:
            head = stream.read(SNIFF_BYTES)
        except (OSError, EOFError) as exc:
            return UnreadableReader(path, f"cannot decompress: {exc}")
        if head.startswith(UTF8_BOM):
            head = head[len(UTF8_BOM) :]
        body = head.lstrip(_WS)
        if not body:
            return JsonLinesReader(path)  # empty file: no items
        first = body[:1]
        if first == b"[":
            return JsonArrayReader(path)
        if first == b"{":
            return (
                JsonLinesReader(path)
                if _looks_like_jsonl(body, stream)
                else JsonDocumentReader(path)
            )
        return UnreadableReader(
            path, f"not JSON, JSON Lines or Parquet (starts with {body[:20]!r})"
        )


def _looks_like_jsonl(body: bytes, stream: io.BufferedIOBase) -> bool:
    """JSON Lines when there are 2+ non-empty lines and one of the first 3 parses alone."""
    lines = [ln for ln in body.split(b"\n", 4)[:4] if ln.strip()]
    complete = body.count(b"\n") >= 1
    if not complete:
        # The first line is longer than the sniffed head: look further.
        rest = stream.readline()
        body += rest
        lines = [ln for ln in body.split(b"\n") if ln.strip()]
        following = stream.readline()
        if following.strip():
            lines.append(following)
    if len(lines) < 2:
        return False
    for line in lines[:3]:
        try:
            orjson.loads(line)
            return True
        except orjson.JSONDecodeError:
            continue
    return False
