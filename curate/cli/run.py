"""``curate run``: every stage from one config file."""

from __future__ import annotations

import click


@click.command()
@click.argument("config", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the commands that would run, and stop.")
def run(config, dry_run):
    """Run ingest, embed, tag, score, dedup, select, generate, pairs and train as CONFIG
    (YAML) says.

    Each stage is the command a user would type: skipped when done with the same
    parameters, resumed where a killed run stopped. See curate/run.py for the
    config format; configs/ has examples.
    """
    from pathlib import Path

    from curate.progress import report_console
    from curate.run import load_config, plan, run_step, step_command

    config_path = Path(config)
    steps = plan(load_config(config_path), base=config_path.resolve().parent)
    for step in steps:
        step_command(step)  # a config error stops the run before any stage starts
    console = report_console()
    for step in steps:
        console.print(f"[bold cyan]$ {step.describe()}[/]", highlight=False)
        if not dry_run:
            run_step(step)
    return steps
