"""``curate judge``: an LLM judge scores conversations into the sidecar ``score.judge.NAME``.

Modes: ``pointwise`` (a rating per row, per-shard), ``pairwise`` (comparisons in both
orders within tag clusters or prompt groups, Bradley-Terry), ``funnel`` (pointwise on the
top of each cluster by the store's other scores, pairwise near the quota cut); ``auto``
(the default) is the funnel when the store has tags and a score to rank by, else
pointwise.
"""

from __future__ import annotations

import click

from curate.cli.options import (
    backend_from,
    backend_options,
    config_option,
    engine_option,
    overwrite_option,
    quiet_option,
)


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option("--model", required=True, help="Judge model: served name (openai), path or hub id.")
@backend_options("judge", default="openai")
@click.option("--name", default=None, help="Store name of this judge [default: the model's name].")
@click.option(
    "--template",
    default="pointwise",
    show_default=True,
    help="pointwise (1-10 rubric, [[n]]), prometheus2 or m-prometheus ([RESULT] n on 1-5), "
    "or a template FILE with {question} {answer} {history} {language}.",
)
@click.option(
    "--verdict",
    type=click.Choice(["rating", "prometheus"]),
    default=None,
    help="How a template FILE's verdict is written [default: rating, [[n]]].",
)
@click.option(
    "--chat-template",
    default=None,
    help="transformers, vllm: chat template for a model without one.",
)
@click.option("--max-new-tokens", type=click.IntRange(min=8), default=512, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--logprobs",
    is_flag=True,
    help="Ask for the rating token's distribution (vLLM servers, OpenAI) and score by the "
    "expected rating: finer, fewer ties.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=256,
    show_default=True,
    help="Rows per checkpoint (calls are cached in the store as they finish anyway).",
)
@click.option(
    "--mode",
    type=click.Choice(["auto", "pointwise", "pairwise", "funnel"]),
    default="auto",
    show_default=True,
    help="auto: funnel when the store has tags and a score to rank by, else pointwise.",
)
@click.option(
    "--groups",
    type=click.Choice(["tag", "prompt"]),
    default="tag",
    show_default=True,
    help="pairwise: compare within tag clusters, or the answers to one prompt "
    "(into judge.NAME.prompts, for preference pairs).",
)
@click.option(
    "--tagger", default=None, help="Whose tags are the clusters [default: the only/first]."
)
@click.option(
    "--per-tag",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="The quota select will keep per tag: where the cut lies that pairwise rounds settle.",
)
@click.option(
    "--per-prompt",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="--groups prompt: answers kept per prompt (the cut there).",
)
@click.option(
    "--top-k",
    type=click.IntRange(min=1),
    default=None,
    help="funnel: rows rated pointwise per cluster, the best by the other scores "
    "[default: 2 x --per-tag; 4 x when they are heuristics alone].",
)
@click.option(
    "--near-cut",
    type=click.IntRange(min=2),
    default=None,
    help="funnel: rated rows around the cut that meet pairwise [default: --per-tag / 2].",
)
@click.option(
    "--by",
    multiple=True,
    metavar="NAME=W",
    help="funnel: weights of the scores that pick the top K (as select's --weights) "
    "[default: 1 each, heuristics 0.25].",
)
@click.option(
    "--opponents",
    type=click.IntRange(min=1),
    default=6,
    show_default=True,
    help="Opponents each compared row meets per round.",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Pairwise rounds: the first, then rounds near the cut while it is unsettled.",
)
@click.option(
    "--length-covariate",
    is_flag=True,
    help="Fit the judge's preference for longer answers and rank by what remains.",
)
@click.option(
    "--bootstrap",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="Bootstrap replicates of each group's ranks (their intervals).",
)
@click.option(
    "--pair-template",
    default=None,
    help="pairwise-cluster (tag clusters; the default there), pairwise (one prompt; the "
    "default for --groups prompt), or a template FILE with {answer_a} {answer_b}.",
)
@click.option(
    "--include-duplicates",
    is_flag=True,
    help="Judge rows that dedup dropped too (select never keeps them).",
)
@click.option("--dry-run", is_flag=True, help="Print the calls and tokens planned, and stop.")
@click.option(
    "--show",
    type=click.IntRange(min=1),
    default=None,
    help="Print this many judged conversations (pointwise) or pairs (pairwise, funnel) "
    "with their verdicts and rationales.",
)
@engine_option
@overwrite_option
@quiet_option
@config_option
def judge(
    store,
    model,
    name,
    template,
    verdict,
    chat_template,
    max_new_tokens,
    seed,
    logprobs,
    chunk_rows,
    mode,
    groups,
    tagger,
    per_tag,
    per_prompt,
    top_k,
    near_cut,
    by,
    opponents,
    rounds,
    length_covariate,
    bootstrap,
    pair_template,
    include_duplicates,
    dry_run,
    show,
    engine,
    overwrite,
    quiet,
    **backend,
):
    """Score the conversations of STORE with an LLM judge into the sidecar score.judge.NAME.

    Pointwise: a reference-free rubric (helpfulness, correctness, instruction
    following, safety, the user's language and script) rates the last reply of
    each conversation, earlier turns shown as context, 1-10. Pairwise: conversations
    of one tag cluster (or answers to one prompt) are compared in both orders, each
    meeting a few opponents, more near the --per-tag cut, and ranked by Bradley-Terry.
    Funnel (the default when the store has tags and scores): only the top --top-k of
    each cluster by the other scores are rated, and only those near the cut compared;
    the rest keep no judge score and select ranks them by the others.

    select weighs the judge like any other score (--weights judge.NAME=1). Every call
    is cached in the store, so a rerun or a resumed run never pays for a call twice;
    a reply that does not parse gets one sampled retry, then its status says so (no
    score, never a default).
    """
    from curate.cli.options import parse_numbers, parse_pairs
    from curate.cli.report import stage_done, status_counts
    from curate.errors import InputError
    from curate.judge import grouped
    from curate.judge.pointwise import PointwiseJudge, judge_key
    from curate.judge.run import (
        plan,
        plan_grouped,
        print_group_plan,
        print_plan,
        run_grouped,
        run_judge,
        show_judged,
        show_pairs,
    )
    from curate.progress import progress_bar, report_console
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    console = report_console()
    key_name = name or model
    pointwise = PointwiseJudge(
        backend_from(backend, model, chat_template),
        st.root,
        key_name,
        template=template,
        verdict=verdict,
        max_new_tokens=max_new_tokens,
        seed=seed,
        logprobs=logprobs,
    )
    if mode == "auto":
        mode = grouped.auto_mode(st, tagger)
    if mode == "pointwise":
        if show:
            show_judged(st, judge_key(key_name), show, console)
            return
        if not quiet or dry_run:  # the plan reads every conversation: only when it is shown
            print_plan(plan(st, pointwise), console)
        if dry_run:
            return
        with progress_bar(
            f"judge {pointwise.key}",
            st.num_rows(),
            unit="conversations",
            enabled=not quiet,
            extra_unit="tokens",
        ) as advance:
            result = run_judge(
                st,
                pointwise,
                overwrite=overwrite,
                chunk_rows=chunk_rows,
                progress=lambda n, t: advance(n, n, t),
                engine=engine,
            )
    else:
        if engine.engine != "local":
            raise InputError(
                f"--engine {engine.engine} runs the pointwise judge; {mode} judging compares "
                "conversations across the whole store and runs here (give --mode pointwise)"
            )
        options = grouped.GroupOptions(
            mode=mode,
            groups=groups,
            tagger=tagger,
            quota=per_prompt if groups == "prompt" else per_tag,
            top_k=top_k,
            near_cut=near_cut,
            opponents=opponents,
            rounds=rounds,
            length_covariate=length_covariate,
            by=parse_numbers(parse_pairs(by, "--by"), "--by", "armorm=1,heuristics=0.25"),
            bootstrap=bootstrap,
            seed=seed,
            include_duplicates=include_duplicates,
        )
        judge_ = grouped.GroupedJudge(pointwise, options, pair_template)
        if show:
            show_pairs(st, judge_, show, console)
            return
        the_plan = plan_grouped(st, judge_)
        if not quiet or dry_run:
            print_group_plan(the_plan, console)
        if dry_run:
            return
        with progress_bar(
            f"judge {judge_.sidecar} ({mode})",
            the_plan.calls_at_most or None,
            unit="calls",
            enabled=not quiet,
            extra_unit="tokens",
        ) as advance:
            result = run_grouped(
                st, judge_, overwrite=overwrite, progress=lambda n, t: advance(n, n, t)
            )
    statuses = status_counts(result)
    calls = result.manifest.get("calls", {})
    detail = f"{statuses}; calls made {calls.get('made', 0):,}, from the cache {calls.get('cached', 0):,}"
    bias = result.manifest.get("position_bias", {}).get("first_position_wins")
    if bias is not None:
        pairs = result.manifest.get("pairs", {})
        detail += (
            f"; pairs {pairs.get('judged', 0):,} (inconsistent {pairs.get('inconsistent', 0):,}), "
            f"the first position won {bias:.1%} of decided verdicts"
        )
    stage_done(result, quiet, detail)
