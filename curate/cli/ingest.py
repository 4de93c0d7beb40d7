"""``curate ingest``: read conversation files into a store."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, parse_pairs, quiet_option
from curate.errors import InputError

ROLES = ("user", "assistant", "system")


@click.command()
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option(
    "--store",
    "-s",
    required=True,
    type=click.Path(file_okay=False),
    help="Store directory (created if new).",
)
@click.option(
    "--format",
    "format_name",
    metavar="NAME",
    help="Force one format for every file instead of detecting it per file.",
)
@click.option(
    "--map",
    "field_map",
    multiple=True,
    metavar="FIELD=SOURCE",
    help="Read FIELD from SOURCE, a dotted path into objects and lists, e.g. "
    "--map instruction=question,output=answer or --map prompt=turns.0.content.",
)
@click.option(
    "--role",
    "role_map",
    multiple=True,
    metavar="RAW=ROLE",
    help="Map a role name, or a key of a turn object such as {q, a}, to "
    "user|assistant|system, e.g. --role char=assistant --role q=user.",
)
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False),
    help="Question file that leaderboard answer files join (default: the question.jsonl or "
    "question_*.jsonl beside them or one level up that holds their question ids).",
)
@click.option(
    "--split-embedded-turns",
    is_flag=True,
    help="Split a transcript typed into one instruction (Human: … Assistant: …, 用户：…助手：…) "
    "into turns when its markers are unambiguous (flagged split_turns); without it such "
    "rows are flagged embedded_turns.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=1),
    default=200_000,
    show_default=True,
    help="Reject conversations longer than this (all messages).",
)
@click.option(
    "--shard-size",
    type=click.IntRange(min=1),
    default=100_000,
    show_default=True,
    help="Input records per shard (the unit of resumption).",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Records converted per batch.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Conversion processes [default: none on machines under 4 cores or inputs under 16 MB, else cores-1 up to 4].",
)
@overwrite_option
@quiet_option
@config_option
def ingest(
    inputs,
    store,
    format_name,
    field_map,
    role_map,
    questions,
    split_embedded_turns,
    max_chars,
    shard_size,
    batch_size,
    workers,
    overwrite,
    quiet,
):
    """Read conversation files into the store at --store.

    INPUT can be files, directories (walked for .json, .jsonl, .parquet, also .gz)
    and glob patterns (a name that exists as a file, such as data[1].jsonl, is that
    file). Each file's layout, encoding (UTF-8, UTF-16, UTF-32) and format are
    detected from its content: ShareGPT, OpenAI messages, Alpaca (+ history, system),
    preference pairs, pairwise judgments (AlpacaEval, arena), multi-turn dialogues,
    HH transcripts, MOSS, leaderboard answers joined with their question files,
    multiple-choice items, SQuAD, prompts without answers (README.md lists them);
    judge templates and judge outputs are refused. Every record ends in the base table,
    as an exact duplicate of a base row,
    or in the rejects table with a reason; a file that cannot be read (permission
    denied, a dangling link, a FIFO or a device) is one `unreadable` reject, a gzip
    file cut short keeps its complete records. Interrupted runs resume when the same
    command is run again.
    """
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.ingest.report import render
    from curate.progress import progress_bar

    if not inputs:
        raise InputError(
            "give at least one INPUT file, directory or glob (see `curate ingest --help`)"
        )
    roles = parse_pairs(role_map, "--role")
    bad = {k: v for k, v in roles.items() if v not in ROLES}
    if bad:
        raise InputError(f"--role values must be one of {', '.join(ROLES)}; got {bad}")
    options = IngestOptions(
        format=format_name,
        field_map=parse_pairs(field_map, "--map"),
        role_map=roles,
        questions=questions,
        split_embedded_turns=split_embedded_turns,
        max_chars=max_chars,
        shard_size=shard_size,
        batch_size=batch_size,
    )
    ingestor = Ingestor(list(inputs), store, options, overwrite=overwrite, workers=workers)
    with progress_bar("ingest", ingestor.total_bytes, unit="records", enabled=not quiet) as advance:
        result = ingestor.run(progress=advance)
    if not quiet:
        from curate.progress import report_console

        render(result, report_console())
