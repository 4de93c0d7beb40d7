"""Normalise open-set intent tags, InsTag style: tens of thousands of raw tags to a few thousand.

An LLM tagger (InsTag, arXiv 2308.07074) writes free-form intent tags for each
conversation: "code generation", "Code-Generation", "code generations",
"python programming", "mathematics", "math"... Before tags can drive selection
(e.g. N conversations per tag) the variants must be merged and the noise dropped.
Each step is a function from one :class:`TagTable` to the next, recording its
parameters, timing and tags in/out in the table's report:

1. :func:`aggregate_rules`: tags with the same :func:`rule_key` merge (Unicode
   NFKC, lowercase, punctuation/underscores/hyphens to spaces, whitespace
   collapsed, English words stemmed with the Snowball (Porter2) stemmer). The
   group's name is its most frequent cleaned form (:func:`clean_tag`, never the
   stem), ties alphabetical.
2. :func:`filter_frequency`: tags seen in fewer than ``min_count`` conversations
   are dropped. InsTag used 20 on 300K conversations; :func:`scaled_min_count`
   scales that to the pool. **Rules run before the frequency filter, on
   purpose** (InsTag filtered first): "Code-Generation" seen 12 times and "code
   generation" seen 10 times are one tag seen 22 times, which a threshold of 20
   must keep; filtering first would drop both spellings.
3. :func:`aggregate_semantic`: the surviving names are embedded and merged at
   cosine similarity >= ``semantic_threshold`` by greedy **leader clustering**
   (:func:`leader_clusters`): tags are visited from most to least frequent, and
   each joins the most similar tag already chosen as a canonical (a "leader")
   above the threshold, or else becomes a leader itself. Every merged tag is
   therefore within the threshold of its canonical, and no chain A~B~C with
   A !~ C collapses into one group, as it would with single linkage (connected
   components) or InsTag's DBSCAN. Similarities are computed in row blocks
   against the leaders only, so memory stays bounded (no N x N matrix).
   The rule is :func:`curate.dedup.grouping.greedy_groups`, the one that groups
   near-duplicate conversations in ``curate.dedup``.
4. :func:`aggregate_association`: a tag that almost always occurs together with
   a more frequent one is merged into it (InsTag: FP-Growth, support 40,
   confidence 99%). Here, pairwise rules a -> b with support(a, b) >=
   ``min_support`` and support(a, b) / support(a) >= ``min_confidence``, from a
   sparse conversation x tag matrix X and the co-occurrence counts X.T @ X.
   Chains a -> b -> c are followed to their end (no cycles: b always ranks
   before a).

:func:`normalize_tags` runs the four steps and returns a :class:`TagMapping`:
raw tag -> canonical tag (None when dropped), the step that decided each raw
tag's fate, counts, parameters and the per-step report. A mapping is saved as a
human-editable TSV (``raw, canonical, count, step``) and loaded back, so a person
can correct it and re-apply it without running the LLM tagger again.

Counting: a conversation counts a tag once, however often it lists it or its
variants. Ties are broken by name, so the result does not depend on the order of
conversations or of the tags within them.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import os
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
import snowballstemmer

from curate.dedup.grouping import greedy_groups
from curate.dedup.search import Pairs

__all__ = [
    "STEPS",
    "NormalizeParams",
    "TagMapping",
    "TagTable",
    "aggregate_association",
    "aggregate_rules",
    "aggregate_semantic",
    "build_table",
    "clean_tag",
    "filter_frequency",
    "leader_clusters",
    "normalize_tags",
    "rule_key",
    "scaled_min_count",
]

Embed = Callable[[list[str]], np.ndarray]

#: The step that decided a raw tag's fate: the last one that changed its canonical name.
#: "kept": the raw tag is its own canonical, unchanged. "manual" marks hand-edited rows
#: whose step was left empty in a TSV.
STEPS = ("kept", "rule", "frequency", "semantic", "association")
MANUAL = "manual"
_STEP_CODE = {name: code for code, name in enumerate(STEPS)}
TSV_HEADER = ("raw", "canonical", "count", "step")


# --------------------------------------------------------------------------- rule keys


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'"})
_NON_WORD = re.compile(r"[^\w\s]|_")
_LONE_HASH = re.compile(r"(?<![^\W_])#")  # '#' not right after a letter or digit ("c#" keeps it)
_LONE_APOSTROPHE = re.compile(r"(?<![^\W_])'|'(?![^\W_])")  # not between letters/digits


@functools.lru_cache(maxsize=4096)
def _separator(char: str) -> str:
    """A space for punctuation (Unicode P*, underscore included), else the character."""
    if char in "#'":  # decided by context below
        return char
    return " " if unicodedata.category(char).startswith("P") else char


def clean_tag(tag: str) -> str:
    """The display form of a tag: NFKC, lowercase, punctuation to spaces, whitespace collapsed.

    Hyphens, underscores, slashes, dots, quotes... separate words; symbols stay
    (``c++``), and so do ``#`` after a letter (``c#``) and apostrophes inside a
    word (``children's``).
    """
    text = unicodedata.normalize("NFKC", tag).translate(_APOSTROPHES).lower()
    text = _NON_WORD.sub(lambda m: _separator(m.group()), text)
    text = _LONE_APOSTROPHE.sub(" ", _LONE_HASH.sub(" ", text))
    return " ".join(text.split())


@functools.cache
def _stemmer() -> Any:
    return snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=1 << 17)
def _stem_token(token: str) -> str:
    if token.endswith("'s"):
        token = token[:-2]
    token = token.replace("'", "")
    if token.isascii() and token.isalpha():
        return _stemmer().stemWord(token)
    return token  # digits, symbols (c++, c#) and non-Latin words are kept as written


def _key_of_clean(cleaned: str) -> str:
    return " ".join(stem for stem in map(_stem_token, cleaned.split(" ")) if stem)


def rule_key(tag: str) -> str:
    """The rule-aggregation key: :func:`clean_tag`, then each English word stemmed (Porter2).

    "Code-Generation", "code generation" and "code generations" share the key
    "code generat". An empty key (a tag of punctuation only) means "no tag".
    """
    return _key_of_clean(clean_tag(tag))


def stemmer_version() -> str:
    """The stemmer in use, for manifests (its rules decide which tags merge)."""
    return f"snowballstemmer {importlib.metadata.version('snowballstemmer')} english"


# --------------------------------------------------------------------------- parameters


def scaled_min_count(
    n_conversations: int, base: int = 20, base_pool: int = 300_000, floor: int = 2
) -> int:
    """A count threshold scaled to the pool: ``base`` per ``base_pool`` conversations.

    ``max(floor, round(base * n_conversations / base_pool))`` with halves rounded
    up: 20 on 300K conversations (InsTag's setting), 13 on 200K, 200 on 3M,
    ``floor`` on small pools.
    """
    if n_conversations < 0 or base < 0 or base_pool <= 0 or floor < 1:
        raise ValueError("need n_conversations >= 0, base >= 0, base_pool > 0 and floor >= 1")
    return max(floor, math.floor(base * n_conversations / base_pool + 0.5))


@dataclass(frozen=True)
class NormalizeParams:
    """Parameters of :func:`normalize_tags`; ``asdict`` of it goes into the stage manifest.

    ``min_count`` None: :func:`scaled_min_count` (20 per 300K conversations).
    ``min_support`` None: the same scaling from InsTag's 40.
    """

    min_count: int | None = None
    semantic_threshold: float = 0.85
    min_support: int | None = None
    min_confidence: float = 0.99

    def __post_init__(self) -> None:
        if self.min_count is not None and self.min_count < 1:
            raise ValueError(f"min_count must be >= 1 or None, got {self.min_count}")
        if not -1.0 <= self.semantic_threshold <= 1.0:
            raise ValueError(
                f"semantic_threshold must be in [-1, 1], got {self.semantic_threshold}"
            )
        if self.min_support is not None and self.min_support < 1:
            raise ValueError(f"min_support must be >= 1 or None, got {self.min_support}")
        if not 0.0 < self.min_confidence <= 1.0:
            raise ValueError(f"min_confidence must be in (0, 1], got {self.min_confidence}")

    def resolve(self, n_conversations: int) -> dict[str, Any]:
        """The parameters with the automatic thresholds computed for a pool of this size."""
        return {
            "min_count": self.min_count
            if self.min_count is not None
            else scaled_min_count(n_conversations),
            "semantic_threshold": self.semantic_threshold,
            "min_support": self.min_support
            if self.min_support is not None
            else scaled_min_count(n_conversations, base=40),
            "min_confidence": self.min_confidence,
        }


# --------------------------------------------------------------------------- working table


@dataclass(frozen=True, eq=False)
class TagTable:
    """The state between steps: raw tags, which conversations carry them, and their groups.

    Groups (the current canonical tags) are ordered by conversation count,
    descending, then name: index order is rank order.
    """

    raw: list[str]  # distinct raw tags, in first-seen order
    matrix: sp.csr_matrix  # conversations x raw tags, 1 where a conversation carries the tag
    group: np.ndarray  # int64 per raw tag: index into ``names``, or -1 when dropped
    names: list[str]  # canonical name of each group
    counts: np.ndarray  # int64 per group: conversations carrying any member
    steps: np.ndarray  # int8 per raw tag: index into STEPS of the last step that changed it
    report: tuple[dict[str, Any], ...] = ()

    @property
    def n_conversations(self) -> int:
        return self.matrix.shape[0]

    @property
    def raw_counts(self) -> np.ndarray:
        """Conversations carrying each raw tag."""
        return np.bincount(self.matrix.indices, minlength=len(self.raw))

    def group_matrix(self) -> sp.csr_matrix:
        """Conversations x groups, 1 where a conversation carries any member of the group."""
        return _group_matrix(self.matrix, self.group, len(self.names))

    def to_mapping(self, params: NormalizeParams | None = None) -> TagMapping:
        """The result as a :class:`TagMapping` (rows sorted by raw tag)."""
        raw_counts = self.raw_counts
        canonical: dict[str, str | None] = {}
        steps: dict[str, str] = {}
        counts: dict[str, int] = {}
        for i in sorted(range(len(self.raw)), key=self.raw.__getitem__):
            tag = self.raw[i]
            g = int(self.group[i])
            canonical[tag] = self.names[g] if g >= 0 else None
            steps[tag] = STEPS[int(self.steps[i])]
            counts[tag] = int(raw_counts[i])
        return TagMapping(
            canonical,
            steps,
            counts,
            params=asdict(params) if params is not None else None,
            report=[dict(entry) for entry in self.report],
        )


def _group_matrix(matrix: sp.csr_matrix, group: np.ndarray, n_groups: int) -> sp.csr_matrix:
    alive = np.flatnonzero(group >= 0)
    member = sp.csr_matrix(
        (np.ones(len(alive), dtype=np.int32), (alive, group[alive])),
        shape=(matrix.shape[1], n_groups),
    )
    grouped = (matrix @ member).tocsr()
    grouped.data[:] = 1  # a conversation with two members of a group counts it once
    return grouped


def build_table(tag_lists: Iterable[Sequence[str]]) -> TagTable:
    """Index raw tags: ``tag_lists[i]`` holds the raw tags of conversation i (None: no tags).

    Each raw tag starts as its own group, named by itself.
    """
    index: dict[str, int] = {}
    columns: list[int] = []
    indptr = [0]
    for i, tags in enumerate(tag_lists):
        if isinstance(tags, str):
            raise TypeError(f"tag_lists[{i}] is a string; expected a sequence of tags")
        for tag in tags or ():
            column = index.get(tag)
            if column is None:
                if not isinstance(tag, str):
                    raise TypeError(f"tag_lists[{i}] holds {tag!r}; tags must be strings")
                column = index[tag] = len(index)
            columns.append(column)
        indptr.append(len(columns))
    matrix = sp.csr_matrix(
        (
            np.ones(len(columns), dtype=np.int32),
            np.asarray(columns, dtype=np.int64),
            np.asarray(indptr, dtype=np.int64),
        ),
        shape=(len(indptr) - 1, len(index)),
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1
    raw = list(index)
    counts = np.bincount(matrix.indices, minlength=len(raw))
    order = sorted(range(len(raw)), key=lambda k: (-counts[k], raw[k]))
    rank = np.empty(len(raw), dtype=np.int64)
    rank[order] = np.arange(len(raw))
    return TagTable(
        raw=raw,
        matrix=matrix,
        group=rank,
        names=[raw[k] for k in order],
        counts=counts[order].astype(np.int64),
        steps=np.zeros(len(raw), dtype=np.int8),
        report=(
            {
                "step": "input",
                "conversations": matrix.shape[0],
                "assignments": int(matrix.nnz),
                "tags_in": len(raw),
                "tags_out": len(raw),
            },
        ),
    )


def _regroup(
    table: TagTable,
    label: np.ndarray,
    names: list[str],
    step: str,
    info: dict[str, Any],
    started: float,
) -> TagTable:
    """Map each current group to a new group (``label``; -1 drops it) named ``names[label]``.

    Recounts, re-sorts groups by (count desc, name) and records ``step`` for every
    raw tag whose canonical name changed; the report entry gets the seconds since
    ``started``.
    """
    label = np.asarray(label, dtype=np.int64)
    alive = table.group >= 0
    raw_label = np.full(len(table.raw), -1, dtype=np.int64)
    raw_label[alive] = label[table.group[alive]]
    counts = np.bincount(
        _group_matrix(table.matrix, raw_label, len(names)).indices, minlength=len(names)
    )
    order = sorted(range(len(names)), key=lambda k: (-counts[k], names[k]))
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    group = np.full(len(table.raw), -1, dtype=np.int64)
    has = raw_label >= 0
    group[has] = rank[raw_label[has]]
    renamed = np.array(
        [lab < 0 or names[lab] != old for lab, old in zip(label.tolist(), table.names)], dtype=bool
    )
    steps = table.steps.copy()
    changed = np.zeros(len(table.raw), dtype=bool)
    changed[alive] = renamed[table.group[alive]]
    steps[changed] = _STEP_CODE[step]
    entry = {"step": step, "tags_in": len(table.names), "tags_out": len(names), **info}
    entry["seconds"] = round(time.perf_counter() - started, 3)
    return TagTable(
        raw=table.raw,
        matrix=table.matrix,
        group=group,
        names=[names[k] for k in order],
        counts=counts[order].astype(np.int64),
        steps=steps,
        report=(*table.report, entry),
    )


# --------------------------------------------------------------------------- the steps


def aggregate_rules(table: TagTable) -> TagTable:
    """Step 1: merge tags with the same :func:`rule_key`.

    The merged tag is named by its most frequent cleaned form (conversations
    carrying any raw tag with that form), ties alphabetical. Tags whose key is
    empty (punctuation only) are dropped here.
    """
    start = time.perf_counter()
    cleaned_index: dict[str, int] = {}
    cleaned_of_group = np.array(
        [cleaned_index.setdefault(clean_tag(name), len(cleaned_index)) for name in table.names],
        dtype=np.int64,
    )
    cleaned = list(cleaned_index)
    raw_cleaned = np.full(len(table.raw), -1, dtype=np.int64)
    alive = table.group >= 0
    raw_cleaned[alive] = cleaned_of_group[table.group[alive]]
    cleaned_counts = np.bincount(
        _group_matrix(table.matrix, raw_cleaned, len(cleaned)).indices, minlength=len(cleaned)
    )
    key_index: dict[str, int] = {}
    key_of_cleaned = np.full(len(cleaned), -1, dtype=np.int64)
    best: list[int] = []  # per key: the cleaned form that names it
    for c, form in enumerate(cleaned):
        key = _key_of_clean(form)
        if not key:
            continue
        k = key_index.setdefault(key, len(key_index))
        key_of_cleaned[c] = k
        if k == len(best):
            best.append(c)
        elif (-cleaned_counts[c], form) < (-cleaned_counts[best[k]], cleaned[best[k]]):
            best[k] = c
    label = key_of_cleaned[cleaned_of_group]
    info = {
        "stemmer": stemmer_version(),
        "empty_dropped": int((label < 0).sum()),
    }
    return _regroup(table, label, [cleaned[c] for c in best], "rule", info, start)


def filter_frequency(table: TagTable, min_count: int) -> TagTable:
    """Step 2: drop tags carried by fewer than ``min_count`` conversations."""
    if min_count < 1:
        raise ValueError(f"min_count must be >= 1, got {min_count}")
    start = time.perf_counter()
    keep = table.counts >= min_count
    label = np.where(keep, np.cumsum(keep) - 1, -1)
    names = [name for name, kept in zip(table.names, keep.tolist()) if kept]
    return _regroup(table, label, names, "frequency", {"min_count": int(min_count)}, start)


def _block_rows(n: int, budget_floats: int = 16 << 20) -> int:
    """Rows per block so that a block of similarities takes at most ``budget_floats`` (64 MB)."""
    return int(max(64, min(4096, budget_floats // max(n, 1))))


def leader_clusters(
    vectors: np.ndarray, threshold: float, block_rows: int | None = None
) -> np.ndarray:
    """Greedy leader clustering; returns, for each row, the index of its leader (itself for leaders).

    Rows are visited in order (put the most frequent first): row i joins the
    leader j < i with the highest similarity ``vectors[i] @ vectors[j]`` >=
    ``threshold`` (ties: the earlier leader), else becomes a leader. That is the
    rule of :func:`curate.dedup.grouping.greedy_groups`, which decides here too.
    Rows are compared in blocks of ``block_rows`` against the leaders found so far, so
    peak memory is one ``block_rows x leaders`` block, never ``n x n``.
    Deterministic; give L2-normalised rows for cosine similarity.
    """
    v = np.ascontiguousarray(vectors, dtype=np.float32)
    if v.ndim != 2:
        raise ValueError(f"vectors must be 2-D, got shape {v.shape}")
    n, dim = v.shape
    block = block_rows if block_rows is not None else _block_rows(n)
    if block < 1:
        raise ValueError(f"block_rows must be >= 1, got {block}")
    leader_of = np.arange(n, dtype=np.int64)
    leaders = np.empty((n, dim), dtype=np.float32)  # leaders' vectors, contiguous
    leader_index = np.empty(n, dtype=np.int64)
    n_leaders = 0
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = v[start:stop]
        size = stop - start
        own = np.arange(start, stop, dtype=np.int64)
        if n_leaders:
            # All earlier leaders come before every row of the block, so a row's
            # choice among them is its most similar one (argmax: ties to the earliest).
            sims = rows @ leaders[:n_leaders].T
            best = sims.argmax(axis=1)
            best_sim = sims[np.arange(size), best]
            del sims
            assigned = np.where(best_sim >= threshold, leader_index[best], own)
        else:
            best_sim = np.full(size, -np.inf, dtype=np.float32)
            assigned = own.copy()
        # Rows similar to an earlier row of the block: the greedy rule decides them, on
        # the pairs inside the block plus each such row's best earlier leader.
        inner = rows @ rows.T
        later, earlier = np.nonzero(np.tril(inner >= threshold, -1))
        if len(later):
            _resolve_block(start, assigned, best_sim, threshold, later, earlier, inner)
        leader_of[start:stop] = assigned
        new = np.flatnonzero(assigned == own)
        leaders[n_leaders : n_leaders + len(new)] = rows[new]
        leader_index[n_leaders : n_leaders + len(new)] = start + new
        n_leaders += len(new)
    return leader_of


def _resolve_block(
    start: int,
    assigned: np.ndarray,
    best_sim: np.ndarray,
    threshold: float,
    later: np.ndarray,
    earlier: np.ndarray,
    inner: np.ndarray,
) -> None:
    """Apply :func:`~curate.dedup.grouping.greedy_groups` to one block's similar pairs.

    Nodes: the earlier leaders that some row of the pairs is within the threshold
    of (first, in index order: they come before the block), then the rows of the
    pairs. Edges: the pairs, and each row to its best earlier leader. Updates
    ``assigned`` (global indices) for the rows of the pairs.
    """
    rows = np.union1d(later, earlier)  # block-local, ascending
    has_leader = rows[best_sim[rows] >= threshold]
    outside = np.unique(assigned[has_leader])  # global indices, all < start
    local = np.full(len(assigned), -1, dtype=np.int64)  # block row -> node
    local[rows] = len(outside) + np.arange(len(rows))
    total = len(outside) + len(rows)
    pairs = Pairs(
        np.concatenate([local[later], np.searchsorted(outside, assigned[has_leader])]),
        np.concatenate([local[earlier], local[has_leader]]),
        np.concatenate([inner[later, earlier], best_sim[has_leader]]).astype(np.float32),
    )
    groups = greedy_groups(total, pairs, np.arange(total))
    node_index = np.concatenate([outside, start + rows])  # node -> global row index
    assigned[rows] = node_index[groups.representative[len(outside) :]]


def aggregate_semantic(
    table: TagTable,
    embed: Embed | None,
    threshold: float = 0.85,
    block_rows: int | None = None,
) -> TagTable:
    """Step 3: merge tags whose name embeddings have cosine similarity >= ``threshold``.

    ``embed(names)`` returns one row per name (L2-normalised; rows are normalised
    again here). Clustering: :func:`leader_clusters` in rank order, so the
    canonical of a merged group is its most frequent member. ``embed=None``
    skips the step and records that in the report.
    """
    start = time.perf_counter()
    n = len(table.names)
    if embed is None:
        entry = {"step": "semantic", "tags_in": n, "tags_out": n, "skipped": True}
        entry["reason"] = "no embed function given"
        return _replace_report(table, entry)
    vectors = np.asarray(embed(list(table.names)) if n else np.zeros((0, 1)), dtype=np.float32)
    if vectors.ndim != 2 or vectors.shape[0] != n:
        raise ValueError(f"embed returned shape {vectors.shape} for {n} tags; expected ({n}, dim)")
    if not np.isfinite(vectors).all():
        raise ValueError("embed returned non-finite values")
    embed_seconds = time.perf_counter() - start
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    vectors = vectors / np.where(norms > 0, norms, 1)
    block = block_rows if block_rows is not None else _block_rows(n)
    leader_of = leader_clusters(vectors, threshold, block)
    leaders = np.flatnonzero(leader_of == np.arange(n))
    label_of_leader = np.full(n, -1, dtype=np.int64)
    label_of_leader[leaders] = np.arange(len(leaders))
    info = {
        "threshold": float(threshold),
        "dim": int(vectors.shape[1]),
        "block_rows": int(block),
        "embed_seconds": round(embed_seconds, 3),
    }
    names = [table.names[i] for i in leaders]
    return _regroup(table, label_of_leader[leader_of], names, "semantic", info, start)


def _replace_report(table: TagTable, entry: dict[str, Any]) -> TagTable:
    return TagTable(
        table.raw,
        table.matrix,
        table.group,
        table.names,
        table.counts,
        table.steps,
        (*table.report, entry),
    )


def association_targets(
    grouped: sp.csr_matrix, counts: np.ndarray, min_support: int, min_confidence: float
) -> tuple[np.ndarray, int]:
    """Where each tag (column, in rank order) is merged by association rules, and how many rules.

    Rule a -> b when b ranks before a, support(a, b) >= ``min_support`` and
    support(a, b) / support(a) >= ``min_confidence``; a follows its most
    confident rule (ties: the better-ranked b), and chains to their end.
    """
    n = len(counts)
    target = np.arange(n, dtype=np.int64)
    frequent = np.flatnonzero(counts >= min_support)  # both sides need the support
    if len(frequent) < 2:
        return target, 0
    sub = grouped[:, frequent].tocsc()
    co = (sub.T @ sub).tocoo()
    a, b, support = frequent[co.row], frequent[co.col], co.data.astype(np.int64)
    confidence = support / counts[a]
    rule = (b < a) & (support >= min_support) & (confidence >= min_confidence)
    a, b, confidence = a[rule], b[rule], confidence[rule]
    if not len(a):
        return target, 0
    order = np.lexsort((b, -confidence, a))
    a, b = a[order], b[order]
    first = np.r_[True, a[1:] != a[:-1]]
    target[a[first]] = b[first]
    while True:  # b < a along every rule, so this reaches a fixed point
        followed = target[target]
        if np.array_equal(followed, target):
            break
        target = followed
    return target, int(len(a))


def aggregate_association(
    table: TagTable, min_support: int, min_confidence: float = 0.99
) -> TagTable:
    """Step 4: merge a tag into a more frequent one it almost always occurs with.

    See :func:`association_targets`. "More frequent" is rank order: higher
    count, ties alphabetical.
    """
    if min_support < 1 or not 0.0 < min_confidence <= 1.0:
        raise ValueError("need min_support >= 1 and 0 < min_confidence <= 1")
    start = time.perf_counter()
    target, n_rules = association_targets(
        table.group_matrix(), table.counts, min_support, min_confidence
    )
    n = len(table.names)
    roots = np.flatnonzero(target == np.arange(n))
    label_of_root = np.full(n, -1, dtype=np.int64)
    label_of_root[roots] = np.arange(len(roots))
    info = {
        "min_support": int(min_support),
        "min_confidence": float(min_confidence),
        "rules": n_rules,
    }
    names = [table.names[i] for i in roots]
    return _regroup(table, label_of_root[target], names, "association", info, start)


def normalize_tags(
    tag_lists: Sequence[Sequence[str]],
    params: NormalizeParams | None = None,
    embed: Embed | None = None,
) -> TagMapping:
    """Rules, frequency filter, semantic merge (skipped when ``embed`` is None), association."""
    params = params if params is not None else NormalizeParams()
    start = time.perf_counter()
    table = build_table(tag_lists)
    resolved = params.resolve(table.n_conversations)
    table = aggregate_rules(table)
    table = filter_frequency(table, resolved["min_count"])
    table = aggregate_semantic(table, embed, resolved["semantic_threshold"])
    table = aggregate_association(table, resolved["min_support"], resolved["min_confidence"])
    mapping = table.to_mapping(params)
    mapping.report.append({"step": "total", "seconds": round(time.perf_counter() - start, 3)})
    return mapping


# --------------------------------------------------------------------------- the result


_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_UNESCAPE = re.compile(r"\\(.)", re.S)
_UNESCAPED = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
_COUNT = re.compile(r"[0-9]+")


def _unescape(text: str) -> str:
    return _UNESCAPE.sub(lambda m: _UNESCAPED.get(m.group(1), m.group(0)), text)


@dataclass
class TagMapping:
    """Raw tag -> canonical tag (None: dropped), with each raw tag's step and count.

    ``params`` (``asdict(NormalizeParams)``) and ``report`` (one entry per step:
    tags in/out, resolved thresholds, seconds) belong in the stage manifest; the
    TSV written by :meth:`save` holds the mapping itself, and equality compares
    only that.
    """

    canonical: dict[str, str | None]
    steps: dict[str, str]
    counts: dict[str, int]
    params: dict[str, Any] | None = field(default=None, compare=False)
    report: list[dict[str, Any]] = field(default_factory=list, compare=False)

    def apply(
        self,
        tag_lists: Iterable[Sequence[str]],
        unknown: Literal["rule", "drop", "error"] = "rule",
    ) -> list[list[str]]:
        """Map each conversation's raw tags to canonical ones, dropping None and repeats.

        The first occurrence keeps its place; a None list gives []. A raw tag not in the mapping is,
        with ``unknown="rule"``, mapped like the most frequent known raw tag with
        the same :func:`rule_key` (dropped when there is none); ``"drop"`` drops
        it; ``"error"`` raises KeyError.
        """
        if unknown not in ("rule", "drop", "error"):
            raise ValueError(f"unknown must be 'rule', 'drop' or 'error', got {unknown!r}")
        lookup = self.canonical
        by_key: dict[str, str | None] | None = None
        result = []
        for tags in tag_lists:
            out: dict[str, None] = {}  # an ordered set
            for tag in tags or ():
                if tag in lookup:
                    canonical = lookup[tag]
                elif unknown == "error":
                    raise KeyError(f"raw tag {tag!r} is not in the mapping")
                elif unknown == "drop":
                    canonical = None
                else:
                    if by_key is None:
                        by_key = self._by_rule_key()
                    canonical = by_key.get(rule_key(tag))
                if canonical is not None:
                    out[canonical] = None
            result.append(list(out))
        return result

    def _by_rule_key(self) -> dict[str, str | None]:
        by_key: dict[str, str | None] = {}
        for raw in sorted(self.canonical, key=lambda r: (-self.counts.get(r, 0), r)):
            by_key.setdefault(rule_key(raw), self.canonical[raw])
        return by_key

    def canonical_counts(self, tag_lists: Iterable[Sequence[str]] | None = None) -> dict[str, int]:
        """Count per canonical tag, most frequent first (ties alphabetical).

        Without ``tag_lists``: the raw tags' counts summed (tag assignments; a
        conversation that listed two variants of a tag counts twice). With
        ``tag_lists``: conversations carrying the tag after :meth:`apply`.
        """
        totals: dict[str, int] = {}
        if tag_lists is None:
            for raw, canonical in self.canonical.items():
                if canonical is not None:
                    totals[canonical] = totals.get(canonical, 0) + self.counts.get(raw, 0)
        else:
            for tags in self.apply(tag_lists):
                for tag in tags:
                    totals[tag] = totals.get(tag, 0) + 1
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    def manifest(self) -> dict[str, Any]:
        """Parameters, per-step report and totals, JSON-ready, for the stage manifest."""
        kept = {c for c in self.canonical.values() if c is not None}
        return {
            "params": self.params,
            "report": self.report,
            "stemmer": stemmer_version(),
            "raw_tags": len(self.canonical),
            "canonical_tags": len(kept),
            "dropped_raw_tags": sum(c is None for c in self.canonical.values()),
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a TSV, ``raw canonical count step``, grouped by canonical tag.

        Rows: by canonical (alphabetical), then count (descending), then raw; the
        dropped ones (empty canonical) last. Tabs, newlines and backslashes in
        tags are written as ``\\t``, ``\\n``, ``\\\\``.
        """
        rows = sorted(
            self.canonical,
            key=lambda r: (
                self.canonical[r] is None,
                self.canonical[r] or "",
                -self.counts.get(r, 0),
                r,
            ),
        )
        lines = ["\t".join(TSV_HEADER)]
        for raw in rows:
            canonical = self.canonical[raw]
            lines.append(
                "\t".join(
                    (
                        raw.translate(_ESCAPE),
                        (canonical or "").translate(_ESCAPE),
                        str(self.counts.get(raw, 0)),
                        self.steps.get(raw, MANUAL),
                    )
                )
            )
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TagMapping:
        """Read a TSV written by :meth:`save`, possibly edited by hand.

        An empty canonical means dropped; surrounding spaces of a canonical are
        ignored; an empty count reads as 0 and an empty step as "manual". Blank
        lines are skipped. Raises ValueError naming the line for anything else.
        """
        with open(path, encoding="utf-8-sig", newline="") as f:
            lines = f.read().split("\n")
        header = lines[0].rstrip("\r").split("\t") if lines else []
        if [h.strip().lower() for h in header] != list(TSV_HEADER):
            raise ValueError(f"{path}: the first line must be the header {' '.join(TSV_HEADER)}")
        canonical: dict[str, str | None] = {}
        steps: dict[str, str] = {}
        counts: dict[str, int] = {}
        allowed = (*STEPS, MANUAL)
        for number, line in enumerate(lines[1:], start=2):
            line = line.removesuffix("\r")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) != 4:
                raise ValueError(
                    f"{path}:{number}: expected 4 tab-separated fields, got {len(fields)}"
                )
            raw = _unescape(fields[0])
            if raw in canonical:
                raise ValueError(f"{path}:{number}: raw tag {raw!r} is listed twice")
            target = _unescape(fields[1]).strip()
            count_text, step = fields[2].strip(), fields[3].strip() or MANUAL
            if count_text and not _COUNT.fullmatch(count_text):
                raise ValueError(f"{path}:{number}: count {count_text!r} is not a whole number")
            if step not in allowed:
                raise ValueError(
                    f"{path}:{number}: step {step!r} is not one of {', '.join(allowed)}"
                )
            canonical[raw] = target or None
            counts[raw] = int(count_text) if count_text else 0
            steps[raw] = step
        return cls(canonical, steps, counts)
