"""``curate embed``: cache one vector per conversation in the store."""

from __future__ import annotations

import click

from curate.cli.options import config_option, engine_option, overwrite_option, quiet_option
from curate.embed.stage import EmbedOptions
from curate.options import click_options, pick


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click_options(EmbedOptions)
@engine_option
@overwrite_option
@quiet_option
@config_option
def embed(store, overwrite, quiet, engine, **kwargs):
    """Embed every conversation of STORE and cache the vectors as the sidecar embed.<embedder>.<text>.

    Resumable shard by shard; a different embedder or text mode writes beside the
    existing vectors. Dedup, tagging, selection and the notebooks reuse them.
    """
    from curate.cli.report import stage_done
    from curate.embed.stage import run_embed
    from curate.progress import progress_bar
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    options = pick(EmbedOptions, kwargs)
    with progress_bar("embed", st.num_rows(), unit="conversations", enabled=not quiet) as advance:
        result = run_embed(
            st, options, overwrite=overwrite, progress=lambda n: advance(n, n), engine=engine
        )
    counts = result.counts
    stage_done(
        result,
        quiet,
        f"{counts['dim']}-d; {counts['truncated']:,} cut to {options.max_chars:,} characters; "
        f"{counts['multi_turn']:,} multi-turn with a last-exchange vector",
    )
