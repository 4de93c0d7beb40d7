"""An index of the benchmark's n-grams, and the overlap of every pool row with each segment.

**Hashing windows of any length at once.** A token stream ``v`` (64-bit token hashes,
:mod:`curate.decontaminate.tokens`) is summed once into prefix sums of
``v[t] * B**t`` (mod 2**64, B odd). The window of ``k`` tokens starting at ``i`` is then
``(S[i+k] - S[i]) * B**-i``: one subtraction and one product per window, for every
window of the batch in one NumPy expression, and the same sums serve every ``k``.
The length is mixed into the final hash, so windows of different lengths never collide.
A window whose first and last tokens belong to different rows is dropped.

**What is indexed.** Each benchmark *segment* (a prompt turn or a reference answer of
an item) gives its distinct windows of ``n`` tokens per stream (``cjk`` characters,
``word`` tokens). A segment with fewer than ``n`` but at least ``min`` tokens gives its
windows of ``min`` tokens instead; a shorter one gives none (it is left to the
embeddings). A *reference answer* gives windows only when it holds at least ``2 n``
tokens: a shorter one is a span such as a name (富蘭克林德拉諾羅斯福), a date or a stock
phrase ("I'm so hungry I could eat a horse"), which unrelated rows mention. Nor is a
window that is mostly numbers indexed. Keys are sorted, with the segments that hold
each (CSR postings).
Windows that occur in more than ``max_postings`` segments are boilerplate of the
benchmark itself and are left out of the index and of the segments' totals.

**Matching.** The pool's windows of the lengths in use are looked up (a 16 MB bitmap of
the keys' top 24 bits first, so only ~1 in 10 windows reaches the binary search).
The **overlap** of a row with a segment is the share of the segment's windows found in
the row: 1.0 for a verbatim copy, or for an item quoted inside a longer prompt. A match
also shares at least ``min_shared`` windows (all of them, for a segment that has fewer):
half of a six-word prompt's two 5-grams is one phrase such as "what are the benefits
of", which generic prompts share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from curate.decontaminate import MIN_SHARED
from curate.decontaminate.tokens import STREAMS, Stream, Tokens, mix64

_B = 0x9E3779B97F4A7C15 | 1
_B_INV = pow(_B, -1, 1 << 64)
_LENGTH = 0xD6E8FEB86659FD93
FILTER_BITS = 24
REFERENCE_FACTOR = 2  # a reference answer is indexed from 2 n tokens on
_SHIFT = np.uint64(64 - FILTER_BITS)


@dataclass(frozen=True)
class NgramSpec:
    """Window lengths per stream (``cjk`` characters, ``word`` tokens)."""

    word_n: int
    word_min: int
    cjk_n: int
    cjk_min: int
    min_shared: int = MIN_SHARED  # windows a match shares at least (all, if the segment has fewer)
    max_postings: int = 256

    def lengths(self, stream: str) -> tuple[int, int]:
        return (self.cjk_n, self.cjk_min) if stream == "cjk" else (self.word_n, self.word_min)


def _powers(base: int, count: int) -> np.ndarray:
    out = np.empty(count, dtype=np.uint64)
    if count:
        out[0] = 1
        out[1:] = np.uint64(base)
        np.cumprod(out, out=out)
    return out


class Windows:
    """The windows of one token stream, for any window length (see the module docstring)."""

    def __init__(self, stream: Stream):
        self.stream = stream
        t = len(stream)
        self.sums = np.zeros(t + 1, dtype=np.uint64)
        if t:
            np.cumsum(stream.hashes * _powers(_B, t), out=self.sums[1:])
        self.inverse = _powers(_B_INV, t)
        self.words = None  # prefix sums of the tokens that hold a letter
        if stream.words is not None:
            self.words = np.zeros(t + 1, dtype=np.int64)
            np.cumsum(stream.words, out=self.words[1:])

    def of_length(
        self, k: int, rows: np.ndarray | None = None, wordy: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """(hash, row) of every window of ``k`` tokens within one row [of ``rows`` only]
        [``wordy``: only windows whose tokens are at least half words, not numbers]."""
        t = len(self.stream)
        if t < k:
            return np.zeros(0, np.uint64), np.zeros(0, np.int64)
        r = self.stream.rows
        start = np.flatnonzero(r[: t - k + 1] == r[k - 1 :])
        if rows is not None:
            start = start[rows[r[start]]]
        if wordy and self.words is not None:
            start = start[2 * (self.words[start + k] - self.words[start]) >= k]
        h = (self.sums[start + k] - self.sums[start]) * self.inverse[start]
        return mix64(h ^ np.uint64((k * _LENGTH) % (1 << 64))), r[start]


@dataclass
class Overlaps:
    """Row-segment pairs that share windows: ``overlap`` = shared / the segment's windows."""

    rows: np.ndarray  # int64
    segments: np.ndarray  # int64
    overlap: np.ndarray  # float32
    shared: np.ndarray  # int64: the windows shared

    def __len__(self) -> int:
        return len(self.rows)


