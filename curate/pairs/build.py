"""Which preference pairs ``curate pairs`` builds: pure numpy functions, and the store read.

The answers to one prompt (rows sharing a ``prompt_id``) are ranked by the **combined
score**, with the weights ``curate select`` uses (:func:`curate.select.stage.default_weights`):
with one positively weighted score it is that score itself, in its own units; with several,
their weighted mean after standardizing each across the whole eligible pool
(:func:`curate.select.stage.prompt_quality`), in pool standard deviations. Equal scores are
ordered as select orders them (:func:`curate.select.algorithms.tie_order`: each score alone,
heaviest weight first, then the id), so every group has one total order, best first:

* ``worst``: one pair, the best against the last;
* ``2-worst``: the best against the last and against the one before it (groups of 3 or more);
* ``below-median``: the best against every answer whose score is strictly below the
  group's median.

A pair is kept when ``chosen - rejected > 0`` (``min_margin`` 0: equal scores are a tie,
never a pair) or ``>= min_margin`` otherwise. Everything here works on whole arrays: no
Python loop over rows or groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import flags, names, prompts
from curate.errors import CurateError
from curate.runner import sidecar_state, stale_inputs
from curate.store import Store

WORST, TWO_WORST, BELOW_MEDIAN = "worst", "2-worst", "below-median"
REJECTED_MODES = (WORST, TWO_WORST, BELOW_MEDIAN)
POOL_SD = "pool standard deviations"
#: flags of a row that ends without an assistant reply: a prompt, not an answer
NOT_AN_ANSWER = (flags.NO_ASSISTANT_FLAG, flags.ENDS_ON_USER_FLAG)
#: flags that make an ingested preference record say nothing, in the order they are counted
INGESTED_DROPS = (
    flags.PREFERENCE_IDENTICAL_FLAG,
    flags.PREFERENCE_TIE_FLAG,
    flags.REJECTED_PREFIX_DIFFERS_FLAG,
)


# -- pure functions ---------------------------------------------------------------------------


def has_flag(column: pa.Array | pa.ChunkedArray, wanted: tuple[str, ...]) -> np.ndarray:
    """Whether each row's list of flags holds one of ``wanted``, (N,) bool."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    out = np.zeros(len(column), dtype=bool)
    flat = pc.list_flatten(column)
    if not len(flat):
        return out
    parent = pc.list_parent_indices(column).to_numpy(zero_copy_only=False)
    hit = pc.fill_null(pc.is_in(flat, value_set=pa.array(wanted, pa.string())), False)
    out[parent[hit.to_numpy(zero_copy_only=False)]] = True
    return out


def combined_score(
    quality: dict[str, np.ndarray], weights: dict[str, float], missing: str, rows: np.ndarray
) -> tuple[np.ndarray, str | None]:
    """The score that ranks the answers to one prompt, (N,) float64 (NaN outside ``rows`` or
    where it is missing), and its unit: the score key, or :data:`POOL_SD`."""
    from curate.select.stage import prompt_quality

    positive = [k for k, w in sorted(weights.items()) if w > 0]
    out = np.full(len(rows), np.nan)
    if not positive:
        return out, None
    if len(positive) == 1:
        out[rows] = quality[positive[0]][rows]
        return out, positive[0]
    return prompt_quality(quality, weights, missing, rows), POOL_SD


@dataclass
class Choice:
    """The pairs of every prompt group, in group order and worst rejected first."""

    chosen: np.ndarray  # int64 (P,): row of the chosen answer
    rejected: np.ndarray  # int64 (P,): row of the rejected answer
    groups_scored: int  # prompt groups with at least two scored answers
    single_answer: int  # prompt groups with exactly one scored answer


