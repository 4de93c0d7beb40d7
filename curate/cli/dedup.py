"""``curate dedup``: near-duplicate groups and the member to keep."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, quiet_option
from curate.dedup.stage import DedupOptions
from curate.options import cli_fields, click_options, pick


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click_options(DedupOptions)
@click.option(
    "--show", type=click.IntRange(min=0), default=0, help="Print the N largest groups side by side."
)
@overwrite_option
@quiet_option
@config_option
def dedup(store, show, overwrite, quiet, **kwargs):
    """Group near-duplicate conversations in STORE and mark the best member of each group to keep.

    Writes the sidecar `dedup` (dup_group, dup_similarity, dup_keep, dup_group_size);
    no row is deleted. With --show N alone, prints the existing result's N largest groups.
    """
    from curate import names
    from curate.dedup.report import render_groups, render_summary
    from curate.dedup.stage import check_options, run_dedup
    from curate.progress import progress_bar, report_console
    from curate.runner import is_complete
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    ctx = click.get_current_context()
    explicit = any(
        ctx.get_parameter_source(p) is not click.core.ParameterSource.DEFAULT
        for p in (f.name for f in cli_fields(DedupOptions))
    )
    existing = is_complete(st, names.DEDUP)
    console = report_console()
    if not (show and existing and not explicit and not overwrite):
        options = pick(DedupOptions, kwargs)
        check_options(options)  # a bad threshold is one red line, before the progress bar
        with progress_bar("dedup", st.num_rows(), unit="queries", enabled=not quiet) as advance:
            result = run_dedup(st, options, overwrite=overwrite, progress=lambda n: advance(n, n))
        if not quiet:
            render_summary(st, result, console)
    if show:
        render_groups(st, show, console)
