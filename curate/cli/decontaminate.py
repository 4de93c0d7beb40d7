"""``curate decontaminate``: mark the rows of a store that hold a benchmark item."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, quiet_option
from curate.decontaminate.stage import DecontaminateOptions
from curate.options import click_options, pick

SHOW_CHARS = 160


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--against",
    "-a",
    "against",
    multiple=True,
    type=click.Path(),
    help="A benchmark file (any layout `curate ingest` reads), directory or glob; repeatable.",
)
@click_options(DecontaminateOptions)
@click.option(
    "--show",
    type=click.IntRange(min=0),
    default=0,
    help="Print N contaminated rows beside the item.",
)
@overwrite_option
@quiet_option
@config_option
def decontaminate(store, against, show, overwrite, quiet, **kwargs):
    """Mark the rows of STORE that copy, convert, translate or quote a benchmark item.

    Character n-grams for CJK text (Traditional and Simplified folded together), word
    n-grams for other scripts, and embedding similarity (the store's `curate embed`
    vectors) for translations and paraphrases. Writes the sidecar `decontaminate`
    (contaminated, contam_file, contam_item, contam_method, contam_part,
    contam_overlap, contam_items); `curate select` leaves contaminated rows out.
    """
    from curate.decontaminate.stage import run_decontaminate
    from curate.progress import progress_bar, report_console
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    options = pick(DecontaminateOptions, {**kwargs, "against": tuple(against)})
    options.method_set()  # a bad --methods is one red line, before any work
    with progress_bar("decontaminate", st.num_rows(), enabled=not quiet) as advance:
        result = run_decontaminate(
            st, options, overwrite=overwrite, progress=lambda n: advance(n, n)
        )
    if not quiet:
        console = report_console()
        render_summary(result.manifest, console)
        if show:
            render_examples(st, show, console)


def render_summary(manifest: dict, console) -> None:
    from rich.table import Table

    counts = manifest["counts"]
    table = Table(title="decontaminate", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    rows = counts["rows"]
    share = 100 * counts["contaminated"] / max(rows, 1)
    table.add_row("rows", f"{rows:,}")
    table.add_row("contaminated", f"{counts['contaminated']:,} ({share:.2f}%)")
    table.add_row("benchmark items matched", f"{counts['items_matched']:,}")
    for key, label in (
        ("by_method", "by method"),
        ("by_file", "by benchmark"),
        ("by_lang", "by language"),
    ):
        if counts[key]:
            table.add_row(label, ", ".join(f"{k} {v:,}" for k, v in counts[key].items()))
    for bench in manifest.get("benchmarks", []):
        rejected = sum(bench["rejected"].values())
        note = (
            f"; {rejected:,} records unreadable ({', '.join(bench['rejected'])})"
            if rejected
            else ""
        )
        table.add_row("benchmark", f"{bench['file']}: {bench['items']:,} items{note}")
    search = manifest.get("embedding_search")
    if search:
        line = f"{search['method']} over {search['items']:,} items"
        if search.get("cells"):
            line += f" ({search['cells']:,} cells, nprobe {search['nprobe']})"
        if search.get("recall_vs_exact") is not None:
            line += f"; recall vs exact {search['recall_vs_exact']:.4f} on {search['recall_pairs']:,} pairs"
        table.add_row("embedding search", line)
    console.print(table)


def render_examples(store, limit: int, console) -> None:
    """The first ``limit`` contaminated rows, each with what matched."""
    import pyarrow.compute as pc
    from rich.table import Table

    from curate import names
    from curate.dedup.report import conversation_preview

    table = store.read(columns=["id", "messages", "lang"], sidecars=[names.DECONTAMINATE])
    hits = table.filter(pc.field("contaminated")).slice(0, limit).to_pylist()
    out = Table(title=f"{len(hits)} contaminated rows", title_justify="left")
    for column in ("row", "benchmark item", "how"):
        out.add_column(column)
    for row in hits:
        out.add_row(
            conversation_preview(row["messages"], SHOW_CHARS),
            f"{row['contam_file']} {row['contam_item']}",
            f"{row['contam_method']} ({row['contam_part']}) {row['contam_overlap']:.2f}",
        )
    console.print(out)
