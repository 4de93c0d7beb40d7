"""``curate judge`` around its stages: the plan, the run, and showing verdicts.

Pointwise, the run is the score stage's declaration (:func:`curate.score.stage.score_stage`)
with the judge as its scorer: chunks checkpointed as they finish, resume, a manifest with
the judge's parameters (template text included), its identity, counts per status,
tokens, and the calls made and read from the cache in this run. Pairwise and funnel, it
is the grouped judge's whole-store stage (:mod:`curate.judge.grouped`), checkpointed by
the call cache: every part of calls is kept as it returns.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from curate import names
from curate.errors import CurateError
from curate.judge import design, funnel, grouped
from curate.judge.cache import CallCache
from curate.judge.calls import Request
from curate.judge.pointwise import STATUS_OK, PointwiseJudge
from curate.runner import Loaded, Stage, StageResult, run_stage
from curate.score.stage import DEFAULT_CHUNK_ROWS, score_stage
from curate.store import Store

CHARS_PER_TOKEN = 4  # a rough planning figure (Latin text ~4, Chinese ~1.5 characters a token)


@dataclass
class Plan:
    """What a run will ask the judge for, before any call."""

    rows: int
    judged: int  # conversations with a reply to rate: one call each, plus retries
    skipped: dict[str, int]  # why the others are not judged
    prompt_tokens: int  # estimated, CHARS_PER_TOKEN
    max_completion_tokens: int  # judged x max_new_tokens: the most the replies can take

    @property
    def calls(self) -> int:
        return self.judged


def plan(store: Store, judge: PointwiseJudge) -> Plan:
    """Count the calls and estimate the tokens (reads messages shard by shard; no backend)."""
    judge.load_template()
    rows = judged = chars = 0
    skipped: dict[str, int] = {}
    for shard in store.iter_shards(columns=list(judge.input_columns)):
        rows += shard.num_rows
        for _, prompt, why in judge.prepare(shard):
            if prompt is None:
                skipped[why] = skipped.get(why, 0) + 1
            else:
                judged += 1
                chars += len(prompt[0]["content"])
    return Plan(rows, judged, skipped, chars // CHARS_PER_TOKEN, judged * judge.max_new_tokens)


def print_plan(p: Plan, console: Any) -> None:
    skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(p.skipped.items())) or "none"
    console.print(
        f"judge plan: {p.calls:,} calls for {p.rows:,} conversations (not judged: {skipped}); "
        f"about {p.prompt_tokens:,} prompt tokens, at most {p.max_completion_tokens:,} completion "
        "tokens; calls already in the store's cache are not made again, a reply that does not "
        "parse costs one more call"
    )


@dataclass
class GroupPlan:
    """What a pairwise or funnel run will ask for, before any call (pairwise: at most)."""

    mode: str
    rows: int
    groups: int  # groups with something to judge
    skipped: dict[str, int]  # rows never judged, by why
    pointwise_calls: int  # funnel: the top-K rows' ratings (first attempts)
    pointwise_cached: int  # of them, already in the store's cache
    pointwise_prompt_tokens: int
    first_round_calls: int  # both orders
    adaptive_calls_at_most: int  # both orders, every later round at its most
    pair_prompt_tokens: float  # per pairwise call, estimated
    max_new_tokens: int

    @property
    def calls_at_most(self) -> int:
        return self.pointwise_calls + self.first_round_calls + self.adaptive_calls_at_most


def plan_grouped(store: Store, judge: grouped.GroupedJudge) -> GroupPlan:
    """Count the calls of a pairwise or funnel run (reads the store; no backend)."""
    judge.load_templates()
    o = judge.options
    c = judge.candidates(store, grouped.input_sidecars(store, o))
    pool, status, prompts = c.pool, c.status, c.prompts
    rows = c.judged
    chars = [sum(len(m["content"] or "") for m in c.messages[r]) for r in rows.tolist()]
    sizes = (
        np.bincount(pool.group[rows], minlength=len(pool.group_names))
        if len(rows)
        else (np.zeros(0, dtype=np.int64))
    )
    sizes = sizes[sizes > 0]
    pointwise_calls = cached = pointwise_tokens = 0
    if o.mode == grouped.FUNNEL:
        pointwise_calls = len(rows)
        pointwise_tokens = sum(len(prompts[r][0]["content"]) for r in rows.tolist())
        pointwise_tokens //= CHARS_PER_TOKEN
        try:
            identity_known = bool(judge.backend.identity())
        except CurateError:  # a local model is known by its weights' hash: only once loaded
            identity_known = False
        if identity_known:
            from curate.judge.calls import Asker

            asker = Asker(
                judge.backend, CallCache(store.root, judge.name), judge.pointwise.template
            )
            cached = pointwise_calls - asker.pending(
                [Request((pool.ids[r],), prompts[r]) for r in rows.tolist()]
            )
        spans = [funnel.band(n, o.quota, o.band) for n in sizes.tolist()]
        band = np.asarray([stop - start for start, stop in spans], dtype=np.int64)
        adaptive = band > 0  # a band always holds the cut
    else:
        band = sizes.astype(np.int64)
        adaptive = band > o.quota
    first = 2 * int(design.sparse_pairs(band, o.opponents).sum())
    later = design.later_pairs_at_most(band, o.opponents, o.rounds)
    later = 2 * int(later[adaptive].sum())
    mean_chars = float(np.mean(chars)) if chars else 0.0
    template_chars = len(judge.pair_template.text)
    skipped = dict(Counter(status[status != None].tolist()))  # noqa: E711
    return GroupPlan(
        mode=o.mode,
        rows=len(pool.ids),
        groups=int(len(sizes)),
        skipped=skipped,
        pointwise_calls=pointwise_calls,
        pointwise_cached=cached,
        pointwise_prompt_tokens=pointwise_tokens,
        first_round_calls=first,
        adaptive_calls_at_most=later,
        pair_prompt_tokens=(template_chars + 2 * mean_chars) / CHARS_PER_TOKEN,
        max_new_tokens=judge.pointwise.max_new_tokens,
    )


def print_group_plan(p: GroupPlan, console: Any) -> None:
    skipped = ", ".join(f"{k} {v:,}" for k, v in sorted(p.skipped.items())) or "none"
    pair_calls = p.first_round_calls + p.adaptive_calls_at_most
    lines = [
        f"judge plan ({p.mode}): {p.rows:,} conversations in {p.groups:,} groups to judge; "
        f"not judged: {skipped}"
    ]
    if p.mode == grouped.FUNNEL:
        lines.append(
            f"  pointwise: {p.pointwise_calls:,} calls (the top of each cluster), "
            f"{p.pointwise_cached:,} already in the cache; about "
            f"{p.pointwise_prompt_tokens:,} prompt tokens"
        )
    lines.append(
        f"  pairwise, both orders: {p.first_round_calls:,} calls in the first round, at most "
        f"{p.adaptive_calls_at_most:,} more near the cut; about "
        f"{round(pair_calls * p.pair_prompt_tokens):,} prompt tokens at most"
    )
    lines.append(
        f"  at most {p.calls_at_most:,} calls and {p.calls_at_most * p.max_new_tokens:,} "
        "completion tokens; calls in the store's cache are not made again, a reply that does "
        "not parse costs one more call"
    )
    console.print("\n".join(lines))


def _run_loaded(
    store: Store, judge: Any, stage: Any, overwrite: bool, progress: Any
) -> StageResult:
    """Load ``judge``, run the stage ``stage(judge)`` declares, and always close its backend."""
    store.require_base()
    judge.load()
    try:
        return run_stage(store, stage(judge), overwrite=overwrite, progress=progress)
    finally:
        judge.backend.close()


def run_grouped(
    store: Store, judge: grouped.GroupedJudge, overwrite: bool = False, progress: Any = None
) -> StageResult:
    """Judge the store's groups into the judge's sidecar (the backend is loaded here)."""
    return _run_loaded(store, judge, lambda j: j.stage(store), overwrite, progress)


def run_judge(
    store: Store,
    judge: PointwiseJudge,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Any = None,
    engine: Any = None,
) -> StageResult:
    """Judge every row of ``store`` into ``score.judge.<name>``.

    The judge is loaded where the work runs: here, or in each Ray worker (``engine``).
    """
    store.require_base()
    recipe = Loaded(judge, pointwise_stage, (chunk_rows,))
    return run_stage(store, recipe, overwrite=overwrite, progress=progress, engine=engine)


def pointwise_stage(judge: PointwiseJudge, chunk_rows: int) -> Stage:
    """The pointwise judge's stage for a loaded ``judge``: the score stage, closing its backend.

    Its calls are recorded in the store's call cache, so on Ray the store must be on a
    filesystem every worker sees.
    """
    if not Path(judge.store_root).is_dir():
        raise CurateError(
            f"the judge records its calls in the store's call cache, and {judge.store_root} "
            "is not on this Ray worker: put the store on a filesystem every node sees"
        )
    return dataclasses.replace(score_stage(judge, chunk_rows), close=judge.backend.close)


def show_judged(store: Store, key: str, n: int, console: Any) -> None:
    """The first ``n`` judged conversations (best first): question, answer, rating, rationale."""
    from rich.table import Table

    from curate.errors import StoreError
    from curate.judge.cache import CallCache
    from curate.judge.templates import conversation_fields

    sidecar = names.score_sidecar(key)
    if sidecar not in store.sidecars():
        raise StoreError(f"{store.root} has no {sidecar} yet: run `curate judge` first")
    p = names.column_prefix(key)
    table = store.read(columns=["id", "messages"], sidecars=[sidecar])
    rows = [r for r in table.to_pylist() if r[f"{p}_status"] == STATUS_OK]
    rows.sort(key=lambda r: (-r[f"{p}_score"], r["id"]))
    by_ids: dict[tuple[str, ...], Any] = {}
    for call in CallCache(store.root, key.removeprefix("judge.")).calls.values():
        by_ids[(*call.ids, str(call.attempt))] = call
    out = Table(title=f"{sidecar}: {len(rows):,} rated", title_justify="left", show_lines=True)
    for column in ("rating", "question", "answer", "the judge's reply"):
        out.add_column(column, overflow="fold", justify="right" if column == "rating" else "left")
    for r in rows[:n]:
        fields = conversation_fields(r["messages"])
        call = by_ids.get((r["id"], str(r[f"{p}_attempts"] - 1)))
        out.add_row(
            f"{r[f'{p}_score']:g}",
            fields["question"][:300],
            fields["answer"][:300],
            (call.raw if call is not None and call.raw else "(not in the cache)")[-600:],
        )
    console.print(out)


def _last_calls(store: Store, judge_name: str) -> dict[tuple[str, ...], Any]:
    """The latest attempt of each call in the cache, by the ids it showed in order."""
    out: dict[tuple[str, ...], Any] = {}
    for call in CallCache(store.root, judge_name).calls.values():
        known = out.get(call.ids)
        if known is None or call.attempt > known.attempt:
            out[call.ids] = call
    return out


def _side(messages: list[dict], width: int = 300) -> str:
    from curate.judge.templates import conversation_fields

    fields = conversation_fields(messages)
    return f"Q: {fields['question'][:width]}\n\nA: {fields['answer'][:width]}"


def _said(call: Any) -> str:
    if call is None:
        return "(not in the cache)"
    if call.raw is None:
        return f"(backend failed: {call.error})"
    return call.raw[-400:]


def _winner(judge: grouped.GroupedJudge, call: Any, a_first: bool) -> str:
    """A call's verdict in the table's terms (conversation A or B wins), whatever the order."""
    if call is None or call.raw is None:
        return "no call"
    verdict = judge.pair_template.parse(call.raw)
    if not verdict.ok:
        return f"failed ({verdict.status})"
    if verdict.value == "C":
        return "tie"
    return f"{'A' if (verdict.value == 'A') == a_first else 'B'} wins"


def show_pairs(store: Store, judge: grouped.GroupedJudge, n: int, console: Any) -> None:
    """The first ``n`` judged pairs (by group, then rank): both sides, both verdicts, rationales."""
    from rich.table import Table

    from curate.errors import StoreError

    if judge.sidecar not in store.sidecars():
        raise StoreError(
            f"{store.root} has no {judge.sidecar} yet: run `curate judge --mode "
            f"{judge.options.mode}` first"
        )
    judge.load_templates()
    p = judge.prefix
    table = store.read(columns=["id", "messages"], sidecars=[judge.sidecar]).to_pylist()
    by_id = {r["id"]: r for r in table}
    compared = [r for r in table if r[f"{p}_comparisons"]]
    compared.sort(key=lambda r: (r[f"{p}_group"] or "", r[f"{p}_rank"] or 0, r["id"]))
    pairs: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    for r in compared:
        for other, outcome in zip(r[f"{p}_opponents"], r[f"{p}_outcomes"]):
            key = tuple(sorted((r["id"], other)))
            if key not in seen:
                seen.add(key)
                pairs.append((r["id"], other, outcome))
    calls = _last_calls(store, judge.name)
    out = Table(
        title=f"{judge.sidecar}: {len(seen):,} pairs judged in both orders",
        title_justify="left",
        show_lines=True,
    )
    for column in ("group", "conversation A", "conversation B", "verdicts", "the judge's replies"):
        out.add_column(column, overflow="fold")
    for a, b, outcome in pairs[:n]:
        first, second = calls.get((a, b)), calls.get((b, a))
        verdicts = [
            f"A shown first: {_winner(judge, first, a_first=True)}",
            f"B shown first: {_winner(judge, second, a_first=False)}",
            f"A's result: {outcome:g}",
            f"ranks: {by_id[a][f'{p}_rank']} vs {by_id[b][f'{p}_rank']}",
        ]
        out.add_row(
            by_id[a][f"{p}_group"] or "",
            _side(by_id[a]["messages"]),
            _side(by_id[b]["messages"]),
            "\n".join(verdicts),
            f"A first:\n{_said(first)}\n\nB first:\n{_said(second)}",
        )
    console.print(out)
