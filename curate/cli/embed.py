"""``curate embed``: cache one vector per conversation in the store."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, quiet_option
from curate.embed.text import DEFAULT_MAX_CHARS, DEFAULT_MODE, MODES


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--embedder",
    default="use-multilingual",
    show_default=True,
    help="Preset (use-multilingual, e5-small-q4, minilm), local sentence-transformers directory, or hub id.",
)
@click.option(
    "--text",
    "mode",
    type=click.Choice(MODES),
    default=DEFAULT_MODE,
    show_default=True,
    help="What is embedded: all user and assistant turns, user turns only, or the first user turn.",
)
@click.option(
    "--max-chars",
    type=click.IntRange(min=16),
    default=DEFAULT_MAX_CHARS,
    show_default=True,
    help="Longer texts keep their first 3/4 and last 1/4 (counted in the manifest).",
)
@click.option(
    "--fold-scripts/--no-fold-scripts",
    default=True,
    show_default=True,
    help="Embed Traditional Chinese folded to Simplified, so both scripts of a text match.",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=128, show_default=True)
@click.option(
    "--device",
    default=None,
    help="cpu, cuda, cuda:1 ... [default: cuda when present] (sentence-transformers models).",
)
@overwrite_option
@quiet_option
@config_option
def embed(store, embedder, mode, max_chars, fold_scripts, batch_size, device, overwrite, quiet):
    """Embed every conversation of STORE and cache the vectors as the sidecar embed.<embedder>.<text>.

    Resumable shard by shard; a different embedder or text mode writes beside the
    existing vectors. Dedup, tagging, selection and the notebooks reuse them.
    """
    from curate.embed.stage import EmbedOptions, run_embed
    from curate.progress import progress_bar, report_console
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    options = EmbedOptions(
        embedder=embedder,
        mode=mode,
        max_chars=max_chars,
        fold_scripts=fold_scripts,
        batch_size=batch_size,
        device=device,
    )
    with progress_bar("embed", st.num_rows(), unit="conversations", enabled=not quiet) as advance:
        result = run_embed(st, options, overwrite=overwrite, progress=lambda n: advance(n, n))
    if quiet:
        return
    console = report_console()
    if result.already_done:
        console.print(
            f"[yellow]{result.name} is already complete with these options: nothing to do[/]"
        )
    rate = result.rows / result.wall_seconds if result.wall_seconds else 0
    console.print(
        f"[bold]{result.name}[/]: {result.rows:,} conversations, {result.dim}-d; "
        f"{result.truncated:,} cut to {max_chars:,} characters; {result.multi_turn:,} multi-turn with a "
        f"last-exchange vector; {result.wall_seconds:.1f} s ({rate:,.0f}/s)"
    )
