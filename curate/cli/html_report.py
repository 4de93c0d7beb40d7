"""``curate report``: one self-contained HTML page of what the pool holds and why the subset is what it is."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, quiet_option


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--subset",
    type=click.Path(file_okay=False),
    default=None,
    help="A selection (curate select's output folder) to show against the pool.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="The HTML file to write (self-contained: opens offline).",
)
@click.option(
    "--sample",
    type=click.IntRange(min=10),
    default=2000,
    show_default=True,
    help="Conversations drawn on the embedding map (a seeded sample).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@overwrite_option
@quiet_option
@config_option
def report(store, subset, output, sample, seed, overwrite, quiet):
    """Write one HTML page about STORE: sources, languages, flags, rejects, near-duplicates,
    tags, scores, the selection's accounting, an embedding map and the judge.

    A section whose stage did not run says so. The page is one file with its figures
    inline (no network, no server); the numbers are embedded as JSON too. A file that
    curate report did not write is never replaced.
    """
    import time
    from pathlib import Path

    from curate.progress import report_console
    from curate.report.write import write_report
    from curate.store import Store

    started = time.perf_counter()
    st = Store.open(store)
    st.require_base()
    path = write_report(
        st, Path(output), None if subset is None else Path(subset), sample, seed, overwrite
    )
    if not quiet:
        size = path.stat().st_size
        report_console().print(
            f"wrote {path} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s"
        )
