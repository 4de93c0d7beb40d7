"""``curate export``: the base table back out as JSON Lines."""

from __future__ import annotations

import click

from curate.cli.options import config_option, output_format_option, quiet_option


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="JSONL file to write (.gz compresses), - for stdout, or a FIFO / device (written in place).",
)
@output_format_option("JSONL")
@click.option(
    "--lang", "langs", multiple=True, help="Only these languages (repeatable), e.g. --lang zh-Hant."
)
@click.option(
    "--exclude-flag",
    "exclude_flags",
    multiple=True,
    help="Leave out rows with this flag (repeatable), e.g. --exclude-flag no_assistant.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Stop after this many rows."
)
@quiet_option
@config_option
def export(store, output, fmt, langs, exclude_flags, limit, quiet):
    """Write the base table of STORE to --output as JSON Lines, in store order.

    A preference row also carries "rejected" (the rejected answer). A file is
    written under a temporary name and renamed when complete; `-o -` writes to
    stdout. A path inside the store is refused.
    """
    from curate.export import export_jsonl
    from curate.progress import console, progress_bar
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    with progress_bar("export", st.num_rows(), unit="rows", enabled=not quiet) as advance:
        written = export_jsonl(
            st,
            output,
            fmt,
            langs=langs,
            exclude_flags=exclude_flags,
            limit=limit,
            progress=lambda n: advance(n, n),
        )
    if not quiet:
        where = "stdout" if output == "-" else output
        console().print(f"wrote {written:,} conversations to {where} ({fmt})")
