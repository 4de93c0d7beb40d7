"""``curate select``: the best, most diverse conversations per tag, with the reasons."""

from __future__ import annotations

import click

from curate.cli.options import (
    config_option,
    output_format_option,
    overwrite_option,
    parse_numbers,
    parse_pairs,
    quiet_option,
)


@click.command("select")
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder: new, empty, or holding an earlier selection (outside the store).",
)
@click.option(
    "--per-tag",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="Quota per tag (a conversation counts toward each of its tags).",
)
@click.option(
    "--total",
    type=click.IntRange(min=0),
    default=None,
    help="Cap on the number of conversations, shared fairly across tags.",
)
@click.option("--no-per-tag", is_flag=True, help="No per-tag quota (use --total alone).")
@click.option(
    "--per-prompt",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Answers kept per prompt (rows that share a prompt_id): the best by the combined "
    "score; 0: no limit.",
)
@click.option(
    "--tagger",
    default=None,
    help="Whose tags are the buckets [default: the only/first tag sidecar].",
)
@click.option(
    "--weights",
    multiple=True,
    metavar="NAME=W",
    help="Weights of the standardized scores, e.g. armorm=1,heuristics=0.25.",
)
@click.option(
    "--missing-score",
    type=click.Choice(["others", "exclude"]),
    default="others",
    show_default=True,
    help="A row whose score failed: ranked by the other scores, or left out.",
)
@click.option(
    "--min-score", type=float, default=None, help="Minimum combined (standardized) score."
)
@click.option(
    "--min-turns",
    type=click.IntRange(min=1),
    default=None,
    help="Leave out conversations with fewer user turns.",
)
@click.option(
    "--complexity-first",
    is_flag=True,
    help="InsTag's diverse sampling: more tags first, each adding a tag not yet covered.",
)
@click.option(
    "--tau",
    type=click.FloatRange(0, 1),
    default=None,
    help="Deita's representation filter: skip a conversation more similar than this (cosine) to one already selected.",
)
@click.option(
    "--embeddings",
    default=None,
    help="Embedding sidecar for --tau [default: the default embedder's].",
)
@click.option(
    "--lang-share",
    "lang_shares",
    multiple=True,
    metavar="LANG=SHARE",
    help="Cap languages at shares of --total (each 0-1, summing to at most 1), "
    "e.g. zh-Hant=0.4,ru=0.3.",
)
@click.option("--include-duplicates", is_flag=True, help="Let rows that dedup dropped compete too.")
@click.option(
    "--include-contaminated",
    is_flag=True,
    help="Let rows that `curate decontaminate` marked as holding a benchmark item compete too.",
)
@output_format_option("subset.jsonl")
@click.option(
    "--hf", is_flag=True, help="Also write a Hugging Face datasets folder (needs `datasets`)."
)
@click.option(
    "--seed",
    type=int,
    default=None,
    help="Break ties between equal scores by a hash of (seed, id) instead of the id: another "
    "fixed order per seed. Nothing else is random.",
)
@overwrite_option
@quiet_option
@config_option
def select_cmd(
    store,
    output,
    per_tag,
    total,
    no_per_tag,
    per_prompt,
    tagger,
    weights,
    missing_score,
    min_score,
    min_turns,
    complexity_first,
    tau,
    embeddings,
    lang_shares,
    include_duplicates,
    include_contaminated,
    fmt,
    hf,
    seed,
    overwrite,
    quiet,
):
    """Select the best, most diverse conversations of STORE per tag into OUTPUT.

    Writes subset.jsonl, subset.parquet (with bucket, rank, combined score and
    reason per row) and report.json. Rows dropped by dedup, and rows that
    decontaminate marked, never enter; of the
    answers to one prompt only the best --per-prompt do (default 1); scores are
    standardized within each tag and combined by --weights. OUTPUT is never the
    store or a folder inside or above it; --overwrite replaces only the files an
    earlier selection wrote there.
    """
    from rich.table import Table

    from curate.progress import report_console
    from curate.select.stage import SelectOptions, run_select
    from curate.store import Store

    weight_map = parse_numbers(
        parse_pairs(weights, "--weights"), "--weights", "armorm=1,heuristics=0.25"
    )
    shares = parse_numbers(
        parse_pairs(lang_shares, "--lang-share"), "--lang-share", "zh-Hant=0.4,ru=0.3"
    )
    options = SelectOptions(
        per_tag=None if no_per_tag else per_tag,
        per_prompt=per_prompt or None,
        total=total,
        tagger=tagger,
        weights=weight_map,
        missing=missing_score,
        min_score=min_score,
        min_turns=min_turns,
        complexity_first=complexity_first,
        tau=tau,
        embeddings=embeddings,
        lang_shares=shares,
        include_duplicates=include_duplicates,
        include_contaminated=include_contaminated,
        output_format=fmt,
        hf=hf,
        seed=seed,
    )
    result = run_select(Store.open(store), options, output, overwrite=overwrite)
    console = report_console()
    if result.already_done:
        console.print(
            f"[yellow]{result.output} already holds this selection ({result.selected:,} "
            "conversations; same options, same store results): nothing to do[/]"
        )
        return
    if quiet:
        return
    report = result.report
    table = Table(
        title=f"selection from {report['rows']:,} conversations: {report['selected']:,} selected ({report['stop']})"
    )
    for column in ("tag", "pool", "selected", "similar", "score pool p50", "score selected p50"):
        table.add_column(column, justify="left" if column == "tag" else "right")
    for row in report["per_tag"][:20]:
        pool, sel = row["combined_score_pool"], row["combined_score_selected"]
        table.add_row(
            row["tag"][:50],
            f"{row['pool']:,}",
            f"{row['selected']:,}",
            f"{row['similar_to_selected']:,}",
            "-" if pool["p50"] is None else f"{pool['p50']:+.2f}",
            "-" if sel["p50"] is None else f"{sel['p50']:+.2f}",
        )
    console.print(table)
    excluded = ", ".join(f"{k} {v:,}" for k, v in report["excluded"].items() if v)
    langs = ", ".join(
        f"{k} {v:,}"
        for k, v in sorted(report["languages"]["selected"].items(), key=lambda kv: -kv[1])
    )
    console.print(
        f"tags: {report['tags']['with_selection']:,} of {report['tags']['total']:,} covered; "
        f"excluded: {excluded or 'none'}; languages: {langs}; weights: {report['weights']}; dedup {report['dedup']}; "
        f"decontamination {report['decontamination']}"
    )
    pool, chosen = report["prompts"]["pool"], report["prompts"]["selected"]
    console.print(
        f"prompts: {chosen['prompts']:,} covered of {pool['prompts']:,} (the pool has "
        f"{pool['answers_per_prompt_mean']} answers per prompt, at most "
        f"{pool['answers_per_prompt_max']:,}; selected: at most "
        f"{chosen['answers_per_prompt_max']:,} per prompt)"
    )
    console.print(f"wrote {result.output}/subset.jsonl, subset.parquet, report.json")