def choose_pairs(
    group: np.ndarray, score: np.ndarray, tie_rank: np.ndarray, eligible: np.ndarray, mode: str
) -> Choice:
    """Chosen and rejected rows of each group of ``eligible`` rows with a score.

    ``group`` (N,) int codes, ``score`` (N,) float (higher is better, NaN: no score, left
    out), ``tie_rank`` (N,) int (smaller first among equal scores), ``mode`` one of
    :data:`REJECTED_MODES`.
    """
    if mode not in REJECTED_MODES:
        raise ValueError(f"mode must be one of {REJECTED_MODES}, not {mode!r}")
    score = np.asarray(score, dtype=np.float64)
    rows = np.flatnonzero(np.asarray(eligible, dtype=bool) & ~np.isnan(score))
    empty = np.zeros(0, dtype=np.int64)
    if not len(rows):
        return Choice(empty, empty, 0, 0)
    group = np.asarray(group)
    order = np.lexsort((np.asarray(tie_rank)[rows], -score[rows], group[rows]))
    r = rows[order]  # every group's rows together, best first
    g = group[r]
    starts = np.flatnonzero(np.append(True, g[1:] != g[:-1]))
    sizes = np.diff(np.append(starts, len(r)))
    multi = sizes >= 2
    first, size = starts[multi], sizes[multi]
    if mode == WORST:
        best, worst = first, first + size - 1
    elif mode == TWO_WORST:
        per = 1 + (size >= 3)  # the worst, and the second worst when it is not the best
        best = np.repeat(first, per)
        step = np.arange(len(best)) - np.repeat(np.cumsum(per) - per, per)
        worst = np.repeat(first + size - 1, per) - step
    else:
        s = score[r]
        median = np.full(len(starts), np.nan)
        median[multi] = (s[first + (size - 1) // 2] + s[first + size // 2]) / 2
        of = np.repeat(np.arange(len(starts)), sizes)  # group index of each position
        below = np.flatnonzero(s < median[of])  # NaN median (one answer): never
        below = below[np.lexsort((-below, of[below]))]  # group order, worst first
        best, worst = starts[of[below]], below
    return Choice(
        r[best].astype(np.int64),
        r[worst].astype(np.int64),
        int(multi.sum()),
        int((sizes == 1).sum()),
    )


def margin_verdicts(
    margin: np.ndarray, min_margin: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(keep, tie, below_min_margin)`` masks of pairs with these margins (chosen - rejected).

    ``min_margin`` 0: a pair needs a margin above 0; else at least ``min_margin``. A margin
    of 0 is a tie either way.
    """
    margin = np.asarray(margin, dtype=np.float64)
    tie = margin <= 0
    keep = margin > 0 if min_margin == 0 else margin >= min_margin
    keep &= ~tie
    return keep, tie, ~keep & ~tie


# -- the store --------------------------------------------------------------------------------

COLUMNS = ["id", "prompt_id", "lang", "lang_user", "rejected", "flags"]


@dataclass
class Pool:
    """What pairs are built from: one entry per base row, in base order."""

    table: pa.Table  # COLUMNS and the sidecars' columns
    ids: np.ndarray  # str (N,)
    group: np.ndarray  # int64 (N,): prompt group codes
    quality: dict[str, np.ndarray]  # score key -> (N,) float64, NaN where missing
    weights: dict[str, float]
    sidecars: list[str]  # the sidecars read (the report's inputs)
    tags_sidecar: str | None
    has_dedup: bool
    answer: np.ndarray  # bool (N,): ends with an assistant reply
    ingested: np.ndarray  # bool (N,): a preference record (has a rejected answer)
    dropped_by_dedup: np.ndarray  # bool (N,)
    ingested_flag: dict[str, np.ndarray] = field(default_factory=dict)  # INGESTED_DROPS masks

    @property
    def n(self) -> int:
        return len(self.ids)


def check_weights(weights: dict[str, float], complete: bool = True) -> None:
    """Weights that rank: finite, none negative, and (``complete``: every score's weight, the
    defaults filled in) at least one positive."""
    for name, weight in weights.items():
        if not math.isfinite(weight):
            raise CurateError(f"--weights {name}={weight} is not a finite number; give a number")
    negative = {k: w for k, w in weights.items() if w < 0}
    if negative:
        raise CurateError(
            f"--weights must be 0 or more, got {negative}; a score you do not trust gets 0"
        )
    if complete and weights and max(weights.values()) <= 0:
        raise CurateError(
            f"--weights gives no score a positive weight ({weights}); give at least one score "
            f"a weight above 0, e.g. --weights {next(iter(weights))}=1"
        )


@dataclass(frozen=True)
class Sources:
    """The store results pairs are built from, checked (nothing read yet)."""

    scores: dict[str, str]  # score key -> its column
    weights: dict[str, float]
    tags_sidecar: str | None
    has_dedup: bool

    @property
    def sidecars(self) -> list[str]:
        out = [prompt_judges_sidecar(k) or names.score_sidecar(k) for k in sorted(self.scores)]
        return (
            out + [s for s in (self.tags_sidecar,) if s] + ([names.DEDUP] if self.has_dedup else [])
        )


def prompt_judges_sidecar(key: str) -> str | None:
    """The sidecar of a prompt-group judge's key (``judge.NAME.prompts``), else None."""
    from curate.judge.grouped import PROMPTS_SUFFIX

    return key if key.startswith("judge.") and key.endswith(PROMPTS_SUFFIX) else None


def prompt_judge_scores(store: Store) -> dict[str, str]:
    """``curate judge --groups prompt`` results (Bradley-Terry strengths of the answers to one
    prompt, ``judge.NAME.prompts``), complete and fresh: key -> strength column. They rank the
    answers within a prompt, which is what pairs compares; select does not weigh them."""
    from curate.judge.grouped import PROMPTS_SUFFIX, prefix_of

    out = {}
    for name in store.sidecars():
        if name.startswith("judge.") and name.endswith(PROMPTS_SUFFIX):
            state = sidecar_state(store, name)
            if state == "stale":
                raise CurateError(
                    f"{name} in {store.root} is stale: {', '.join(stale_inputs(store, name))} "
                    "changed after it was built; run `curate judge --groups prompt` again"
                )
            if state == "complete":
                judge = name.removeprefix("judge.").removesuffix(PROMPTS_SUFFIX)
                out[name] = f"{prefix_of(judge)}_score"
    return out


def find_sources(store: Store, weights: dict[str, float], tagger: str | None) -> Sources:
    """The complete score sidecars and their weights, the tags (if any) and dedup's marks;
    refuses stale ones."""
    from curate.score.stage import score_columns
    from curate.select.stage import default_weights
    from curate.tag.stage import find_tags

    stale = [
        name
        for name in store.sidecars()
        if name.startswith(names.SCORE) and sidecar_state(store, name) == "stale"
    ]
    if stale:  # scores rebuilt under a judge built on them: never weighed silently, nor dropped
        raise CurateError(
            f"{stale[0]} in {store.root} is stale: {', '.join(stale_inputs(store, stale[0]))} "
            "changed after it was built; run the stage that wrote it again, or remove it"
        )
    scores = {names.score_key(name): column for name, column in score_columns(store).items()}
    scores |= prompt_judge_scores(store)
    full = default_weights(sorted(scores), weights)
    check_weights(full)
    if tagger is not None:
        tags_sidecar = find_tags(store, tagger)
    else:
        try:
            tags_sidecar = find_tags(store)
        except CurateError:  # no tags: the pairs have none
            tags_sidecar = None
    dedup_state = sidecar_state(store, names.DEDUP)
    if dedup_state == "stale":
        raise CurateError(
            f"the dedup result of {store.root} is stale: "
            f"{', '.join(stale_inputs(store, names.DEDUP))} changed after it ran; run "
            f"`curate dedup {store.root}` again first"
        )
    return Sources(scores, full, tags_sidecar, dedup_state == "complete")


def read_pool(store: Store, sources: Sources, include_duplicates: bool) -> Pool:
    """The store's rows with their scores, dedup marks and tags (no messages read)."""
    from curate.score.stage import score_arrays

    table = store.read(columns=COLUMNS, sidecars=sources.sidecars)
    n = table.num_rows
    dropped = np.zeros(n, dtype=bool)
    if sources.has_dedup and not include_duplicates:
        dropped = ~pc.fill_null(table.column("dup_keep"), True).to_numpy(zero_copy_only=False)
    flag_column = table.column("flags")
    return Pool(
        table=table,
        ids=table.column("id").to_numpy(zero_copy_only=False).astype(str),
        group=prompts.prompt_codes(table.column("prompt_id")),
        quality=score_arrays(table, sources.scores),
        weights=sources.weights,
        sidecars=sources.sidecars,
        tags_sidecar=sources.tags_sidecar,
        has_dedup=sources.has_dedup,
        answer=~has_flag(flag_column, NOT_AN_ANSWER),
        ingested=~pc.is_null(table.column("rejected")).to_numpy(zero_copy_only=False),
        dropped_by_dedup=np.asarray(dropped, dtype=bool),
        ingested_flag={flag: has_flag(flag_column, (flag,)) for flag in INGESTED_DROPS},
    )


@dataclass
class Plan:
    """The pairs to build before any judge: scored pairs, ingested rows, and what was dropped."""

    chosen: np.ndarray  # int64 (P,): scored pairs that passed the margin
    rejected: np.ndarray  # int64 (P,)
    score: np.ndarray  # float64 (N,): the combined score (NaN: none)
    unit: str | None
    ingested: np.ndarray  # int64 (I,): rows of ingested pairs that pass through
    dropped: dict[str, int]
    counts: dict[str, Any]


def plan_pairs(pool: Pool, mode: str, missing: str, min_margin: float, ingested: bool) -> Plan:
    """Choose the scored pairs (margins applied) and the ingested pairs of ``pool``."""
    from curate.select import algorithms

    n = pool.n
    dropped: dict[str, int] = {}
    scored_rows = pool.answer & ~pool.ingested
    dropped["no_answer"] = int((~pool.answer).sum())
    dropped["dedup"] = int((scored_rows & pool.dropped_by_dedup).sum())
    eligible = scored_rows & ~pool.dropped_by_dedup
    score, unit = combined_score(pool.quality, pool.weights, missing, eligible)
    dropped["missing_score"] = int((eligible & np.isnan(score)).sum())
    ties = algorithms.tie_order(pool.quality, pool.weights, pool.ids)
    choice = choose_pairs(pool.group, score, ties, eligible, mode)
    dropped["single_answer"] = choice.single_answer  # prompts, not rows
    margin = score[choice.chosen] - score[choice.rejected]
    keep, tie, below = margin_verdicts(margin, min_margin)
    dropped["tie"] = int(tie.sum())
    dropped["below_min_margin"] = int(below.sum())

    through = np.zeros(n, dtype=bool)
    if ingested:
        through = pool.ingested & pool.answer
        for flag in INGESTED_DROPS:
            hit = through & pool.ingested_flag[flag]
            dropped[flag] = int(hit.sum())
            through &= ~hit
    counts = {
        "rows": n,
        "prompts": int(len(np.unique(pool.group))),
        "answers_scored": int((eligible & ~np.isnan(score)).sum()),
        "prompts_with_two_scored": choice.groups_scored,
        "pairs_considered": int(len(choice.chosen)),
        "ingested_records": int((pool.ingested & pool.answer).sum()),
    }
    return Plan(
        choice.chosen[keep],
        choice.rejected[keep],
        score,
        unit,
        np.flatnonzero(through).astype(np.int64),
        dropped,
        counts,
    )
