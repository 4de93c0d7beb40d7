"""``curate run CONFIG.yaml``: every stage in order, from one config file.

The config names the store and, per stage, the options of that stage's command
(the same names as on the command line, with dashes or underscores)::

    store: runs/shared
    ingest:
      inputs: [../shared/data/lima_en, ../shared/data/oasst_zh]
    embed: {}                       # defaults
    tag: {tagger: cluster}
    score: [{model: heuristics}]    # one entry per scorer
    dedup: {threshold: 0.9}
    select: {per-tag: 50, output: runs/shared/subset}

Stages run in the order ``ingest, embed, tag, score, dedup, select`` (dedup after
score so that it keeps the best-scored member); a stage missing from the config
or set to ``false`` is skipped. Each stage is the command a user would type,
called with the config's options typed and checked by the command's own
declarations (an unknown option or a bad value stops the run before any stage
starts), so it is skipped when already done with the same parameters, refuses to mix
results built with other parameters (``--overwrite`` per stage), and resumes
where a killed run stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.config import key_values, load_yaml_mapping
from curate.errors import InputError

STAGES = ("ingest", "embed", "tag", "score", "dedup", "select")


@dataclass
class Step:
    """One stage of a run: the command and its options as the config gives them."""

    stage: str
    store: str
    options: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)  # ingest only

    def describe(self) -> str:
        """The command line a user would type for this step (for the log)."""
        parts = ["curate", self.stage, *self.inputs]
        parts += ["--store", self.store] if self.stage == "ingest" else [self.store]
        for key, value in self.options.items():
            flag = "--" + str(key).replace("_", "-")
            if value is True:
                parts.append(flag)
            elif value not in (None, False):
                for item in value if isinstance(value, list | tuple) else [value]:
                    parts += [flag, str(key_values(item))]
        return " ".join(parts)


def load_config(path: str | Path) -> dict[str, Any]:
    config = load_yaml_mapping(path)
    if "store" not in config:
        raise InputError(f"config file {str(path)!r} must be a mapping with a `store:` entry")
    unknown = sorted(set(config) - {"store", *STAGES})
    if unknown:
        raise InputError(
            f"config file {str(path)!r}: unknown entries {unknown}; stages are {', '.join(STAGES)}"
        )
    return config


def plan(config: dict[str, Any], base: Path | None = None) -> list[Step]:
    """The steps to run, in order (paths relative to the config file's folder)."""
    base = base or Path.cwd()
    store = str((base / str(config["store"])).resolve())
    steps = []
    for stage in STAGES:
        section = config.get(stage)
        if section is None or section is False:
            continue
        for entry in section if isinstance(section, list) else [section]:
            entry = dict(entry or {})
            inputs: list[str] = []
            if stage == "ingest":
                given = entry.pop("inputs", None)
                if not given:
                    raise InputError("the ingest section needs `inputs:` (files or folders)")
                given = [given] if isinstance(given, str) else given
                inputs = [str((base / str(p)).resolve()) for p in given]
            if stage == "select" and "output" in entry:
                entry["output"] = str((base / str(entry["output"])).resolve())
            steps.append(Step(stage, store, entry, inputs))
    return steps


def step_command(step: Step) -> tuple[Any, dict[str, Any]]:
    """The step's click command and its options, typed and checked as the CLI would."""
    import click

    from curate.cli import cli
    from curate.config import typed_values

    command = cli.get_command(click.Context(cli), step.stage)
    return command, typed_values(command, step.options, f"config section `{step.stage}`")


def run_step(step: Step) -> Any:
    """Run one step: the stage's own command, called with typed options (no argv)."""
    import click

    from curate.cli import cli
    from curate.config import typed_values

    command, kwargs = step_command(step)
    positional = {
        "store": step.store,
        **({"inputs": step.inputs} if step.stage == "ingest" else {}),
    }
    kwargs.update(typed_values(command, positional, step.stage))
    with click.Context(cli, info_name="curate") as root:
        return root.invoke(command, **kwargs)
