"""``curate tag`` and ``curate tags``: tag every conversation, and show the tag table."""

from __future__ import annotations

import click

from curate.cli.options import (
    backend_from,
    backend_options,
    config_option,
    engine_option,
    overwrite_option,
    quiet_option,
)


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--tagger",
    type=click.Choice(["cluster", "instag"]),
    default="cluster",
    show_default=True,
    help="cluster: k-means on the embeddings, named by c-TF-IDF (offline, no model). "
    "instag: an LLM writes intent tags per user turn, then they are normalized.",
)
@click.option(
    "--clusters",
    type=click.IntRange(min=2),
    default=None,
    help="cluster: number of clusters [default: one per ~200 conversations, at most 4096].",
)
@click.option(
    "--kmeans",
    type=click.Choice(["auto", "flat", "two-level", "sampled"]),
    default="auto",
    show_default=True,
    help="cluster: auto is flat k-means up to 256 clusters and two-level above (the n x k "
    "work of flat grows as n^2 until 4096 clusters; BENCHMARKS.md, issue 19).",
)
@click.option(
    "--embeddings",
    default=None,
    help="cluster: embedding sidecar [default: embed.use-multilingual.user (the user turns), "
    "embedded now if missing].",
)
@click.option(
    "--name-terms",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="cluster: terms in a name.",
)
@click.option(
    "--model", default=None, help="instag: model path, hub id, served name, or InsTagger."
)
@backend_options("instag")
@click.option(
    "--template", default=None, help="instag: chat template for a model without one (vicuna)."
)
@click.option("--max-new-tokens", type=click.IntRange(min=16), default=384, show_default=True)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="instag: rows per checkpoint.",
)
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="instag: apply this (hand-edited) raw-to-canonical TSV instead of normalizing; no LLM call.",
)
@click.option(
    "--min-count",
    type=click.IntRange(min=1),
    default=None,
    help="Normalization: drop rarer tags [default: 20 per 300K conversations, at least 2].",
)
@click.option(
    "--semantic-threshold",
    type=click.FloatRange(0, 1),
    default=0.85,
    show_default=True,
    help="Normalization: merge at this cosine.",
)
@click.option(
    "--min-support",
    type=click.IntRange(min=1),
    default=None,
    help="Normalization: association support [default: 40 per 300K].",
)
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    default=0.99,
    show_default=True,
    help="Normalization: association confidence.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@engine_option
@overwrite_option
@quiet_option
@config_option
def tag(store, tagger, quiet, **opts):
    """Give every conversation of STORE tags and a primary cluster (sidecar tag.TAGGER).

    The tags are the buckets of `curate select --per-tag`; `curate tags STORE` shows them.
    With --tagger instag the raw LLM tags go to tag.instag.raw (resumable), the
    raw-to-canonical mapping to STORE/tags/instag.mapping.tsv (edit it and pass
    --mapping to re-apply it without the LLM), the normalized tags to tag.instag.
    """
    from curate.cli.report import stage_done
    from curate.progress import progress_bar
    from curate.store import Store
    from curate.tag.stage import tag_table_of

    st = Store.open(store)
    st.require_base()
    if tagger == "cluster":
        from curate import plugins
        from curate.tag.stage import run_cluster_tag

        params = plugins.load("taggers", "cluster").Params(
            clusters=opts["clusters"],
            method=opts["kmeans"],
            seed=opts["seed"],
            name_terms=opts["name_terms"],
        )
        with progress_bar("tag", st.num_rows(), unit="conversations", enabled=not quiet) as advance:
            result = run_cluster_tag(
                st,
                params,
                embeddings=opts["embeddings"],
                overwrite=opts["overwrite"],
                progress=lambda n: advance(n, n),
                engine=opts["engine"],
            )
    else:
        result = _instag(st, opts, quiet)
    stage_done(
        result, quiet, f"{len(tag_table_of(result)):,} tags (`curate tags {store}` shows them)"
    )


def _instag(st, opts, quiet):
    """Raw LLM tags (unless an edited mapping is re-applied to complete ones), then normalization."""
    from curate import names, plugins
    from curate.errors import CurateError
    from curate.progress import progress_bar
    from curate.tag.stage import run_llm_raw_tags, run_normalize

    instag = plugins.load("taggers", "instag")
    normalize = instag.NormalizeParams(
        min_count=opts["min_count"],
        semantic_threshold=opts["semantic_threshold"],
        min_support=opts["min_support"],
        min_confidence=opts["min_confidence"],
    )
    from curate.runner import is_complete

    if opts["mapping"] is None or not is_complete(st, names.raw_tag_sidecar("instag")):
        if not opts["model"]:
            raise CurateError(
                "--tagger instag needs --model (a path, hub id, served name, or InsTagger)"
            )
        preset = instag.PRESETS.get(opts["model"].lower(), {})
        model = preset.get("model", opts["model"])
        backend = backend_from(opts, model, opts["template"] or preset.get("template"))
        params = instag.Params(max_new_tokens=opts["max_new_tokens"], seed=opts["seed"])
        tagger = instag(backend, params)
        with progress_bar(
            "instag", st.num_rows(), unit="conversations", enabled=not quiet
        ) as advance:
            run_llm_raw_tags(
                st,
                tagger,
                overwrite=opts["overwrite"],
                chunk_rows=opts["chunk_rows"],
                progress=lambda n: advance(n, n),
                engine=opts["engine"],
            )
    embed = None
    if opts["mapping"] is None:
        from curate.embed.embedders import resolve

        embedder = resolve(None)
        embedder.load()
        embed = embedder.encode
    return run_normalize(st, "instag", normalize, embed, mapping_file=opts["mapping"])


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

    from curate import names
    from curate.progress import report_console
    from curate.store import Store
    from curate.tag.stage import find_tags

    st = Store.open(store)
    name = find_tags(st, tagger)
    manifest = st.manifest(names.manifest_name(name))
    table_rows = manifest["tag_table"]
    total = sum(r["count"] for r in table_rows) or 1
    if examples:
        wanted = {r["tag"] for r in table_rows[:top]}
        data = st.read(columns=["messages"], sidecars=[name])
        primary = data.column("tag_primary").to_pylist()
        # the cluster tagger knows who is closest to a cluster's centre; else: store order
        closeness = (
            data.column("tag_similarity").to_pylist()
            if "tag_similarity" in data.column_names
            else [0.0] * data.num_rows
        )
        best: dict[str, list[tuple[float, int]]] = {}
        for i, (t, s) in enumerate(zip(primary, closeness)):
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
        out.add_column("examples")
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
