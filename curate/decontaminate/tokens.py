"""Text to token hashes for n-gram matching, many texts at once, with no loop over rows.

Two streams of tokens come out of every text:

``cjk``   each Han, kana or hangul character is a token. Chinese is written without
          spaces, so a word tokenizer sees a whole sentence as one "word" and never
          matches a Chinese copy; characters do. Han characters are **folded to one
          script** first (each character through OpenCC's ``tw2s``/``hk2s``/``t2s``
          tables, one character at a time), so a text and its ``s2tw`` or ``tw2s``
          conversion give the same tokens.
``word``  each maximal run of letters, digits and combining marks of any other script
          (Latin, Cyrillic, ...), lowercased, full-width forms folded to ASCII, ``ё``
          to ``е``. Each token also says whether it holds a letter: the index leaves
          out windows that are mostly numbers (``1, 2, 3, ... 10``), which any list of
          numbers shares.

Everything else (spaces, punctuation, symbols, emoji) separates tokens and is dropped,
so a copy with other punctuation, spacing or character width still matches.

Texts arrive as an Arrow string array plus the row each text belongs to (a row's
messages are several texts). The whole batch is decoded at once into one array of code
points; a token never spans two texts, and n-grams never span two rows
(:mod:`curate.decontaminate.ngrams`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate.store.turns import turns_of

LUT_SIZE = 0x30000  # BMP + SIP (CJK extension B); higher code points separate tokens
SEP, WORD, CJK, DIGIT = 0, 1, 2, 3  # DIGIT: a word character that is not a letter
STREAMS = ("cjk", "word")

_HAN_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x20000, 0x2FFFD))
_KANA_HANGUL = ((0x3040, 0x30FF), (0x31F0, 0x31FF), (0x1100, 0x11FF), (0x3130, 0x318F),
                (0xAC00, 0xD7AF))  # fmt: skip
_STREAM_SALT = {"cjk": np.uint64(0x243F6A8885A308D3), "word": np.uint64(0x13198A2E03707344)}
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_POSITION = np.uint64(0x9E3779B97F4A7C15)


def mix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's finalizer, element-wise on uint64 (wraps mod 2**64): random-looking bits."""
    x = np.asarray(x, dtype=np.uint64)
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def _han_fold() -> dict[int, int]:
    """Han code point -> its one-script form (OpenCC's character tables, one char at a time)."""
    import opencc

    chars = [chr(c) for lo, hi in _HAN_RANGES for c in range(lo, hi + 1)]
    joined = "\n".join(chars)
    fold: dict[int, int] = {}
    for config in ("t2s", "hk2s", "tw2s"):  # later tables win: tw2s is what s2tw undoes
        converted = opencc.OpenCC(config).convert(joined).split("\n")
        for src, dst in zip(chars, converted):
            if len(dst) == 1 and dst != src:
                fold[ord(src)] = ord(dst)
    return fold


@lru_cache(maxsize=1)
def tables() -> tuple[np.ndarray, np.ndarray]:
    """(fold, kind): code point -> folded code point, and -> SEP / WORD / CJK / DIGIT."""
    fold = np.arange(LUT_SIZE, dtype=np.uint32)
    kind = np.zeros(LUT_SIZE, dtype=np.uint8)
    for cp in range(0x30, 0x3400):
        ch = chr(cp)
        category = unicodedata.category(ch)[0]
        if category in "LNM":
            kind[cp] = DIGIT if category == "N" else WORD
            low = ch.lower()
            if len(low) == 1:
                fold[cp] = ord(low)
    for cp in range(0xFF10, 0xFF5B):  # full-width digits and Latin letters
        if chr(cp).isalnum():
            kind[cp] = DIGIT if chr(cp).isdigit() else WORD
            fold[cp] = ord(chr(cp - 0xFEE0).lower())
    fold[ord("ё")] = fold[ord("Ё")] = ord("е")
    for lo, hi in _KANA_HANGUL:
        kind[lo : hi + 1] = CJK
    for lo, hi in _HAN_RANGES:
        kind[lo : min(hi, LUT_SIZE - 1) + 1] = CJK
    for src, dst in _han_fold().items():
        if src < LUT_SIZE and dst < LUT_SIZE:
            fold[src] = dst
    for _ in range(4):  # chains (a variant of a variant) end on one form
        fold = fold[fold]
    kind[LUT_SIZE - 1] = SEP  # clipped code points
    return fold, kind


def fold_text(text: str) -> str:
    """The text as the tokenizer sees it (folded script, lowercase): for reports and tests."""
    fold, _ = tables()
    cps = np.minimum(np.frombuffer(text.encode("utf-32-le"), dtype="<u4"), LUT_SIZE - 1)
    return fold[cps].astype("<u4").tobytes().decode("utf-32-le")


