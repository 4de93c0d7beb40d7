"""``curate dedup``: near-duplicate groups and the member to keep."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, quiet_option
from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD, DEFAULT_THRESHOLD

COMPUTE_OPTIONS = (
    "threshold",
    "cross_lingual_threshold",
    "embeddings",
    "embedder",
    "mode",
    "index",
    "cells",
    "nprobe",
    "keep_by",
    "seed",
)


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--threshold",
    "-t",
    type=float,
    default=DEFAULT_THRESHOLD,
    show_default=True,
    help="Cosine similarity at or above which two conversations are near-duplicates.",
)
@click.option(
    "--cross-lingual-threshold",
    type=float,
    default=DEFAULT_CROSS_LINGUAL_THRESHOLD,
    show_default=True,
    help="Threshold for pairs in different languages or scripts (a translation scores lower than a copy); "
    "equal to --threshold treats all pairs alike.",
)
@click.option(
    "--embedder",
    default=None,
    help="Use the embeddings of this embedder [default: use-multilingual].",
)
@click.option(
    "--text",
    "mode",
    type=click.Choice(["conversation", "user", "first_user"]),
    default="conversation",
    show_default=True,
    help="Use the embeddings of this text mode.",
)
@click.option(
    "--embeddings", default=None, help="An embedding sidecar by name (overrides --embedder/--text)."
)
@click.option(
    "--index",
    type=click.Choice(["auto", "exact", "partition", "faiss-flat", "faiss-ivf"]),
    default="auto",
    show_default=True,
    help="exact: all pairs; partition: k-means cells, each vector against its --nprobe nearest cells "
    "(recall vs exact measured every run); faiss-flat/faiss-ivf: FAISS k-NN with a saturation check; "
    "auto: exact up to 20,000 vectors, else partition.",
)
@click.option(
    "--cells",
    type=click.IntRange(min=1),
    default=None,
    help="k-means cells [default: ~N/256, a power of two].",
)
@click.option(
    "--nprobe",
    type=click.IntRange(min=1),
    default=None,
    help="Cells each vector is compared with [default: 6; faiss-ivf: 16].",
)
@click.option(
    "--keep-by",
    default="auto",
    show_default=True,
    help="Which member to keep: auto (the score stage's score, else rule), rule, COLUMN or SIDECAR:COLUMN; '-' prefix: lower is better.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--show", type=click.IntRange(min=0), default=0, help="Print the N largest groups side by side."
)
@overwrite_option
@quiet_option
@config_option
def dedup(
    store,
    threshold,
    cross_lingual_threshold,
    embedder,
    mode,
    embeddings,
    index,
    cells,
    nprobe,
    keep_by,
    seed,
    show,
    overwrite,
    quiet,
):
    """Group near-duplicate conversations in STORE and mark the best member of each group to keep.

    Writes the sidecar `dedup` (dup_group, dup_similarity, dup_keep, dup_group_size);
    no row is deleted. With --show N alone, prints the existing result's N largest groups.
    """
    from curate.dedup.report import render_groups, render_summary
    from curate.dedup.stage import SIDECAR, DedupOptions, run_dedup
    from curate.progress import progress_bar, report_console
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    ctx = click.get_current_context()
    explicit = any(
        ctx.get_parameter_source(p) is not click.core.ParameterSource.DEFAULT
        for p in COMPUTE_OPTIONS
    )
    existing = (st.manifest(f"sidecar.{SIDECAR}") or {}).get("status") == "complete"
    console = report_console()
    if not (show and existing and not explicit and not overwrite):
        options = DedupOptions(
            threshold=threshold,
            cross_lingual_threshold=cross_lingual_threshold,
            embeddings=embeddings,
            embedder=embedder,
            text=mode,
            index=index,
            cells=cells,
            nprobe=nprobe,
            keep_by=keep_by,
            seed=seed,
        )
        with progress_bar("dedup", st.num_rows(), unit="queries", enabled=not quiet) as advance:
            result = run_dedup(st, options, overwrite=overwrite, progress=lambda n: advance(n, n))
        if not quiet:
            render_summary(st, result, console)
    if show:
        render_groups(st, show, console)
