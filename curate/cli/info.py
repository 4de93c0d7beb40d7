"""``curate info``: what is in a store."""

from __future__ import annotations

import click

from curate.cli.options import config_option


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (for scripts).")
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=0,
    help="Show this many rejected records per reason.",
)
@click.option(
    "--top", type=click.IntRange(min=1), default=15, show_default=True, help="Sources to list."
)
@config_option
def info(store, as_json, examples, top):
    """Counts by source, language, turns, prompt groups and flags; rejects by reason; stages and their manifests."""
    import orjson
    from rich.table import Table

    from curate.info import store_summary
    from curate.progress import report_console
    from curate.prompts import describe
    from curate.store import Store

    summary = store_summary(Store.open(store), examples=examples)
    if as_json:
        click.echo(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode())
        return
    console = report_console()
    console.print(
        f"[bold]{summary['store']}[/]: {summary['rows']:,} conversations in {summary['shards']} shards, "
        f"{summary['bytes_on_disk'] / 2**20:,.1f} MiB; {summary['exact_duplicates']:,} exact duplicates; "
        f"{sum(summary['rejects'].values()):,} rejects; {summary['preference_rows']:,} preference rows"
    )
    groups = summary["prompt_groups"]
    console.print(
        f"prompt groups: {describe(groups)}; {groups['prompts_with_several']:,} prompts have "
        "several answers (select keeps the best --per-prompt of each)"
    )

    def counts_table(
        title: str, counts: dict, limit: int | None = None, total: int | None = None
    ) -> Table:
        table = Table(title=title, title_justify="left")
        table.add_column(title.split()[-1])
        table.add_column("rows", justify="right")
        table.add_column("share", justify="right")
        total = total or sum(counts.values()) or 1
        items = list(counts.items())
        for key, n in items[:limit]:
            table.add_row(str(key), f"{n:,}", f"{100 * n / total:.1f}%")
        if limit is not None and len(items) > limit:
            rest = sum(n for _, n in items[limit:])
            table.add_row(f"({len(items) - limit} more)", f"{rest:,}", f"{100 * rest / total:.1f}%")
        return table

    console.print(counts_table("by lang", summary["by_lang"]))
    console.print(counts_table("by turns", summary["by_turns"]))
    console.print(counts_table("by format", summary["by_format"]))
    console.print(counts_table("by source", summary["by_source"], limit=top))
    if summary["flags"]:
        console.print(counts_table("flagged rows by flag", summary["flags"], total=summary["rows"]))
    if summary["rejects"]:
        console.print(counts_table("rejects by reason", summary["rejects"]))
    for reason, rows in summary.get("reject_examples", {}).items():
        console.print(f"[bold]{reason}[/]")
        for row in rows:
            console.print(
                f"  {row['where']}: {row['detail']}\n    [dim]{row['raw']!r}[/]", soft_wrap=True
            )
    stages = Table(title="stages", title_justify="left")
    for col in ("stage", "status", "finished", "wall s", "details"):
        stages.add_column(col)
    for name, m in summary["stages"].items():
        counts = m.get("counts", {})
        details = ", ".join(f"{k} {v:,}" for k, v in counts.items() if isinstance(v, int))
        stages.add_row(
            name,
            m.get("status", "?"),
            m.get("finished", ""),
            str(m.get("wall_seconds", "")),
            details,
        )
    console.print(stages)