class NgramIndex:
    """The benchmark segments' windows, sorted, with their segments (see the module docstring)."""

    def __init__(self, tokens: Tokens, spec: NgramSpec, references: np.ndarray | None = None):
        """``references``: per segment, whether it is a reference answer (default none)."""
        self.spec = spec
        n_segments = tokens.n_rows
        pairs_hash, pairs_segment = [], []
        self.passes: list[tuple[str, int]] = []
        per_stream = np.zeros((len(STREAMS), n_segments), dtype=np.int64)
        answer = np.zeros(n_segments, bool) if references is None else np.asarray(references)
        for s, name in enumerate(STREAMS):
            n, least = spec.lengths(name)
            counts = tokens.counts(name)
            windows = Windows(tokens.stream(name))
            full = (counts >= n) & (~answer | (counts >= REFERENCE_FACTOR * n))
            short = (counts >= least) & (counts < n) & ~answer
            for k, wanted in ((n, full), (least, short)):
                if not wanted.any():
                    continue
                h, seg = windows.of_length(k, wanted, wordy=True)
                pairs_hash.append(h)
                pairs_segment.append(seg)
                per_stream[s] += np.bincount(seg, minlength=n_segments)
                self.passes.append((name, k))
        h = np.concatenate(pairs_hash) if pairs_hash else np.zeros(0, np.uint64)
        seg = np.concatenate(pairs_segment) if pairs_segment else np.zeros(0, np.int64)
        order = np.lexsort((seg, h))
        h, seg = h[order], seg[order]
        distinct = np.ones(len(h), dtype=bool)
        distinct[1:] = (h[1:] != h[:-1]) | (seg[1:] != seg[:-1])
        h, seg = h[distinct], seg[distinct]
        keys, first, postings = np.unique(h, return_index=True, return_counts=True)
        common = postings > spec.max_postings
        self.boilerplate = int(common.sum())
        if common.any():
            drop = np.repeat(common, postings)
            h, seg = h[~drop], seg[~drop]
            keys, first, postings = np.unique(h, return_index=True, return_counts=True)
        self.keys = keys
        self.ptr = np.append(first, len(h)).astype(np.int64)
        self.segment_ids = seg
        self.segment_windows = np.bincount(seg, minlength=n_segments).astype(np.int64)
        #: the stream that gave most of each segment's windows (the method a match reports)
        self.segment_stream = np.array(STREAMS, dtype=object)[np.argmax(per_stream, axis=0)]
        self.filter = np.zeros(1 << FILTER_BITS, dtype=bool)
        self.filter[(keys >> _SHIFT).astype(np.int64)] = True

    def __len__(self) -> int:
        return len(self.keys)

    def matchable(self) -> np.ndarray:
        """Segments with at least one indexed window."""
        return self.segment_windows > 0

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in ``hashes`` found in the index, their key numbers)."""
        candidates = np.flatnonzero(self.filter[(hashes >> _SHIFT).astype(np.int64)])
        if len(candidates) == 0 or len(self.keys) == 0:
            return candidates, candidates
        pos = np.searchsorted(self.keys, hashes[candidates])
        pos = np.minimum(pos, len(self.keys) - 1)
        found = self.keys[pos] == hashes[candidates]
        return candidates[found], pos[found]

    def overlaps(self, tokens: Tokens, minimum: float) -> Overlaps:
        """Every (row, segment) of ``tokens`` against the index with overlap >= ``minimum``."""
        rows_found, keys_found = [], []
        windows = {name: Windows(tokens.stream(name)) for name in {p for p, _ in self.passes}}
        for name, k in self.passes:
            h, rows = windows[name].of_length(k)
            at, key = self.lookup(h)
            rows_found.append(rows[at])
            keys_found.append(key)
        if not rows_found:
            empty = np.zeros(0, np.int64)
            return Overlaps(empty, empty, np.zeros(0, np.float32), empty)
        rows = np.concatenate(rows_found)
        keys = np.concatenate(keys_found)
        # each window once per row, then one entry per segment holding it
        pair = np.unique(rows * len(self.keys) + keys)
        rows, keys = pair // len(self.keys), pair % len(self.keys)
        counts = self.ptr[keys + 1] - self.ptr[keys]
        starts = np.repeat(self.ptr[keys] - np.cumsum(counts) + counts, counts)
        segments = self.segment_ids[starts + np.arange(counts.sum())]
        n_segments = len(self.segment_windows)
        pair, shared = np.unique(
            np.repeat(rows, counts) * n_segments + segments, return_counts=True
        )
        rows, segments = pair // n_segments, pair % n_segments
        total = self.segment_windows[segments]
        overlap = (shared / total).astype(np.float32)
        keep = (overlap >= minimum) & (shared >= np.minimum(total, self.spec.min_shared))
        return Overlaps(rows[keep], segments[keep], overlap[keep], shared[keep])
