"""``curate score``: a reward model (or another scorer) over every conversation."""

from __future__ import annotations

import click

from curate.cli.options import config_option, engine_option, overwrite_option, quiet_option


@click.command()
@click.argument("store", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--model",
    "model",
    required=True,
    help="Preset (ArmoRM, skywork-reward, skywork-reward-v2, heuristics), a local model directory, or a hub id.",
)
@click.option(
    "--name",
    default=None,
    help="Store name of the scores (sidecar score.NAME) [default: the preset, or the model's last path part].",
)
@click.option("--device", default=None, help="cpu, cuda, cuda:1 ... [default: cuda when present]")
@click.option(
    "--dtype",
    type=click.Choice(["auto", "bf16", "fp16", "fp32"]),
    default="auto",
    show_default=True,
    help="auto: bf16 on GPU, fp32 on CPU.",
)
@click.option(
    "--max-length",
    type=click.IntRange(min=16),
    default=None,
    help="Longest input in tokens; longer conversations lose their earliest exchanges, then tokens "
    "from the left (recorded per row) [default: the model's context, at most 8192].",
)
@click.option(
    "--token-budget",
    type=click.IntRange(min=16),
    default=None,
    help="Padded tokens per batch (rows x longest row) [default: 32768 on GPU, 2048 on CPU].",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=512,
    show_default=True,
    help="Most rows per batch.",
)
@click.option(
    "--chunk-rows",
    type=click.IntRange(min=1),
    default=4096,
    show_default=True,
    help="Rows per checkpoint: a killed run resumes from the last finished chunk.",
)
@click.option("--revision", default=None, help="Hub revision (branch, tag or commit) of --model.")
@engine_option
@overwrite_option
@quiet_option
@config_option
def score(
    store,
    model,
    name,
    device,
    dtype,
    max_length,
    token_budget,
    batch_size,
    chunk_rows,
    revision,
    engine,
    overwrite,
    quiet,
):
    """Score every conversation of STORE with a reward model into the sidecar score.NAME.

    ArmoRM is implemented natively (no remote code) and also stores its 19
    objective rewards and gating weights. A conversation that cannot be scored
    (no assistant reply, ...) gets no score and a status that says why.
    Resumable chunk by chunk; a different model, dtype or max length refuses
    unless --overwrite (or writes beside under another --name).
    """
    from curate import plugins
    from curate.cli.report import stage_done, status_counts
    from curate.progress import progress_bar
    from curate.score.stage import run_score
    from curate.store import Store

    st = Store.open(store)
    st.require_base()
    scorer = plugins.resolve(
        "scorers",
        model,
        key=name,
        device=device,
        dtype=dtype,
        max_length=max_length,
        token_budget=token_budget,
        max_batch_size=batch_size,
        revision=revision,
    )
    with progress_bar(
        f"score {scorer.key}",
        st.num_rows(),
        unit="conversations",
        enabled=not quiet,
        extra_unit="tokens",
    ) as advance:
        result = run_score(
            st,
            scorer,
            overwrite=overwrite,
            chunk_rows=chunk_rows,
            progress=lambda n, t: advance(n, n, t),
            engine=engine,
        )
    statuses = status_counts(result)
    tokens = result.counts.get("tokens", 0)
    detail = f"{statuses}" + (f"; {tokens:,} tokens" if tokens else "")
    if tokens and result.wall_seconds:
        detail += f" ({tokens / result.wall_seconds:,.0f} tokens/s)"
    stage_done(result, quiet, detail)