@dataclass
class Stream:
    """Tokens of one kind: ``hashes[t]`` and the row ``rows[t]`` it belongs to (non-decreasing).

    ``words[t]``: whether token ``t`` holds a letter (not a number alone); None: all do.
    """

    hashes: np.ndarray  # uint64
    rows: np.ndarray  # int64
    words: np.ndarray | None = None  # bool

    def __len__(self) -> int:
        return len(self.hashes)


@dataclass
class Tokens:
    cjk: Stream
    word: Stream
    n_rows: int

    def stream(self, name: str) -> Stream:
        return getattr(self, name)

    def counts(self, name: str) -> np.ndarray:
        """Tokens of stream ``name`` per row."""
        return np.bincount(self.stream(name).rows, minlength=self.n_rows)


def _strings(texts: pa.Array | pa.ChunkedArray | list[str]) -> pa.Array:
    if isinstance(texts, list):
        texts = pa.array(texts, pa.string())
    if isinstance(texts, pa.ChunkedArray):
        texts = texts.combine_chunks()
    if texts.type != pa.string():
        texts = texts.cast(pa.string())
    texts = pc.fill_null(texts, "")
    return texts if texts.offset == 0 else pa.concat_arrays([texts])


def tokenize(
    texts: pa.Array | pa.ChunkedArray | list[str],
    rows: np.ndarray | None = None,
    n_rows: int | None = None,
) -> Tokens:
    """The two token streams of ``texts``; text ``k`` belongs to row ``rows[k]`` (default k).

    ``rows`` must be non-decreasing (a row's texts are adjacent).
    """
    strings = _strings(texts)
    n_texts = len(strings)
    rows = np.arange(n_texts) if rows is None else np.asarray(rows, dtype=np.int64)
    n_rows = n_texts if n_rows is None else n_rows
    empty = Stream(np.zeros(0, np.uint64), np.zeros(0, np.int64))
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[: n_texts + 1].astype(np.int64)
    if n_texts == 0 or offsets[-1] == 0:
        return Tokens(empty, Stream(empty.hashes, empty.rows), n_rows)
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)[: offsets[-1]]
    # code point index of every text start: count the bytes that start a UTF-8 character
    starts_char = np.zeros(len(data) + 1, dtype=np.int64)
    np.cumsum((data & 0xC0) != 0x80, out=starts_char[1:])
    cp_offsets = starts_char[offsets]
    cps = np.frombuffer(data.tobytes().decode("utf-8").encode("utf-32-le"), dtype="<u4")
    cps = np.minimum(cps, LUT_SIZE - 1)
    fold, kind_table = tables()
    folded = fold[cps].astype(np.uint64)
    kind = kind_table[cps]
    text_of = np.repeat(np.arange(n_texts), np.diff(cp_offsets))
    row_of = rows[text_of]
    text_start = np.zeros(len(cps), dtype=bool)
    text_start[cp_offsets[:-1][np.diff(cp_offsets) > 0]] = True

    at = np.flatnonzero(kind == CJK)
    cjk = Stream(mix64(folded[at] ^ _STREAM_SALT["cjk"]), row_of[at])

    is_word = (kind == WORD) | (kind == DIGIT)
    begins = is_word.copy()
    begins[1:] &= ~is_word[:-1] | text_start[1:]
    chars = np.flatnonzero(is_word)
    if len(chars) == 0:
        return Tokens(cjk, Stream(empty.hashes, empty.rows), n_rows)
    first = np.flatnonzero(begins[chars])  # index into chars of each word's first character
    word_of = np.cumsum(begins[chars]) - 1
    position = (np.arange(len(chars)) - first[word_of]).astype(np.uint64)
    char_hashes = mix64(folded[chars] * _POSITION + position)
    sums = np.add.reduceat(char_hashes, first)
    lengths = np.diff(np.append(first, len(chars))).astype(np.uint64)
    letters = np.add.reduceat((kind[chars] == WORD).astype(np.int64), first) > 0
    word = Stream(
        mix64((sums + lengths * _M1) ^ _STREAM_SALT["word"]), row_of[chars[first]], letters
    )
    return Tokens(cjk, word, n_rows)


def message_texts(
    messages: pa.ChunkedArray | pa.Array,
) -> tuple[pa.Array, np.ndarray, int, np.ndarray]:
    """The non-system turns of a ``messages`` column: (texts, row of each text, rows,
    whether each text is an assistant turn)."""
    turns = turns_of(messages)
    turns = turns.where(~turns.is_role("system"))
    return turns.content, turns.row, turns.rows, turns.is_role("assistant")
