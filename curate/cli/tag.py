"""``curate tag`` and ``curate tags``: tag every conversation, and show the tag table."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, quiet_option


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--tagger",
    type=click.Choice(["cluster"]),
    default="cluster",
    show_default=True,
    help="cluster: k-means on the embeddings, clusters named by c-TF-IDF (offline, no model).",
)
@click.option(
    "--clusters",
    type=click.IntRange(min=2),
    default=None,
    help="Number of clusters [default: one per ~200 conversations, at most 4096].",
)
@click.option(
    "--embeddings",
    default=None,
    help="Embedding sidecar to cluster [default: embed.use-multilingual.conversation, embedded now if missing].",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--name-terms",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Terms in a cluster's name.",
)
@overwrite_option
@quiet_option
@config_option
def tag(store, tagger, clusters, embeddings, seed, name_terms, overwrite, quiet):
    """Give every conversation of STORE tags and a primary cluster (sidecar tag.TAGGER).

    The tags are the buckets of `curate select --per-tag`. `curate tags STORE` shows them.
    """
    from curate.progress import progress_bar, report_console
    from curate.store import Store
    from curate.tag.stage import run_cluster_tag
    from taggers.cluster import ClusterParams

    st = Store.open(store)
    st.require_base()
    params = ClusterParams(clusters=clusters, seed=seed, name_terms=name_terms)
    with progress_bar("tag", st.num_rows(), unit="conversations", enabled=not quiet) as advance:
        result = run_cluster_tag(
            st, params, embeddings=embeddings, overwrite=overwrite, progress=lambda n: advance(n, n)
        )
    if quiet:
        return
    console = report_console()
    if result.already_done:
        console.print(
            f"[yellow]{result.name} is already complete with these options: nothing to do[/]"
        )
    console.print(
        f"[bold]{result.name}[/]: {result.rows:,} conversations in {len(result.tags):,} tags "
        f"({result.embeddings}); {result.wall_seconds:.1f} s; `curate tags {store}` shows them"
    )


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--tagger", default=None, help="Whose tags [default: the only (or first) tagger run]."
)
@click.option(
    "--top", type=click.IntRange(min=1), default=30, show_default=True, help="Tags shown."
)
@click.option(
    "--examples",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Example prompts per tag.",
)
@click.option("--json", "as_json", is_flag=True, help="The whole table as JSON.")
@config_option
def tags(store, tagger, top, examples, as_json):
    """Show the tag table of STORE: counts, shares, what each tag is made of, examples."""
    import json

    from rich.table import Table

    from curate.progress import report_console
    from curate.store import Store
    from curate.tag.stage import find_tags

    st = Store.open(store)
    name = find_tags(st, tagger)
    manifest = st.manifest(f"sidecar.{name}")
    table_rows = manifest["tag_table"]
    total = sum(r["count"] for r in table_rows) or 1
    if examples:
        data = st.read(columns=["messages"], sidecars=[name]).select(
            ["messages", "tag_primary", "tag_similarity"]
        )
        best: dict[str, list[tuple[float, str]]] = {}
        primary = data.column("tag_primary").to_pylist()
        similarity = data.column("tag_similarity").to_pylist()
        wanted = {r["tag"] for r in table_rows[:top]}
        for i, (t, s) in enumerate(zip(primary, similarity)):
            if t in wanted:
                best.setdefault(t, []).append((-(s or 0), i))
        messages = data.column("messages")
        for r in table_rows[:top]:
            picks = sorted(best.get(r["tag"], []))[:examples]
            r["examples"] = [
                next((m["content"] for m in messages[i].as_py() if m["role"] == "user"), "")[:80]
                for _, i in picks
            ]
    if as_json:
        click.echo(json.dumps({"sidecar": name, "tags": table_rows}, ensure_ascii=False, indent=2))
        return
    out = Table(title=f"{name}: {len(table_rows):,} tags, {total:,} conversations")
    out.add_column("tag")
    out.add_column("conversations", justify="right")
    out.add_column("share", justify="right")
    out.add_column("made of")
    if examples:
        out.add_column("closest to its centre")
    for r in table_rows[:top]:
        row = [
            r["tag"],
            f"{r['count']:,}",
            f"{r['count'] / total:.1%}",
            ", ".join(r.get("terms", [])),
        ]
        if examples:
            row.append("\n".join(e.replace("\n", " ") for e in r.get("examples", [])))
        out.add_row(*row)
    report_console().print(out)
