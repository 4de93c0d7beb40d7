"""``curate generate``: rejection sampling, n answers per prompt into a new store."""

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
@click.option("--model", required=True, help="Model: path or hub id, or the name a server knows.")
@backend_options("generate", default="transformers")
@click.option(
    "--into",
    required=True,
    type=click.Path(file_okay=False),
    help="The new store to write the samples into (a new or empty folder).",
)
@click.option(
    "-n",
    "--samples",
    "n",
    type=click.IntRange(min=1, max=1024),
    default=7,
    show_default=True,
    help="Answers sampled per prompt.",
)
@click.option("--temperature", type=click.FloatRange(min=0.0), default=0.8, show_default=True)
@click.option(
    "--top-p",
    type=click.FloatRange(min=0.0, max=1.0, min_open=True),
    default=0.95,
    show_default=True,
)
@click.option("--max-new-tokens", type=click.IntRange(min=1), default=1024, show_default=True)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="With the prompt_id and the sample's index, seeds each sample.",
)
@click.option("--stop", multiple=True, help="Stop string (repeatable); not kept in the answer.")
@click.option(
    "--max-prompts",
    type=click.IntRange(min=1),
    default=None,
    help="Sample only the first N prompts in store order (a trial run).",
)
@click.option(
    "--chunk-prompts",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="Prompts per checkpoint: a killed run resumes from the last finished chunk.",
)
@click.option(
    "--chat-template",
    default=None,
    help="transformers, vllm: chat template (file or string) for a model without one.",
)
@engine_option
@overwrite_option
@quiet_option
@config_option
def generate(
    store,
    model,
    into,
    n,
    temperature,
    top_p,
    max_new_tokens,
    seed,
    stop,
    max_prompts,
    chunk_prompts,
    chat_template,
    engine,
    overwrite,
    quiet,
    **backend,
):
    """Sample n answers for every prompt of STORE into the new store --into.

    A prompt is a conversation of STORE minus its final assistant turn, or a
    prompt-only row; the answers to one prompt (rows that share a prompt_id) are one
    prompt, sampled once. Each new row carries its prompt_id, its parent row, the
    model's identity and the sampling parameters; each sample is seeded from --seed,
    the prompt_id and its index, so a rerun gives the same samples where the backend
    is deterministic. A failed generation goes to the rejects table with its error,
    and a reply cut at --max-new-tokens is flagged cut_off. Resumable chunk by chunk.
    The new store is an ordinary store: score, judge, dedup, select and pairs read it.
    """
    from rich.table import Table

    from curate.generate.run import GenerateOptions, run_generate
    from curate.generate.sampling import SamplingOptions
    from curate.progress import progress_bar, report_console
    from curate.store import Store

    source = Store.open(store)
    source.require_base()
    options = GenerateOptions(
        SamplingOptions(n, temperature, top_p, max_new_tokens, seed, tuple(stop)),
        max_prompts=max_prompts,
        chunk_prompts=chunk_prompts,
    )
    llm = backend_from(backend, model, chat_template)
    try:
        with progress_bar(
            f"generate {n} per prompt",
            None,
            unit="prompts",
            enabled=not quiet,
            extra_unit="tokens",
        ) as advance:
            result = run_generate(
                source,
                into,
                llm,
                options,
                overwrite=overwrite,
                progress=lambda k, t: advance(k, k, t),
                planned=advance.set_total,
                engine=engine,
            )
    finally:
        llm.close()
    if quiet:
        return
    console = report_console()
    if result.already_done:
        console.print(f"[yellow]{result.store} already holds this generation: nothing to do[/]")
    c = result.counts
    table = Table(title=f"generate: {model}", show_edge=False)
    table.add_column("")
    table.add_column("count", justify="right")
    rows = [
        ("source rows", c["source_rows"]),
        ("prompts", c["prompts"]),
        ("samples requested", c["samples_requested"]),
        ("generated (new rows)", c["generated"]),
        ("identical to another sample", c["duplicates"]),
        ("failed (in rejects)", c["failed"]),
        ("cut off at --max-new-tokens", c["cut_off"]),
        ("completion tokens", c["completion_tokens"]),
    ]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    console.print(table)
    for reason, count in c["failed_by_reason"].items():
        console.print(f"  failed: {reason} {count:,}")
    rate = result.manifest.get("completion_tokens_per_second")
    console.print(
        f"wrote the store {result.store}; {result.manifest['wall_seconds']:.1f} s"
        + (f" ({rate:,.0f} tokens/s)" if rate else "")
    )
