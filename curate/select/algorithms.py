"""Which conversations ``curate select`` keeps, and why: pure functions on arrays.

The stage around this module reads the store and writes the subset and its report;
this module only decides, so that every rule can be tested against a brute-force
reference. Its input is a list of **memberships**: a conversation with several tags
appears once per tag, in each tag's **bucket**. For M memberships over N rows and B
buckets:

* ``member_row`` (M,) int, ``member_bucket`` (M,) int, ``bucket_names`` (B,) str;
* per row: ``ids`` (N,) str (ties go to the smaller id), ``n_tags`` (N,) int,
  optionally ``vectors`` (N, d) float32, L2-normalised, and ``lang`` (N,) str;
* quality: score name -> (N,) float, NaN where that score is missing or failed.

**Scoring** (:func:`membership_scores`): every score is z-scored within each bucket
(:func:`standardize_within_buckets`), so scores on different scales can be averaged and
a row is ranked against the other rows of the same tag; the available z-scores of a
membership are then averaged with weights (:func:`combine`). A row with no usable score
is excluded, never given an invented one.

**Selection** (:func:`select`): buckets take turns, rarest first, each taking its next
best candidate per round, so that per-tag quotas and a global cap are shared fairly; a
row carries all its tags; optional InsTag-style complexity-first order (rows with more
tags first, as long as they add a tag not yet covered) and a Deita-style representation
filter (a row too similar to one already selected is set aside). The exact rules are in
:func:`select`'s docstring. Nothing is random: the order is fixed by scores, then ids.

**Cost.** Without the similarity filter a selection is a Python loop over bucket turns
with O(1) work each (a few seconds for a million rows and 5,000 tags). The filter compares
each candidate it checks with every row selected before it, about S^2/2 similarities for S
selected rows: in batches through FAISS, first in a third of the dimensions
(:class:`_Bound`, which settles almost every candidate exactly), so it costs minutes at
that scale (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

REASONS = ("quality", "complexity")
QUALITY, COMPLEXITY = 0, 1

_WINDOW = 2  # least candidates per bucket checked ahead of a round (similarity filter)
_MAX_WINDOW = 64  # most candidates per bucket checked ahead
_BATCH = 4096  # rows per index search that the windows aim at
_SCAN = 256  # positions a look-ahead walks past language-capped rows before giving up
_BLOCK = 4096  # rows per matrix product when bringing similarities up to date
_SMALL_SEARCH = 50_000_000  # multiply-adds under which an index search uses one thread
_BOUND_MIN_DIM = 48  # vectors with fewer dimensions are searched without the bound
_BOUND_SAMPLE = 20_000  # rows (evenly spaced) that choose the bound's principal directions
_BOUND_MARGIN = 1e-3  # a bound must be this far under tau (float32 rounding is ~1e-5)
_BOUND_TRIAL = 4096  # rows searched before judging whether the bound pays


# -- scores -------------------------------------------------------------------------------


def standardize_within_buckets(
    values: np.ndarray, member_row: np.ndarray, member_bucket: np.ndarray, n_buckets: int
) -> np.ndarray:
    """Z-score of each membership's row value within its bucket, (M,) float64.

    Mean and (population) standard deviation are taken over the bucket's members whose
    value is not NaN; a bucket whose values are all equal gets 0; NaN stays NaN.
    """
    x = np.asarray(values, dtype=np.float64)[np.asarray(member_row)]
    bucket = np.asarray(member_bucket, dtype=np.int64)
    ok = ~np.isnan(x)
    b, v = bucket[ok], x[ok]
    n = np.bincount(b, minlength=n_buckets)
    mean = np.bincount(b, weights=v, minlength=n_buckets) / np.maximum(n, 1)
    dev = v - mean[b]
    std = np.sqrt(np.bincount(b, weights=dev * dev, minlength=n_buckets) / np.maximum(n, 1))
    # Constant buckets are found exactly (max == min): rounding would leave a tiny std.
    lo = np.full(n_buckets, np.inf)
    hi = np.full(n_buckets, -np.inf)
    np.minimum.at(lo, b, v)
    np.maximum.at(hi, b, v)
    varies = (hi > lo)[b]
    z = np.full(len(x), np.nan)
    z[ok] = np.where(varies, dev / np.where(varies, std[b], 1.0), 0.0)
    return z


def combine(
    zscores: Mapping[str, np.ndarray],
    weights: Mapping[str, float] | None = None,
    missing: Literal["others", "exclude"] = "others",
) -> np.ndarray:
    """Weighted mean of the standardized scores of each membership, (M,) float64.

    ``weights`` (default 1 each) must name exactly the scores given; a weight of 0
    leaves that score out. ``missing="others"``: a membership whose score is NaN is
    ranked by its other scores, the weights renormalised over those it has;
    ``"exclude"``: any NaN score makes the result NaN. A membership with no score at all
    is NaN in both modes: excluded, never given an invented score.
    """
    if missing not in ("others", "exclude"):
        raise ValueError(f"missing must be 'others' or 'exclude', not {missing!r}")
    if not zscores:
        raise ValueError("no scores to combine")
    weights = dict.fromkeys(zscores, 1.0) if weights is None else dict(weights)
    if set(weights) != set(zscores):
        raise ValueError(
            f"weights name {sorted(weights)} but the scores are {sorted(zscores)}: give one each"
        )
    if any(not w >= 0 for w in weights.values()) or not sum(weights.values()) > 0:
        raise ValueError(f"weights must be >= 0 with a positive sum, got {weights}")
    m = len(next(iter(zscores.values())))
    num, den = np.zeros(m), np.zeros(m)
    any_missing = np.zeros(m, dtype=bool)
    for name in sorted(zscores):  # a fixed order, so the sums are the same on every run
        w = float(weights[name])
        if w == 0:
            continue
        z = np.asarray(zscores[name], dtype=np.float64)
        if z.shape != (m,):
            raise ValueError(f"score {name!r} has shape {z.shape}, expected ({m},)")
        ok = ~np.isnan(z)
        num[ok] += w * z[ok]
        den[ok] += w
        any_missing |= ~ok
    out = np.full(m, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    if missing == "exclude":
        out[any_missing] = np.nan
    return out


def membership_scores(
    quality: Mapping[str, np.ndarray],
    member_row: np.ndarray,
    member_bucket: np.ndarray,
    n_buckets: int,
    weights: Mapping[str, float] | None = None,
    missing: Literal["others", "exclude"] = "others",
) -> np.ndarray:
    """Combined standardized score of every membership: the ``score`` :func:`select` takes."""
    z = {
        name: standardize_within_buckets(values, member_row, member_bucket, n_buckets)
        for name, values in quality.items()
    }
    return combine(z, weights, missing)


# -- the result ---------------------------------------------------------------------------


@dataclass
class BucketCounts:
    """Per-bucket counters, arrays of length B in the order of ``bucket_names``."""

    names: np.ndarray  # str
    order: np.ndarray  # int64: turn in each round (0 = served first)
    pool: np.ndarray  # int64: memberships of the bucket
    missing: np.ndarray  # int64: excluded, no combined score
    below_min: np.ndarray  # int64: excluded, combined score < min_score
    candidates: np.ndarray  # int64: pool - missing - below_min
    rejected: np.ndarray  # int64: set aside by the similarity filter, tested by this bucket
    lang_skipped: np.ndarray  # int64: set aside by a full language share, met by this bucket
    taken: np.ndarray  # int64: rows this bucket selected
    selected: np.ndarray  # int64: selected rows carrying this tag (taken here or elsewhere)
    filled: np.ndarray  # bool: selected >= per_bucket (always False without per_bucket)


@dataclass
class Selection:
    """The selected rows in the order taken, with why, and the counters of the run."""

    row: np.ndarray  # int64 (S,): row index
    bucket: np.ndarray  # int64 (S,): the bucket that took it
    rank: np.ndarray  # int64 (S,): 1-based, in the order that bucket took its rows
    score: np.ndarray  # float64 (S,): combined score of the row in that bucket
    reason: np.ndarray  # int8 (S,): index into REASONS
    buckets: BucketCounts
    rows: int  # rows with at least one membership
    rows_without_score: int  # rows whose every membership is missing its combined score
    rejected: int  # rows set aside by the similarity filter
    lang_skipped: int  # rows set aside because their language share was full
    lang_selected: dict[str, int]  # selected rows per language (empty without ``lang``)
    rounds: int  # rounds of the round-robin in which a row was taken
    stop: str  # "total": the cap was reached; "quotas": every bucket filled; else "exhausted"
    filter_stats: dict[str, int]  # similarity filter: rows searched in the index, rounds replayed

    def __len__(self) -> int:
        return len(self.row)

    def reasons(self) -> np.ndarray:
        """The reason of each selected row, as a string."""
        return np.asarray(REASONS, dtype=object)[self.reason]


def tie_order(
    quality: Mapping[str, np.ndarray], weights: Mapping[str, float], keys: np.ndarray
) -> np.ndarray:
    """A rank per row that breaks ties between equal combined scores, (N,) int64.

    Each score on its own, in order of weight (heaviest first, then by name), higher
    first with a missing score last; only then ``keys`` (the ids, or seeded hashes of
    them), smaller first. So two rows that tie on the combined score are ordered by the
    next signal, and by id only when every signal ties.
    """
    n = len(keys)
    columns: list[np.ndarray] = [np.unique(np.asarray(keys), return_inverse=True)[1]]
    for name in sorted(quality, key=lambda k: (-float(weights.get(k, 1.0)), k), reverse=True):
        if float(weights.get(name, 1.0)) <= 0:
            continue
        values = np.asarray(quality[name], dtype=np.float64)
        columns.append(np.where(np.isnan(values), np.inf, -values))
    order = np.lexsort(columns) if columns else np.arange(n)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank


def best_per_group(
    group: np.ndarray,
    score: np.ndarray,
    tie_rank: np.ndarray,
    eligible: np.ndarray,
    limit: int,
    tier: np.ndarray | None = None,
) -> np.ndarray:
    """The ``limit`` best eligible rows of each group, as a mask over rows, (N,) bool.

    ``group`` (N,) int codes (e.g. prompt groups), ``score`` (N,) float where higher is
    better and NaN ranks last, ``tie_rank`` (N,) int that orders equal scores (e.g.
    :func:`tie_order`); ``tier`` (N,) int, when given, comes before the score (lower
    first). Rows that are not ``eligible`` neither count nor are kept.
    """
    rows = np.flatnonzero(eligible)
    keep = np.zeros(len(group), dtype=bool)
    if limit <= 0 or len(rows) == 0:
        return keep
    s = np.asarray(score, dtype=np.float64)[rows]
    g = np.asarray(group)[rows]
    t = np.zeros(len(rows), dtype=np.int64) if tier is None else np.asarray(tier)[rows]
    order = np.lexsort((np.asarray(tie_rank)[rows], np.where(np.isnan(s), np.inf, -s), t, g))
    g = g[order]
    first = np.flatnonzero(np.append(True, g[1:] != g[:-1]))
    run_start = np.repeat(first, np.diff(np.append(first, len(g))))
    keep[rows[order[(np.arange(len(g)) - run_start) < limit]]] = True
    return keep


# -- selection ----------------------------------------------------------------------------


def select(
    member_row: np.ndarray,
    member_bucket: np.ndarray,
    bucket_names: np.ndarray,
    score: np.ndarray,
    ids: np.ndarray,
    *,
    n_tags: np.ndarray | None = None,
    vectors: np.ndarray | None = None,
    lang: np.ndarray | None = None,
    per_bucket: int | None = None,
    total: int | None = None,
    min_score: float | None = None,
    complexity_first: bool = False,
    tau: float | None = None,
    lang_shares: Mapping[str, float] | None = None,
    tier: np.ndarray | None = None,
    progress: Callable[[int], None] | None = None,
) -> Selection:
    """Choose rows, bucket by bucket; ``score`` is (M,), e.g. :func:`membership_scores`.

    **Candidates.** A bucket's candidates are its memberships with a combined score (NaN:
    excluded, counted ``missing``) of at least ``min_score`` (else ``below_min``), in
    *quality order*: ``tier`` ascending when given ((M,) int: e.g. 0 for the rows a funnel
    judge scored, 1 for the others), then score descending, then id ascending.

    **Rounds.** Buckets are served round-robin in increasing order of pool size (number
    of memberships: rare tags first), ties by name. In each round every bucket that is
    neither filled (``per_bucket`` selected rows carry its tag) nor exhausted takes one
    row: its first candidate, in order, that is not already selected or set aside and
    passes the filters below. A row is selected once and counts toward the quota of every
    bucket it belongs to (it carries all its tags), so a bucket may be filled by the picks
    of others and may end above its quota. The run stops as soon as ``total`` rows are
    selected, even mid-round, or when no bucket can take a row. So a ``total`` cap is shared
    fairly (one row per open bucket per round), and without filters the size is exactly
    min(total, everything the buckets can get). Without ``per_bucket`` buckets are never
    filled; without either limit every candidate that passes the filters is selected.

    **Complexity first** (``complexity_first``, InsTag's diverse sampling): a bucket first
    walks its candidates ordered by ``n_tags`` descending, then quality order, and takes
    one only if it belongs to at least one bucket that no selected row belongs to yet (it
    adds a tag not yet covered); the others are passed over, for good in this phase, as
    coverage only grows. When that walk reaches its end (no candidate adds a tag), the
    bucket falls back, for good, to quality order from the top. Reason ``complexity`` for
    rows taken while adding a tag, ``quality`` otherwise. (``n_tags`` only orders; the tags
    a row adds are the buckets it is a member of; it defaults to the membership count.)

    **Filters**, checked in this order on a candidate that would otherwise be taken:

    * ``lang_shares`` (needs ``lang`` and ``total``): at most floor(share x total)
      selected rows of a listed language; a candidate whose language is full is set aside
      (``lang_skipped``). Languages not listed are not limited.
    * ``tau`` (needs ``vectors``): a candidate whose cosine similarity to any selected row,
      of any bucket, is > tau is set aside (``rejected``): Deita's score-first filter.

    A row set aside stays aside (the selection only grows, so it would fail again) and is
    counted once, in the bucket that tested it; other buckets pass over it.

    ``progress``, if given, is called after each round with the number of rows selected.

    Deterministic: no randomness, ties by id. With ``tau`` the selected rows are kept in a
    FAISS ``IndexFlatIP``; candidates are checked in batches (see :class:`_SimilarityGate`
    and :class:`_Bound`) with the same result as checking them one at a time, except that a
    similarity within float32 rounding (~1e-6) of ``tau`` may fall either way.
    """
    member_row = np.asarray(member_row, dtype=np.int64)
    member_bucket = np.asarray(member_bucket, dtype=np.int64)
    bucket_names = np.asarray(bucket_names)
    score = np.asarray(score, dtype=np.float64)
    n_rows, n_buckets, m = len(ids), len(bucket_names), len(member_row)
    _check_inputs(member_row, member_bucket, score, n_rows, n_buckets)
    if (per_bucket is not None and per_bucket < 0) or (total is not None and total < 0):
        raise ValueError("per_bucket and total must be >= 0")
    if tau is not None and vectors is None:
        raise ValueError("the similarity filter (tau) needs vectors")
    if lang_shares is not None and (lang is None or total is None):
        raise ValueError("lang_shares needs lang and total (shares are of the total)")
    if n_tags is None:
        n_tags = np.bincount(member_row, minlength=n_rows)

    id_rank = _id_rank(ids)
    pool = np.bincount(member_bucket, minlength=n_buckets)
    order = np.lexsort((np.argsort(np.argsort(bucket_names, kind="stable")), pool))
    position = np.empty(n_buckets, dtype=np.int64)
    position[order] = np.arange(n_buckets)

    missing = np.isnan(score)
    below = ~missing & (score < min_score) if min_score is not None else np.zeros(m, bool)
    eligible = ~missing & ~below
    rows_with_score = np.zeros(n_rows, dtype=bool)
    rows_with_score[member_row[~missing]] = True
    in_pool = np.zeros(n_rows, dtype=bool)
    in_pool[member_row] = True

    state = _Selector(
        member_row=member_row,
        member_bucket=member_bucket,
        position=position,
        score=score,
        tier=np.zeros(m, dtype=np.int64) if tier is None else np.asarray(tier, dtype=np.int64),
        eligible=eligible,
        id_rank=id_rank,
        n_tags=np.asarray(n_tags, dtype=np.int64),
        n_rows=n_rows,
        n_buckets=n_buckets,
        per_bucket=per_bucket,
        total=total,
        complexity_first=complexity_first,
    )
    lang_names: np.ndarray | None = None
    if lang is not None:
        lang_names, codes = np.unique(np.asarray(lang, dtype=str), return_inverse=True)
        state.set_languages(codes, _language_caps(lang_names, lang_shares, total))
    if tau is not None:
        state.gate = _SimilarityGate(np.ascontiguousarray(vectors, np.float32), float(tau), state)
    state.run([int(b) for b in order], progress)

    count = np.asarray(state.count, dtype=np.int64)
    filled = count >= per_bucket if per_bucket is not None else np.zeros(n_buckets, bool)
    buckets = BucketCounts(
        names=bucket_names,
        order=position,
        pool=pool.astype(np.int64),
        missing=np.bincount(member_bucket[missing], minlength=n_buckets).astype(np.int64),
        below_min=np.bincount(member_bucket[below], minlength=n_buckets).astype(np.int64),
        candidates=np.bincount(member_bucket[eligible], minlength=n_buckets).astype(np.int64),
        rejected=np.asarray(state.rejected, dtype=np.int64),
        lang_skipped=np.asarray(state.lang_skipped, dtype=np.int64),
        taken=np.asarray(state.taken, dtype=np.int64),
        selected=count,
        filled=filled,
    )
    rows = np.asarray(state.out_row, dtype=np.int64)
    lang_selected: dict[str, int] = {}
    if lang_names is not None:
        per_lang = np.bincount(state.lang_code_np[rows], minlength=len(lang_names))
        lang_selected = {str(lang_names[i]): int(c) for i, c in enumerate(per_lang) if c}
    if state.stopped:
        stop = "total"
    elif per_bucket is not None and filled.all():
        stop = "quotas"
    else:
        stop = "exhausted"
    return Selection(
        row=rows,
        bucket=np.asarray(state.out_bucket, dtype=np.int64),
        rank=np.asarray(state.out_rank, dtype=np.int64),
        score=np.asarray(state.out_score, dtype=np.float64),
        reason=np.asarray(state.out_reason, dtype=np.int8),
        buckets=buckets,
        rows=int(in_pool.sum()),
        rows_without_score=int((in_pool & ~rows_with_score).sum()),
        rejected=int(buckets.rejected.sum()),
        lang_skipped=int(buckets.lang_skipped.sum()),
        lang_selected=lang_selected,
        rounds=state.rounds,
        stop=stop,
        filter_stats=state.gate.stats() if state.gate else {},
    )


def _check_inputs(
    member_row: np.ndarray,
    member_bucket: np.ndarray,
    score: np.ndarray,
    n_rows: int,
    n_buckets: int,
) -> None:
    m = len(member_row)
    if member_bucket.shape != (m,) or score.shape != (m,):
        raise ValueError("member_row, member_bucket and score must have the same length")
    if m and (member_row.min() < 0 or member_row.max() >= n_rows):
        raise ValueError("member_row out of range")
    if m and (member_bucket.min() < 0 or member_bucket.max() >= n_buckets):
        raise ValueError("member_bucket out of range")
    if len(np.unique(member_row * max(n_buckets, 1) + member_bucket)) != m:
        raise ValueError("a row is listed twice in the same bucket")


def _id_rank(ids: np.ndarray) -> np.ndarray:
    """Position of each row's id in sorted order (equal ids: by row index)."""
    order = np.argsort(np.asarray(ids), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def _language_caps(
    names: np.ndarray, shares: Mapping[str, float] | None, total: int | None
) -> list[float] | None:
    """Most rows each language code may have: floor(share x total), or inf when not listed."""
    if shares is None:
        return None
    bad = {k: v for k, v in shares.items() if not 0 <= v <= 1}
    if bad:
        raise ValueError(f"language shares must be in [0, 1]: {bad}")
    assert total is not None
    return [
        float(math.floor(shares[str(n)] * total + 1e-9)) if str(n) in shares else math.inf
        for n in names
    ]


def _csr(keys: np.ndarray, n: int) -> np.ndarray:
    """Offsets of each key's run in an array sorted by ``keys`` (length n + 1)."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=offsets[1:])
    return offsets


class _Selector:
    """The round-robin and its state; the hot loop works on Python lists and bytearrays."""

    def __init__(
        self,
        *,
        member_row: np.ndarray,
        member_bucket: np.ndarray,
        position: np.ndarray,
        score: np.ndarray,
        tier: np.ndarray,
        eligible: np.ndarray,
        id_rank: np.ndarray,
        n_tags: np.ndarray,
        n_rows: int,
        n_buckets: int,
        per_bucket: int | None,
        total: int | None,
        complexity_first: bool,
    ):
        self.per_bucket, self.total = per_bucket, total
        self.complexity_first = complexity_first
        self.gate: _SimilarityGate | None = None
        rows, buckets, scores = member_row[eligible], member_bucket[eligible], score[eligible]
        tiers = tier[eligible]
        ranks = id_rank[rows]
        # Quality order: each bucket's run of candidates, tier, score desc, then id.
        by_quality = np.lexsort((ranks, -scores, tiers, buckets))
        self.q_rows = rows[by_quality].tolist()
        self.q_score = scores[by_quality].tolist()
        starts = _csr(buckets, n_buckets)
        self.q_ptr, self.q_end = starts[:-1].tolist(), starts[1:].tolist()
        self.phase1 = [complexity_first] * n_buckets
        if complexity_first:
            by_tags = np.lexsort((ranks, -scores, -n_tags[rows], tiers, buckets))
            self.c_rows = rows[by_tags].tolist()
            self.c_score = scores[by_tags].tolist()
            self.c_ptr, self.c_end = list(self.q_ptr), list(self.q_end)
            # Coverage: which tags (buckets) a selected row has brought in, and per row how
            # many of its tags are still uncovered (``new`` is 1 while that is > 0).
            self.covered = [False] * n_buckets
            all_by_bucket = np.argsort(member_bucket, kind="stable")
            self.members = member_row[all_by_bucket]
            self.member_start = _csr(member_bucket, n_buckets)
            self.uncovered = np.bincount(member_row, minlength=n_rows).astype(np.int32)
            self.new = bytearray((self.uncovered > 0).astype(np.uint8).tobytes())
            self.new_np = np.frombuffer(self.new, dtype=np.uint8)
        else:
            self.c_rows, self.c_score, self.c_ptr, self.c_end = [], [], [], []
            self.covered, self.new = [], bytearray()
        by_row = np.argsort(member_row, kind="stable")
        self.row_buckets = memoryview(np.ascontiguousarray(member_bucket[by_row]))
        self.row_start = memoryview(_csr(member_row, n_rows))
        self.blocked = bytearray(n_rows)  # selected, or set aside by a filter
        self.count = [0] * n_buckets
        self.taken = [0] * n_buckets
        self.rejected = [0] * n_buckets
        self.lang_skipped = [0] * n_buckets
        self.lang_code: list[int] | None = None
        self.lang_code_np = np.zeros(n_rows, dtype=np.int64)
        self.lang_cap: list[float] = []
        self.lang_count: list[int] = []
        self.lang_full: list[bool] | None = None
        self.out_row: list[int] = []
        self.out_bucket: list[int] = []
        self.out_rank: list[int] = []
        self.out_score: list[float] = []
        self.out_reason: list[int] = []
        self.n_selected = 0
        self.rounds = 0
        self.stopped = total == 0

    def set_languages(self, codes: np.ndarray, caps: list[float] | None) -> None:
        self.lang_code_np = codes.astype(np.int64)
        if caps is not None:
            self.lang_code = self.lang_code_np.tolist()
            self.lang_cap = caps
            self.lang_count = [0] * len(caps)
            self.lang_full = [c <= 0 for c in caps]

    # The round-robin.

    def run(self, order: list[int], progress: Callable[[int], None] | None = None) -> None:
        active = order if self.per_bucket != 0 else []
        while active and not self.stopped:
            active = self._gated_round(active) if self.gate else self._round(active)
            self.rounds += bool(active)
            if progress is not None:
                progress(self.n_selected)

    def _round(self, active: list[int]) -> list[int]:
        """One round: each open bucket in turn takes a row; returns the buckets still open."""
        still = []
        per, count, total = self.per_bucket, self.count, self.total
        for b in active:
            if per is not None and count[b] >= per:
                continue
            r, score, reason = self._next(b)
            if r < 0:
                continue
            self._take(r, b, score, reason)
            still.append(b)
            if total is not None and self.n_selected >= total:
                self.stopped = True
                break
        return still

    def _gated_round(self, active: list[int]) -> list[int]:
        """A round with the similarity filter: replayed until no optimistic check failed."""
        gate = self.gate
        assert gate is not None
        per = self.per_bucket
        gate.begin_round([b for b in active if per is None or self.count[b] < per])
        snapshot = self._snapshot()
        while True:
            still = self._round(active)
            if gate.verify():
                return still
            gate.replays += 1
            self._restore(snapshot)

    def _next(self, b: int) -> tuple[int, float, int]:
        """The row bucket ``b`` takes now, its score and reason; (-1, 0, 0) when exhausted."""
        blocked = self.blocked
        if self.phase1[b]:
            rows, ptr, end, new = self.c_rows, self.c_ptr, self.c_end[b], self.new
            p = ptr[b]
            while p < end:
                r = rows[p]
                p += 1
                if blocked[r] or not new[r]:
                    continue
                ptr[b] = p
                if self._admit(r, b):
                    return r, self.c_score[p - 1], COMPLEXITY
            ptr[b] = p
            self.phase1[b] = False
        rows, ptr, end = self.q_rows, self.q_ptr, self.q_end[b]
        p = ptr[b]
        while p < end:
            r = rows[p]
            p += 1
            if blocked[r]:
                continue
            ptr[b] = p
            if self._admit(r, b):
                return r, self.q_score[p - 1], QUALITY
        ptr[b] = p
        return -1, 0.0, 0

    def _admit(self, r: int, b: int) -> bool:
        """Does ``r`` pass the filters? If not it is set aside and counted for ``b``."""
        if self.lang_full is not None and self.lang_full[self.lang_code[r]]:  # type: ignore[index]
            self.blocked[r] = 1
            self.lang_skipped[b] += 1
            return False
        if self.gate is not None and self.gate.too_similar(r, b):
            self.blocked[r] = 1
            self.rejected[b] += 1
            return False
        return True

    def _take(self, r: int, b: int, score: float, reason: int) -> None:
        self.blocked[r] = 1
        count = self.count
        for t in self.row_buckets[self.row_start[r] : self.row_start[r + 1]]:
            count[t] += 1
            if self.complexity_first and not self.covered[t]:
                self._cover(t)
        self.taken[b] += 1
        self.out_row.append(r)
        self.out_bucket.append(b)
        self.out_rank.append(self.taken[b])
        self.out_score.append(score)
        self.out_reason.append(reason)
        self.n_selected += 1
        if self.lang_full is not None:
            code = self.lang_code[r]  # type: ignore[index]
            self.lang_count[code] += 1
            if self.lang_count[code] >= self.lang_cap[code]:
                self.lang_full[code] = True
        if self.gate is not None:
            self.gate.add(r)

    def _cover(self, t: int) -> None:
        """Tag ``t`` is now covered: its rows have one uncovered tag fewer."""
        self.covered[t] = True
        rows = self.members[self.member_start[t] : self.member_start[t + 1]]
        self.uncovered[rows] -= 1
        self.new_np[rows] = self.uncovered[rows] > 0

    def upcoming(self, b: int, k: int) -> list[int]:
        """Up to ``k`` rows bucket ``b`` would test next if nothing changed (for look-ahead).

        Moves the bucket's pointers past rows it would pass over anyway (selected, set
        aside, or adding no tag in the complexity phase), which changes nothing.
        """
        out: list[int] = []
        blocked, full, code = self.blocked, self.lang_full, self.lang_code
        if self.phase1[b]:
            rows, end, new = self.c_rows, self.c_end[b], self.new
            p = self.c_ptr[b]
            while p < end and (blocked[rows[p]] or not new[rows[p]]):
                p += 1
            self.c_ptr[b] = p
            scan = 0
            while p < end and len(out) < k and scan < _SCAN:
                r = rows[p]
                p += 1
                scan += 1
                if not (blocked[r] or not new[r] or full is not None and full[code[r]]):  # type: ignore[index]
                    out.append(r)
            if p < end:
                return out
        rows, end = self.q_rows, self.q_end[b]
        p = self.q_ptr[b]
        while p < end and blocked[rows[p]]:
            p += 1
        self.q_ptr[b] = p
        scan = 0
        while p < end and len(out) < k and scan < _SCAN:
            r = rows[p]
            p += 1
            scan += 1
            if not (blocked[r] or full is not None and full[code[r]]):  # type: ignore[index]
                out.append(r)
        return out

    # Snapshots, to replay a round whose optimistic checks failed.

    def _snapshot(self) -> tuple:
        lists = (
            self.count,
            self.taken,
            self.rejected,
            self.lang_skipped,
            self.q_ptr,
            self.c_ptr,
            self.phase1,
            self.covered,
            self.lang_count,
            self.lang_full or [],
        )
        uncovered = self.uncovered.copy() if self.complexity_first else None
        arrays = (bytes(self.blocked), bytes(self.new), uncovered)
        scalars = (len(self.out_row), self.n_selected, self.stopped)
        assert self.gate is not None
        return tuple(list(x) for x in lists), arrays, scalars, self.gate.snapshot()

    def _restore(self, snapshot: tuple) -> None:
        lists, (blocked, new, uncovered), (n_out, n_selected, stopped), gate = snapshot
        (
            self.count,
            self.taken,
            self.rejected,
            self.lang_skipped,
            self.q_ptr,
            self.c_ptr,
            self.phase1,
            self.covered,
            self.lang_count,
            lang_full,
        ) = (list(x) for x in lists)
        if self.lang_full is not None:
            self.lang_full = lang_full
        self.blocked[:] = blocked
        if self.complexity_first:
            self.new[:] = new  # in place: new_np is a view of it
            self.uncovered[:] = uncovered
        for out in (self.out_row, self.out_bucket, self.out_rank, self.out_score, self.out_reason):
            del out[n_out:]
        self.n_selected, self.stopped = n_selected, stopped
        assert self.gate is not None
        self.gate.restore(gate)


class _Bound:
    """Upper bounds of cosine similarities, from a third of the dimensions (exact pruning).

    With U the top principal directions of the vectors (p columns, orthonormal) and
    r(x) = |x - U U'x| the norm of what U misses, Cauchy-Schwarz gives
    ``q.x <= (U'q).(U'x) + r(q) r(x)``: the inner product of the (p + 1)-dim vectors
    ``[U'x, r(x)]``. So one search in a (p + 1)-dim FAISS index gives, for each query, an
    upper bound of its highest similarity; a query whose bound is under tau (with a margin
    for float32 rounding) passes without the full search, and only the others are searched
    in the full index. On random 384-d vectors at tau = 0.9 almost every bound is under
    tau; on real embeddings the principal directions hold most of the similarity. If, after
    a few thousand queries, over half needed the full search, the bound is dropped.
    """

    def __init__(self, vectors: np.ndarray, faiss):
        n, dim = vectors.shape
        self.dim = min(-(-dim // 24) * 8, dim - 1)  # a third, rounded up to a multiple of 8
        sample = vectors[:: max(1, n // _BOUND_SAMPLE)][:_BOUND_SAMPLE].astype(np.float64)
        _, eigenvectors = np.linalg.eigh(sample.T @ sample)
        top = eigenvectors[:, ::-1][:, : self.dim]
        self.basis = np.ascontiguousarray(top, dtype=np.float32)
        self.index = faiss.IndexFlatIP(self.dim + 1)

    def reduce(self, x: np.ndarray) -> np.ndarray:
        """``[U'x, r(x)]`` as float32; r is the norm of the residual vector itself (no
        difference of squares, whose rounding could shrink a small r)."""
        head = x @ self.basis
        rest = x - head @ self.basis.T
        return np.hstack([head, np.sqrt(np.einsum("ij,ij->i", rest, rest))[:, None]])


class _SimilarityGate:
    """Is a candidate's cosine similarity to any selected row > tau? Exact, in batches.

    The rows selected before the current round are in a FAISS ``IndexFlatIP``; the rows
    selected during the round (``pending``) are added to it when the round ends. For each
    row that has been looked at we keep ``best``, its highest similarity to the first
    ``upto`` selected rows (in selection order).

    * Each bucket has a window: its next candidates, as many as it may need for the next
      few rounds (about ``_BATCH`` rows over all open buckets). At the start of a round,
      window rows seen in the previous round are brought up to date against only the rows
      added since (one matrix product); rows never seen, or seen long ago, are searched in
      the whole index, all windows at once, when some bucket is about to run out of
      checked rows (so searches are few and large, which is what makes BLAS fast).
    * A check during the round: ``best``, then one matrix-vector product against the
      pending rows.
    * A candidate not yet searched is assumed to pass the index check and noted; at the
      end of the round all of them are searched at once (with a deeper window for their
      buckets). If one fails, the round is replayed from its snapshot, now knowing that
      row's similarity; so the outcome is exactly the one-at-a-time outcome.
    """

    def __init__(self, vectors: np.ndarray, tau: float, selector: _Selector):
        from curate.dedup.search import faiss_module

        n_rows, dim = vectors.shape
        self.vectors, self.tau, self.selector = vectors, tau, selector
        self.faiss = faiss_module()
        self.index = self.faiss.IndexFlatIP(dim)
        self.bound = _Bound(vectors, self.faiss) if dim >= _BOUND_MIN_DIM else None
        self.selected: list[int] = []  # in selection order; the first `flushed` are indexed
        self.flushed = self.previous = 0
        self.best = np.full(n_rows, -np.inf, dtype=np.float32)
        self.upto = np.full(n_rows, -1, dtype=np.int64)
        self.pending = np.empty((256, dim), dtype=np.float32)
        self.n_pending = 0
        self.assumed: list[tuple[int, int]] = []
        self.extra = [0] * len(selector.count)  # more window for buckets that ran out
        self.searched = 0  # rows searched in the index
        self.bounded = 0  # of which the bound was enough
        self.bound_tried = 0  # of which the bound was tried
        self.refreshed = 0  # rows brought up to date against the rows added in a round
        self.replays = 0  # rounds replayed because an assumed check failed

    def stats(self) -> dict[str, int]:
        return {
            "searched": self.searched,
            "bounded": self.bounded,
            "refreshed": self.refreshed,
            "replays": self.replays,
        }

    def begin_round(self, open_buckets: list[int]) -> None:
        if len(self.selected) > self.flushed:
            added = self.vectors[np.asarray(self.selected[self.flushed :])]
            self.index.add(added)
            if self.bound is not None:
                self.bound.index.add(self.bound.reduce(added))
        self.previous, self.flushed = self.flushed, len(self.selected)
        self.n_pending = 0
        if not open_buckets:
            return
        selector, upto, previous, extra = self.selector, self.upto, self.previous, self.extra
        per = selector.per_bucket
        depth = min(max(_WINDOW, -(-_BATCH // len(open_buckets))), _MAX_WINDOW)
        refresh: list[int] = []
        unseen: list[int] = []
        running_out = False
        for b in open_buckets:
            want = depth + extra[b]
            if per is not None:
                want = min(want, per - selector.count[b] + _WINDOW)
            ready, gap = 0, False  # checked rows before the first unseen one
            for r in selector.upcoming(b, want):
                if upto[r] >= previous:
                    refresh.append(r)
                    ready += not gap
                else:
                    unseen.append(r)
                    gap = True
            running_out = running_out or (gap and ready < _WINDOW)
        self._bring_up_to_date(refresh)
        if running_out:
            self._bring_up_to_date(unseen)

    def too_similar(self, r: int, b: int) -> bool:
        if self.upto[r] == self.flushed:
            if self.best[r] > self.tau:
                return True
        else:
            self.assumed.append((r, b))
        n = self.n_pending
        return bool(n and float(np.max(self.pending[:n] @ self.vectors[r])) > self.tau)

    def add(self, r: int) -> None:
        self.selected.append(r)
        if self.n_pending == len(self.pending):
            self.pending = np.concatenate([self.pending, np.empty_like(self.pending)])
        self.pending[self.n_pending] = self.vectors[r]
        self.n_pending += 1

    def verify(self) -> bool:
        """Check this round's assumptions; False when one failed (replay the round)."""
        if not self.assumed:
            return True
        rows = [r for r, _ in self.assumed]
        for b in dict.fromkeys(b for _, b in self.assumed):
            self.extra[b] = min(2 * self.extra[b] + _WINDOW, _MAX_WINDOW)
            rows.extend(self.selector.upcoming(b, _WINDOW + self.extra[b]))
        self._bring_up_to_date(rows)
        failed = any(self.best[r] > self.tau for r, _ in self.assumed)
        self.assumed.clear()
        return not failed

    def snapshot(self) -> tuple[int, int]:
        return len(self.selected), self.n_pending

    def restore(self, snapshot: tuple[int, int]) -> None:
        del self.selected[snapshot[0] :]
        self.n_pending = snapshot[1]

    def _search(self, rows: np.ndarray) -> np.ndarray:
        """For each row, its highest similarity to the index, or a bound of it under tau."""
        if self.bound is None:
            return self._max_inner(self.index, self.vectors[rows])
        best = self._max_inner(self.bound.index, self.bound.reduce(self.vectors[rows]))
        unsure = np.flatnonzero(best > self.tau - _BOUND_MARGIN)
        if len(unsure):
            best[unsure] = self._max_inner(self.index, self.vectors[rows[unsure]])
        self.bounded += len(rows) - len(unsure)
        self.bound_tried += len(rows)
        if self.bound_tried >= _BOUND_TRIAL and self.bounded < self.bound_tried / 2:
            self.bound = None  # it saves little on these vectors
        return best

    def _max_inner(self, index, queries: np.ndarray) -> np.ndarray:
        """Highest inner product of each query with ``index``'s vectors.

        Two FAISS settings are changed for the call and put back: its matrix-product path
        is used for any number of queries (by default, in FAISS 1.15, not below 128,000
        queries: a search of 400 queries then runs ~9x slower), and small searches run on
        one thread (waking FAISS's OpenMP threads costs ~10 ms).
        """
        faiss, cvar = self.faiss, self.faiss.cvar
        threads, blas = faiss.omp_get_max_threads(), cvar.distance_compute_blas_threshold
        cvar.distance_compute_blas_threshold = 1
        if len(queries) * index.ntotal * index.d < _SMALL_SEARCH:
            faiss.omp_set_num_threads(1)
        try:
            sims, _ = index.search(np.ascontiguousarray(queries), 1)
        finally:
            faiss.omp_set_num_threads(threads)
            cvar.distance_compute_blas_threshold = blas
        return sims[:, 0]

    def _bring_up_to_date(self, rows: list[int]) -> None:
        """Make ``best`` cover the indexed rows (the first ``flushed``) for these rows."""
        if not rows:
            return
        rows_np = np.unique(np.asarray(rows, dtype=np.int64))
        upto = self.upto[rows_np]
        stale = rows_np[upto != self.flushed]
        if not len(stale):
            return
        since_previous = self.upto[stale] == self.previous
        recent, full = stale[since_previous], stale[~since_previous]
        if len(recent):
            added = self.vectors[np.asarray(self.selected[self.previous : self.flushed])]
            for i in range(0, len(recent), _BLOCK):
                part = recent[i : i + _BLOCK]
                sims = (self.vectors[part] @ added.T).max(axis=1)
                self.best[part] = np.maximum(self.best[part], sims)
            self.refreshed += len(recent)
        if len(full) and self.index.ntotal:
            for i in range(0, len(full), _BLOCK):
                part = full[i : i + _BLOCK]
                self.best[part] = self._search(part)
            self.searched += len(full)
        elif len(full):
            self.best[full] = -np.inf
        self.upto[stale] = self.flushed
