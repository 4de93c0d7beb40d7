"""``curate pairs``: preference pairs (TRL's prompt / chosen / rejected) from scored answers."""

from __future__ import annotations

import click

from curate.cli.options import (
    backend_options,
    config_option,
    overwrite_option,
    parse_numbers,
    parse_pairs,
    quiet_option,
)


@click.command("pairs")
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder: new, empty, or holding earlier pairs (outside the store).",
)
@click.option(
    "--rejected",
    type=click.Choice(["worst", "2-worst", "below-median"]),
    default="worst",
    show_default=True,
    help="Against the best answer of each prompt: its worst answer, its two worst (two "
    "pairs), or every answer strictly below the prompt's median (a pair each).",
)
@click.option(
    "--weights",
    multiple=True,
    metavar="NAME=W",
    help="Weights of the scores, as select's (e.g. armorm=1,heuristics=0.25); one score: "
    "its own units, several: standardized across the pool.",
)
@click.option(
    "--missing-score",
    type=click.Choice(["others", "exclude"]),
    default="others",
    show_default=True,
    help="An answer whose score failed: ranked by the other scores, or left out.",
)
@click.option(
    "--min-margin",
    type=float,
    default=0.0,
    show_default=True,
    help="Least chosen - rejected score (report.json: margin_unit); 0: strictly better.",
)
@click.option(
    "--no-ingested",
    is_flag=True,
    help="Leave out the store's own preference records (rows with a rejected answer).",
)
@click.option("--include-duplicates", is_flag=True, help="Let answers that dedup dropped compete.")
@click.option(
    "--tagger", default=None, help="Whose tags the pairs carry [default: the only/first, if any]."
)
@click.option(
    "--hf", is_flag=True, help="Also write a Hugging Face datasets folder (needs `datasets`)."
)
@click.option(
    "--confirm-with-judge",
    is_flag=True,
    help="Keep a pair only if a pairwise LLM judge prefers the chosen answer in both orders "
    "(calls cached in the store).",
)
@click.option(
    "--judge-model", default=None, help="Judge model: served name (openai), path or hub id."
)
@click.option(
    "--judge-name",
    default=None,
    help="Store name of the judge's call cache [default: the model's name].",
)
@click.option("--judge-max-new-tokens", type=click.IntRange(min=8), default=512, show_default=True)
@click.option(
    "--chat-template",
    default=None,
    help="transformers, vllm: chat template for a judge model without one.",
)
@backend_options("pairs judge", default="openai")
@overwrite_option
@quiet_option
@config_option
def pairs(
    store,
    output,
    rejected,
    weights,
    missing_score,
    min_margin,
    no_ingested,
    include_duplicates,
    tagger,
    hf,
    confirm_with_judge,
    judge_model,
    judge_name,
    judge_max_new_tokens,
    chat_template,
    overwrite,
    quiet,
    **backend,
):
    """Build preference pairs from the answers to each prompt of STORE into OUTPUT.

    Of the answers that share a prompt (rows with one prompt_id) and have a score,
    the best by --weights is chosen and the --rejected ones are rejected; a pair
    needs its chosen answer to score higher (--min-margin). The store's own
    preference records pass through (unless --no-ingested). Writes pairs.jsonl
    (TRL's conversational prompt/chosen/rejected, plus an id), pairs.parquet (with
    ids, scores, margin, lang, tags) and report.json.
    """
    from curate.cli.options import backend_from
    from curate.pairs.stage import PairsOptions, run_pairs
    from curate.progress import progress_bar, report_console
    from curate.store import Store

    weight_map = parse_numbers(
        parse_pairs(weights, "--weights"), "--weights", "armorm=1,heuristics=0.25"
    )
    judge = None
    if confirm_with_judge:
        if not judge_model:
            from curate.errors import InputError

            raise InputError("--confirm-with-judge needs --judge-model (the judge's name or path)")
        judge = backend_from(backend, judge_model, chat_template)
    options = PairsOptions(
        rejected=rejected,
        weights=weight_map,
        missing=missing_score,
        min_margin=min_margin,
        ingested=not no_ingested,
        include_duplicates=include_duplicates,
        tagger=tagger,
        hf=hf,
        confirm_with_judge=confirm_with_judge,
        judge_model=judge_model if confirm_with_judge else None,
        judge_name=judge_name if confirm_with_judge else None,
        judge_backend=backend["backend"] if confirm_with_judge else None,
        judge_api_base=backend["api_base"] if confirm_with_judge else None,
        judge_max_new_tokens=judge_max_new_tokens if confirm_with_judge else 512,
        judge_chat_template=chat_template if confirm_with_judge else None,
    )
    try:
        with progress_bar(
            "pairs judge",
            None,
            unit="calls",
            enabled=confirm_with_judge and not quiet,
            extra_unit="tokens",
        ) as advance:
            result = run_pairs(
                Store.open(store),
                options,
                output,
                overwrite=overwrite,
                judge=judge,
                progress=lambda n, t: advance(n, n, t),
            )
    finally:
        if judge is not None:
            judge.close()
    console = report_console()
    if result.already_done:
        console.print(
            f"[yellow]{result.output} already holds these pairs ({result.pairs:,}; same "
            "options, same store results): nothing to do[/]"
        )
        return
    if quiet:
        return
    print_summary(console, result.report)
    console.print(f"wrote {result.output}/pairs.jsonl, pairs.parquet, report.json")


def print_summary(console, report: dict) -> None:
    """The counts, every drop by reason, and the margins, as one table."""
    from rich.table import Table

    counts = report["counts"]
    table = Table(title=f"pairs from {counts['rows']:,} rows: {report['pairs']:,} pairs")
    table.add_column("", justify="left")
    table.add_column("count", justify="right")
    for label, value in [
        ("prompts", counts["prompts"]),
        ("prompts with 2+ scored answers", counts["prompts_with_two_scored"]),
        ("pairs from scores", counts["by_origin"]["scored"]),
        ("pairs passed through (ingested)", counts["by_origin"]["ingested"]),
    ]:
        table.add_row(label, f"{value:,}")
    for reason, value in report["dropped"].items():
        if value:
            table.add_row(f"dropped: {reason}", f"{value:,}")
    console.print(table)
    m = report["margins"]
    if m["n"]:
        console.print(
            f"margins ({report['margin_unit']}): p10 {m['p10']:g}, median {m['p50']:g}, "
            f"p90 {m['p90']:g}, min {m['min']:g}; weights: {report['weights']}; "
            f"dedup {report['dedup']}"
        )
    judge = report.get("judge")
    if judge:
        calls = judge["calls"]
        console.print(
            f"judge {judge['name']}: {judge['pairs_asked']:,} pairs asked in both orders; "
            f"calls made {calls['made']:,}, from the cache {calls['cached']:,}"
        )
