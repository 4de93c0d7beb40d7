"""``curate train``: fine-tune a model on a selection (SFT) or on preference pairs (DPO) with TRL."""

from __future__ import annotations

import click

from curate.cli.options import config_option, overwrite_option, quiet_option
from curate.options import click_options, pick
from curate.train.options import TrainOptions


@click.command("train")
@click.argument("data", type=click.Path(exists=True))
@click.option(
    "--model", required=True, help="Base model: a local directory (safetensors) or a hub id."
)
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(),
    help="Model folder: new, empty, or holding an earlier run of curate train.",
)
@click_options(TrainOptions)
@overwrite_option
@quiet_option
@config_option
def train(data, model, output, overwrite, quiet, **kwargs):
    """Fine-tune MODEL on DATA (a `curate select` or `curate pairs` folder, or one
    .jsonl/.parquet file) with TRL into OUTPUT.

    --method sft trains on the conversations (on a pairs folder: prompt + chosen),
    with the loss on the assistant's tokens only; --method dpo trains on the pairs.
    OUTPUT gets the model (with --lora: the adapter), its tokenizer and chat
    template, and curate_train.json (data fingerprint, base model, parameters,
    loss curve, tokens/s). The same command again: nothing to do when done, a
    resume from the last checkpoint when killed.
    """
    from curate.progress import report_console
    from curate.train.run import run_train

    options = pick(TrainOptions, {**kwargs, "data": data, "model": model, "output": output})
    result = run_train(options, overwrite=overwrite, quiet=quiet)
    console = report_console()
    manifest = result.manifest
    if result.already_done:
        console.print(
            f"[yellow]{result.output} already holds this model ({manifest.get('steps', 0):,} "
            f"steps of {manifest.get('method')} on the same data and parameters): nothing to do[/]"
        )
        return
    if quiet:
        return
    console.print(summary_table(manifest, str(result.output)))
    console.print(f"wrote {result.output}: {', '.join(manifest['files'])}")


def summary_table(manifest: dict, output: str):
    """The end-of-run table: data, model, steps, loss first to last, tokens, speed, wall time."""
    from rich.table import Table

    curve = manifest.get("loss_curve") or []
    table = Table(title=f"curate train ({manifest['method']}): {output}")
    table.add_column("", justify="left")
    table.add_column("value", justify="right")
    data = manifest["data"]
    options = manifest["options"]
    resolved = manifest["resolved"]
    rows = [
        ("data", f"{data['rows']:,} {data['kind']} rows" + _skipped(data.get("skipped") or {})),
        ("base model", str(manifest["model"].get("model"))),
        ("adapter", f"LoRA r={options['lora_r']}" if options["lora"] else "full fine-tuning"),
        ("chat template", manifest["chat_template"]["source"]),
        ("device / dtype", f"{resolved['device']} / {resolved['dtype']}"),
        ("learning rate", f"{resolved['learning_rate']:g}"),
        ("steps", f"{manifest.get('steps', 0):,} (epoch {manifest.get('epoch') or 0:.2f})"),
    ]
    if curve:
        rows.append(("loss", f"{curve[0]['loss']:.4f} -> {curve[-1]['loss']:.4f}"))
        if "rewards/accuracies" in curve[-1]:
            rows.append(("reward accuracy", f"{curve[-1]['rewards/accuracies']:.2f}"))
            rows.append(("reward margin", f"{curve[-1].get('rewards/margins', 0.0):+.4f}"))
    speed = manifest.get("tokens_per_second")
    rows += [
        ("tokens seen", f"{manifest.get('tokens_seen', 0):,}"),
        ("tokens/s", f"{speed:,.0f}" if speed else "-"),
        ("wall time", f"{manifest.get('wall_seconds', 0.0):,.1f} s"),
    ]
    if manifest.get("resumed_from"):
        rows.append(("resumed from", manifest["resumed_from"]))
    for name, value in rows:
        table.add_row(name, value)
    return table


def _skipped(skipped: dict) -> str:
    parts = [f"{n:,} {why.replace('_', ' ')}" for why, n in skipped.items() if n]
    return f" ({', '.join(parts)} left out)" if parts else ""
