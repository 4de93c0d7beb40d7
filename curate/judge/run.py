"""``curate judge`` around the pointwise judge: the plan, the run, and showing verdicts.

The run is the score stage's declaration (:func:`curate.score.stage.score_stage`) with
the judge as its scorer: chunks checkpointed as they finish, resume, a manifest with the
judge's parameters (template text included), its identity, counts per status, tokens,
and the calls made and read from the cache in this run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from curate import names
from curate.judge.pointwise import STATUS_OK, PointwiseJudge
from curate.runner import StageResult, run_stage
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


def run_judge(
    store: Store,
    judge: PointwiseJudge,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Any = None,
) -> StageResult:
    """Judge every row of ``store`` into ``score.judge.<name>`` (the judge is loaded here)."""
    store.require_base()
    judge.load()
    try:
        return run_stage(
            store, score_stage(judge, chunk_rows), overwrite=overwrite, progress=progress
        )
    finally:
        judge.backend.close()


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
