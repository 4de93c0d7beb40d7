"""Stream records out of input files, turning every syntax error into an item.

A reader yields :class:`Item` tuples ``(index, line, value, error, raw)``: either a
parsed JSON value, or a parse error with its 1-based line and column and the raw
bytes it could not read. Nothing is dropped, so ingest can account for every
record, and nothing larger than one record (or one read block) sits in memory.

Supported layouts, sniffed from the content rather than the file name:

* JSON Lines (also when saved as ``.json``): one value per line, split on ``\\n``
  only, so a raw U+2028 inside a string is not a line break; ``\\r\\n`` is fine.
  Bad lines (a scalar, a Python repr, a cut line) are rejected one by one, also when
  they come first: the layout is sniffed from many lines (:func:`sniff`). Bare ``NaN``
  and ``Infinity`` (not JSON, but written by pandas and Python's json module) are read
  as null, so the record is judged by what it holds.
* A JSON array, read in blocks: each block is parsed by orjson in one call, cut
  at a ``},`` boundary; a block that fails is re-split element by element so that
  one broken element (or a trailing comma) costs one reject, not the file.
* A single JSON document: a SQuAD-style ``{"data": [{"paragraphs": ...}]}`` yields
  one record per question; a wrapper such as ``{"data": [...]}`` yields its list;
  any other object is one record.
* Parquet (row batches, one row group at a time), and any of the JSON layouts
  gzip-compressed. A gzip file cut short keeps its complete records; the cut is one
  ``truncated`` item.
* Text in UTF-8 (with or without a BOM), UTF-16 or UTF-32 (with a BOM, or without
  one when the file starts with ``{``, ``[`` or whitespace): decoded to UTF-8.
* Text that is no JSON at all: every non-empty line is one error item, so the
  reconciliation counts its lines; binary data is one error item.

A file that cannot be opened or read (permission denied, a dangling symbolic link,
a FIFO, a device, a socket) is one ``unreadable`` item; such files are never opened
for reading, so a FIFO never blocks ingest.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import stat
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import orjson

BLOCK = 8 << 20
SNIFF_BYTES = 1 << 16  # read at a time while sniffing
SNIFF_LINES = 64  # lines looked at after the first one
SNIFF_MAX = 1 << 20  # bytes of lines looked at after the first one
SNIFF_LINE = 8 << 20  # a first line longer than this is not read whole while sniffing
UTF8_BOM = codecs.BOM_UTF8
GZIP_MAGIC = b"\x1f\x8b"
CHUNK = 1 << 18  # compressed bytes read at a time
INFLATE_CHUNK = 1 << 20  # most decompressed bytes produced at a time
INFLATE_STEP = 1 << 15  # compressed bytes inflated at a time (a corrupt one is salvaged)

# Reject reasons of the items a reader makes (the rest come from the format adapters).
INVALID_JSON = "invalid_json"  # a line, element or document that does not parse
TRUNCATED = "truncated"  # a compressed stream that ends before its end marker
UNREADABLE = "unreadable"  # cannot be opened or read: permission, dangling link, FIFO, corrupt
TRUNCATED_DETAIL = (
    "truncated: the gzip stream ends before its end marker (the file was cut short, "
    "e.g. by an interrupted download or copy); the complete records before the cut are kept"
)


class Item(NamedTuple):
    index: int  # 0-based ordinal of the item in its file
    line: int | None  # 1-based line where it starts, when known
    value: Any  # parsed JSON value; None when error is set
    error: str | None  # parse error, with line and column
    raw: bytes | None  # the bytes that failed to parse
    column: int | None = None  # 1-based column of the parse error
    reason: str | None = None  # reject reason of an error item (None: invalid_json)


def error_item(
    index: int,
    line: int | None,
    column: int | None,
    message: str,
    raw: bytes,
    reason: str | None = None,
) -> Item:
    where = ""
    if line is not None:
        where = f"line {line}, column {column}: " if column is not None else f"line {line}: "
    return Item(index, line, None, f"{where}{message}", raw, column, reason)


_NONFINITE = re.compile(rb"(?<![\w\"])-?(?:NaN|Infinity)(?![\w\"])")


def loads_nonfinite(data: bytes) -> Any:
    """``data`` parsed with its bare ``NaN``/``Infinity`` tokens (written by pandas and
    Python's json module, not valid JSON) read as null; ``_FAILED`` when it still does not
    parse. Only called after orjson has failed, so valid JSON never pays for it."""
    if not _NONFINITE.search(data):
        return _FAILED
    try:
        return json.loads(data, parse_constant=lambda _: None)
    except ValueError:
        return _FAILED


def _position(exc: orjson.JSONDecodeError) -> tuple[int, int, str]:
    return exc.lineno, exc.colno, exc.msg


# -- opening a file: regular files only, never blocking --------------------------------


class NotRegularFile(OSError):
    """The path is a FIFO, a device, a socket or a directory: it is not read."""


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a directory"),
)


def _check_regular(mode: int, path: Path) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):  # a folder reaches a reader only when it could not be listed
        try:
            os.listdir(path)
        except OSError as exc:
            raise NotRegularFile(f"a folder whose files cannot be listed: {exc}") from None
    kind = next((name for test, name in _KINDS if test(mode)), "an unknown kind of file")
    raise NotRegularFile(f"not a regular file: {kind}; it is not opened: {path}")


def open_binary(path: Path) -> io.BufferedReader:
    """Open a regular file for reading.

    A FIFO, device or socket raises :class:`NotRegularFile` without being opened for
    reading (a FIFO would block until a writer comes, a device may never end); the
    file is opened non-blocking and checked again, so a file swapped for a FIFO in
    between cannot block either.
    """
    _check_regular(os.stat(path).st_mode, path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        _check_regular(os.fstat(fd).st_mode, path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return open(fd, "rb", buffering=1 << 16)  # noqa: SIM115 - the caller closes it
    except BaseException:
        os.close(fd)
        raise


def describe_unreadable(path: Path, exc: BaseException) -> str:
    """A reject's detail for a file that cannot be opened or read."""
    if isinstance(exc, NotRegularFile):
        return str(exc)
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"a symbolic link to a missing file ({path} -> {target})"
    return f"cannot read the file: {type(exc).__name__}: {exc}"


# -- decoding: gzip, and UTF-16/32 to UTF-8 ----------------------------------------------

_TEXT_START = b"{[ \t\r\n"


def detect_encoding(head: bytes) -> tuple[str | None, int]:
    """The codec to recode ``head``'s file with (None: UTF-8) and the length of its BOM.

    A BOM decides; without one, a file that starts with ``{``, ``[`` or whitespace
    encoded in UTF-16 or UTF-32 shows it by its zero bytes (RFC 8259 section 8.1).
    """
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return ("utf-32-le" if head[:1] == b"\xff" else "utf-32-be"), 4
    if head.startswith(UTF8_BOM):
        return None, 3
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return ("utf-16-le" if head[:1] == b"\xff" else "utf-16-be"), 2
    if len(head) >= 4:
        if head[1:4] == b"\0\0\0" and head[0] in _TEXT_START:
            return "utf-32-le", 0
        if head[:3] == b"\0\0\0" and head[3] in _TEXT_START:
            return "utf-32-be", 0
    if len(head) >= 2:
        if head[1] == 0 and head[0] in _TEXT_START:
            return "utf-16-le", 0
        if head[0] == 0 and head[1] in _TEXT_START:
            return "utf-16-be", 0
    return None, 0


class DecodedStream(io.RawIOBase):
    """The bytes of a file, gunzipped when it is gzip and recoded to UTF-8 when it is not.

    Gzip is inflated with :mod:`zlib` (members one after the other, trailing zero
    padding ignored, CRC checked). A stream cut short, or corrupt from some point on,
    gives all the data before that point and then a clean end of file, with
    :attr:`stopped` set to the reject reason and detail, instead of an exception that
    loses the last block read.
    """

    def __init__(self, fh: io.BufferedReader, gzip: bool):
        self._fh = fh
        self._inflate = zlib.decompressobj(31) if gzip else None
        self._input = memoryview(b"")  # compressed bytes read and not yet inflated
        self._decoder: codecs.IncrementalDecoder | None = None
        self._done = False
        self.stopped: tuple[str, str] | None = None  # (reason, detail) of an early end
        head = b""
        while len(head) < 4:
            more = self._inflated()
            if not more:
                break
            head += more
        codec, bom = detect_encoding(head)
        self.encoding = codec or "utf-8"
        head = head[bom:]
        if codec is not None:
            self._decoder = codecs.getincrementaldecoder(codec)("backslashreplace")
            head = self._recode(head, final=False)
        self._out, self._off = head, 0

    def readable(self) -> bool:
        return True

    def _recode(self, data: bytes, final: bool) -> bytes:
        # Undecodable code units become "\\xNN" text: the line holding them fails to parse
        # and is rejected, rather than silently changed.
        return self._decoder.decode(data, final).encode("utf-8", "surrogatepass")  # type: ignore[union-attr]

    def _next_input(self) -> memoryview:
        if not self._input:
            self._input = memoryview(self._fh.read(CHUNK))
        piece, self._input = self._input[:INFLATE_STEP], self._input[INFLATE_STEP:]
        return piece

    def _inflated(self) -> bytes:
        """The next piece of the file's content; b"" at the end (or an early end)."""
        d = self._inflate
        if d is None:
            return self._fh.read(CHUNK)
        if self.stopped is not None:
            return b""
        while True:
            if d.eof:  # a member ended: zero padding, then another member or the end
                rest = (bytes(d.unused_data) + bytes(self._input)).lstrip(b"\0")
                self._input = memoryview(b"")
                while not rest:
                    more = self._fh.read(CHUNK)
                    if not more:
                        return b""
                    rest = more.lstrip(b"\0")
                if len(rest) < 2:
                    rest += self._fh.read(CHUNK)
                if rest[:2] != GZIP_MAGIC:
                    self.stopped = (
                        UNREADABLE,
                        f"data after the end of the gzip stream is not gzip "
                        f"(starts with {rest[:8]!r}); it is ignored",
                    )
                    return b""
                d = self._inflate = zlib.decompressobj(31)
                self._input = memoryview(rest)
            data = d.unconsumed_tail or self._next_input()
            if not data:
                self.stopped = (TRUNCATED, TRUNCATED_DETAIL)
                return d.flush()
            saved = d.copy()
            try:
                out = d.decompress(data, INFLATE_CHUNK)
            except zlib.error as exc:
                return self._salvage(saved, data, exc)
            if out:
                return out

    def _salvage(self, d: Any, data: bytes | memoryview, exc: zlib.error) -> bytes:
        """What inflates of ``data`` before the corruption, in small steps from ``d`` (the
        state before it); then an early end."""
        self.stopped = (UNREADABLE, f"corrupt gzip data: {exc}")
        out = []
        view = memoryview(data)
        for step in (4096, 1):  # coarse steps to near the corruption, then byte by byte
            start = 0
            for start in range(0, len(view), step):
                saved = d.copy()
                try:
                    out.append(d.decompress(view[start : start + step]))
                except zlib.error:
                    d = saved
                    break
            else:
                break
            view = view[start : start + step]
        return b"".join(out)

    def readinto(self, buffer: Any) -> int:
        while self._off >= len(self._out):
            if self._done:
                return 0
            data = self._inflated()
            if not data:
                self._done = True
            self._out = self._recode(data, not data) if self._decoder is not None else data
            self._off = 0
        n = min(len(buffer), len(self._out) - self._off)
        buffer[:n] = self._out[self._off : self._off + n]
        self._off += n
        return n


def _decode(fh: io.BufferedReader) -> tuple[io.BufferedIOBase, DecodedStream | None]:
    """The stream of ``fh``'s UTF-8 content (BOM skipped), and the decoder in between
    (None for a plain UTF-8 file, which is read directly)."""
    magic = fh.peek(4)[:4]
    if magic[:2] == GZIP_MAGIC or detect_encoding(magic)[0] is not None:
        decoded = DecodedStream(fh, gzip=magic[:2] == GZIP_MAGIC)
        return io.BufferedReader(decoded, buffer_size=1 << 16), decoded
    if magic.startswith(UTF8_BOM):
        fh.read(len(UTF8_BOM))
    return fh, None


def open_stream(path: Path) -> tuple[io.BufferedReader, io.BufferedIOBase, DecodedStream | None]:
    """The open file, the stream of its UTF-8 content, and the decoder between them."""
    fh = open_binary(path)
    try:
        return (fh, *_decode(fh))
    except BaseException:
        fh.close()
        raise


class Reader:
    """Base class: iterate ``Item``s and report how many input bytes were consumed."""

    layout = "unknown"

    def __init__(self, path: Path):
        self.path = path
        self._raw, self.stream, self._decoded = open_stream(path)
        self._stop_reported = False
        self.size = os.fstat(self._raw.fileno()).st_size

    @property
    def stopped(self) -> tuple[str, str] | None:
        """(reason, detail) when the (gzip) stream ended early: cut short or corrupt.
        Known once the end of the stream is reached."""
        return None if self._decoded is None else self._decoded.stopped

    def stop_item(self, index: int, line: int | None, column: int | None, raw: bytes) -> Item:
        """The error item for the early end of the stream (with what it cut, if anything)."""
        reason, detail = self.stopped  # type: ignore[misc]
        self._stop_reported = True
        return error_item(
            index, line, column, f"read error after {index} records: {detail}", raw, reason
        )

    @property
    def bytes_done(self) -> int:
        """Compressed bytes consumed so far (for progress bars)."""
        try:
            return self._raw.tell()
        except (ValueError, OSError):
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
        """The items, with a failure mid-file (a corrupt Parquet page, a disk error) turned
        into one last error item instead of an exception, and the early end of a gzip
        stream (cut short: ``truncated``; corrupt: ``unreadable``) into one last item
        when the reader did not already report it with the record it cut."""
        next_index = 0
        try:
            for item in self:
                next_index = item.index + 1
                yield item
        except Exception as exc:  # noqa: BLE001 - any read failure is recorded, not raised
            message = f"read error after {next_index} records: {type(exc).__name__}: {exc}"
            yield error_item(next_index, None, None, message, b"", UNREADABLE)
            return
        if self.stopped is not None and not self._stop_reported:
            yield self.stop_item(next_index, None, None, b"")


class JsonLinesReader(Reader):
    layout = "jsonl"

    def __iter__(self) -> Iterator[Item]:
        loads = orjson.loads
        index = 0
        for lineno, line in enumerate(self.stream, start=1):
            if line[-1:] != b"\n" and self.stopped is not None:  # the line the stream cuts
                yield self.stop_item(index, lineno, None, line.rstrip(b"\r"))
                return
            stripped = line.strip()
            if not stripped:
                continue
            try:
                yield Item(index, lineno, loads(stripped), None, None)
            except orjson.JSONDecodeError as exc:
                value = loads_nonfinite(stripped)
                if value is not _FAILED:
                    yield Item(index, lineno, value, None, None)
                else:
                    _, col, msg = _position(exc)
                    yield error_item(index, lineno, col, msg, line.rstrip(b"\r\n"))
            index += 1


class TextReader(JsonLinesReader):
    """Text in which no line is JSON: read as lines, so that each becomes one reject."""

    layout = "unreadable"


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
                    if self.stopped is not None:  # the element the stream cuts
                        yield self.stop_item(self._index, line, col, rest)
                    else:
                        message = f"{what}: the JSON array is not closed"
                        yield error_item(self._index, line, col, message, rest)
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
            value = loads_nonfinite(body)
            if value is not _FAILED:
                yield Item(self._index, None, value, None, None)
                self._index += 1
                return
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
        failure = None
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            value, failure = loads_nonfinite(data), exc
        if value is _FAILED and failure is not None:
            line, col, msg = _position(failure)
            if self.stopped is not None:
                yield self.stop_item(0, None, None, data)
            else:
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
    """Parquet, one row group at a time: a row group that cannot be read makes one
    ``unreadable`` item per row it holds, and the next row group is read."""

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
        for group in range(meta.num_row_groups):
            rows = meta.row_group(group).num_rows
            done = 0
            try:
                for batch in self._file.iter_batches(batch_size=4096, row_groups=[group]):
                    for row in batch.to_pylist():
                        yield Item(index, None, row, None, None)
                        index += 1
                        done += 1
                    self._done = int(self.size * index / total_rows)
            except Exception as exc:  # noqa: BLE001 - a corrupt page costs its rows, not the file
                message = f"cannot read row group {group}: {type(exc).__name__}: {exc}"
                for _ in range(rows - done):
                    yield error_item(index, None, None, message, b"", UNREADABLE)
                    index += 1


class UnreadableReader(Reader):
    """A file that cannot be read, or binary data that is not JSON: one error item.

    Nothing is opened here: ``head`` (the first bytes, when the file could be read at
    all) is what the caller saw.
    """

    layout = "unreadable"

    def __init__(self, path: Path, why: str, reason: str = UNREADABLE, head: bytes = b""):
        self.path, self.why, self.reason, self.head = path, why, reason, head
        self._decoded, self._stop_reported = None, False
        try:
            st = os.stat(path)
            self.size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        except OSError:
            self.size = 0

    @property
    def bytes_done(self) -> int:
        return self.size

    def close(self) -> None:
        pass

    def __iter__(self) -> Iterator[Item]:
        yield error_item(0, None, None, self.why, self.head, self.reason)


def open_reader(path: Path) -> Reader:
    """Open ``path`` with the reader its content calls for; never raises for a bad file."""
    try:
        layout, head = sniff(path)
    except Exception as exc:  # noqa: BLE001 - unreadable files are recorded as rejects
        return UnreadableReader(path, describe_unreadable(path, exc))
    if layout == "binary":
        why = f"binary data, not JSON, JSON Lines or Parquet (starts with {head[:20]!r})"
        return UnreadableReader(path, why, INVALID_JSON, head[:4096])
    try:
        return READERS[layout](path)
    except Exception as exc:  # noqa: BLE001
        return UnreadableReader(path, describe_unreadable(path, exc))


# -- sniffing the layout ---------------------------------------------------------------


class _Sample:
    """Reads for the sniffer: a stream error (a corrupt gzip block) ends the sample, so
    that what came before it is still sniffed (and later read)."""

    def __init__(self, stream: io.BufferedIOBase):
        self.stream, self.eof = stream, False

    def read(self, n: int) -> bytes:
        parts, got = [], 0
        try:
            while got < n and not self.eof:
                chunk = self.stream.read1(n - got)  # type: ignore[attr-defined]
                if not chunk:
                    self.eof = True
                parts.append(chunk)
                got += len(chunk)
        except Exception:  # noqa: BLE001 - the reader meets the error again and records it
            self.eof = True
        return b"".join(parts)


_FAILED = object()


def _parse(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return _FAILED


def _depth_at_end(line: bytes) -> int | None:
    """Bracket depth at the end of ``line``; None when a string runs past its end or a
    bracket closes one that was never opened."""
    depth = 0
    for m in _TOKEN.finditer(line):
        tok = m.group()
        if tok[:1] == b'"':
            if len(tok) == 1:
                return None
        elif tok in (b"[", b"{"):
            depth += 1
        elif tok in (b"]", b"}"):
            depth -= 1
            if depth < 0:
                return None
    return depth


def _record_like(line: bytes) -> bool:
    """A line that is a whole bracketed value, valid or not (``{"a": NaN}``, ``{'a': 1}``).

    In a multi-line array or document, such lines are rare: an element line ends with a
    comma, and only a container's last element stands alone."""
    return line[:1] in (b"{", b"[") and line[-1:] in (b"}", b"]") and _depth_at_end(line) == 0


def sniff(path: Path) -> tuple[str, bytes]:
    """The layout of ``path`` (a key of :data:`READERS`, or ``binary``) and its first bytes.

    Parquet by its magic. Otherwise, in the decoded text: a file of one line is an array
    (``[``), a document (``{``) or JSON Lines. With more lines, JSON Lines when the first
    line is a whole value (valid or not: a multi-line array or document never has one),
    or when at least half of the next lines (up to 64) are; else an array or a document
    by the first character. Text that starts otherwise is JSON Lines when any sampled line
    is JSON, else text (every line a reject) or, with NUL bytes, binary (one reject).
    """
    with open_binary(path) as fh:
        if fh.peek(4)[:4] == b"PAR1":
            return "parquet", b""
        stream, _ = _decode(fh)
        with stream:
            return _sniff_text(_Sample(stream))


def _sniff_text(sample: _Sample) -> tuple[str, bytes]:
    body = sample.read(SNIFF_BYTES).lstrip(_WS)
    while not body and not sample.eof:
        body = sample.read(SNIFF_BYTES).lstrip(_WS)
    if not body:
        return "jsonl", b""  # empty, or whitespace only: no items
    head = body[:4096]
    first = body[:1]
    bracket = first in (b"[", b"{")
    end = body.find(b"\n")
    while end < 0 and not sample.eof:
        if len(body) >= SNIFF_LINE:
            return _long_first_line(sample, first, body), head
        more = sample.read(max(SNIFF_BYTES, len(body)))
        found = more.find(b"\n")
        end = -1 if found < 0 else len(body) + found
        body += more
    line1 = (body if end < 0 else body[:end]).strip(_WS)
    rest = b"" if end < 0 else body[end + 1 :]
    while not rest.strip(_WS) and not sample.eof:  # blank lines between the first and the next
        rest = sample.read(SNIFF_BYTES)
    value = _parse(line1)
    if not rest.strip(_WS):  # a single line
        if bracket:
            return ("json-array" if first == b"[" else "json-document"), head
        if value is not _FAILED:
            return "jsonl", head
        return ("binary" if b"\0" in body else "text"), head
    if value is not _FAILED or (bracket and _depth_at_end(line1) == 0):
        return "jsonl", head
    while rest.count(b"\n") < SNIFF_LINES and len(rest) < SNIFF_MAX and not sample.eof:
        rest += sample.read(SNIFF_BYTES)
    pieces = rest.split(b"\n")
    if not sample.eof:
        pieces = pieces[:-1]  # the last line read may be cut
    others = [p for p in (piece.strip(_WS) for piece in pieces) if p][:SNIFF_LINES]
    if bracket:
        if others and 2 * sum(map(_record_like, others)) >= len(others):
            return "jsonl", head
        return ("json-array" if first == b"[" else "json-document"), head
    if any(_record_like(o) or _parse(o) is not _FAILED for o in others):
        return "jsonl", head
    return ("binary" if b"\0" in line1 or any(b"\0" in o for o in others) else "text"), head


def _long_first_line(sample: _Sample, first: bytes, body: bytes) -> str:
    """The layout when the first line is longer than SNIFF_LINE (not read whole)."""
    if first == b"[":
        return "json-array"  # a minified array: streamed
    if first != b"{" and b"\0" in body[:SNIFF_BYTES]:
        return "binary"
    while True:  # read on to the end of the line, keeping nothing
        chunk = sample.read(SNIFF_BYTES * 16)
        if not chunk:
            return "json-document" if first == b"{" else "text"
        found = chunk.find(b"\n")
        if found >= 0:
            rest = chunk[found + 1 :]
            while not rest.strip(_WS) and not sample.eof:
                rest = sample.read(SNIFF_BYTES)
            if rest.strip(_WS):
                return "jsonl"
            return "json-document" if first == b"{" else "text"


READERS: dict[str, type[Reader]] = {
    "jsonl": JsonLinesReader,
    "json-array": JsonArrayReader,
    "json-document": JsonDocumentReader,
    "parquet": ParquetReader,
    "text": TextReader,
}
