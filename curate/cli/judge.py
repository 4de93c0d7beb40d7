"""``curate judge``: an LLM judge rates every conversation into the sidecar ``score.judge.NAME``."""

from __future__ import annotations

import click

from curate.cli.options import (
    backend_from,
    backend_options,
    config_option,
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
@click.option("--dry-run", is_flag=True, help="Print the calls and tokens planned, and stop.")
@click.option(
    "--show",
    type=click.IntRange(min=1),
    default=None,
    help="Print this many judged conversations with their rating and rationale.",
)
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
    dry_run,
    show,
    overwrite,
    quiet,
    **backend,
):
    """Rate every conversation of STORE with an LLM judge into the sidecar score.judge.NAME.

    Pointwise: a reference-free rubric (helpfulness, correctness, instruction
    following, safety, the user's language and script) rates the last reply of
    each conversation, earlier turns shown as context, 1-10. select weighs it like
    any other score (--weights judge.NAME=1). Every call is cached in the store, so
    a rerun or a resumed run never pays for a call twice; a reply that does not
    parse gets one sampled retry, then its status says so (no score, never a
    default).
    """
    from curate.cli.report import stage_done, status_counts
    from curate.judge.pointwise import PointwiseJudge, judge_key
    from curate.judge.run import plan, print_plan, run_judge, show_judged
    from curate.progress import progress_bar, report_console
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    console = report_console()
    key_name = name or model
    judge_ = PointwiseJudge(
        backend_from(backend, model, chat_template),
        st.root,
        key_name,
        template=template,
        verdict=verdict,
        max_new_tokens=max_new_tokens,
        seed=seed,
        logprobs=logprobs,
    )
    if show:
        show_judged(st, judge_key(key_name), show, console)
        return
    if not quiet or dry_run:  # the plan reads every conversation: only when it is shown
        print_plan(plan(st, judge_), console)
    if dry_run:
        return
    with progress_bar(
        f"judge {judge_.key}",
        st.num_rows(),
        unit="conversations",
        enabled=not quiet,
        extra_unit="tokens",
    ) as advance:
        result = run_judge(
            st,
            judge_,
            overwrite=overwrite,
            chunk_rows=chunk_rows,
            progress=lambda n, t: advance(n, n, t),
        )
    statuses = status_counts(result)
    calls = result.manifest.get("calls", {})
    stage_done(
        result,
        quiet,
        f"{statuses}; calls made {calls.get('made', 0):,}, from the cache {calls.get('cached', 0):,}",
    )
