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

Stages run in the order ``ingest, embed, tag, score, dedup, decontaminate, select,
generate, pairs, train, report`` (dedup after score so that it keeps the best-scored
member; ``decontaminate: {against: [benchmark files]}`` before select, which leaves
the rows it marks out); a
stage missing from the config or set to ``false`` is skipped, except ``report``: the
run ends with ``curate report`` of its store and selection into ``STORE/report.html``
unless ``report: false`` (or ``report: {output: FILE}`` elsewhere). The last three close the loop
from a subset to a model::

    generate:                       # n answers per prompt of the store, into a new store
      model: runs/sft-model
      into: runs/samples
      n: 7
      score: [{model: ArmoRM}]      # scorers run on the new store, one entry each
    pairs: {output: runs/pairs}     # reads the generated store (or `store:`)
    train: {model: runs/sft-model, method: dpo, lora: true, output: runs/dpo-model}

A top-level ``engine:`` runs the per-shard stages (embed, tag, score, generate and the
scorers of its ``score:`` list) on that engine, unless a section says otherwise::

    engine: {engine: ray, num-gpus-per-worker: 1}   # or just `engine: ray`

``pairs`` reads the store ``generate`` wrote when the config has a generate section,
else the run's store (``store:`` names another). ``train`` reads ``data:``, by default
the pairs folder for ``method: dpo`` and the selection folder for ``sft``. Paths are
relative to the config file's folder.

Each stage is the command a user would type,
called with the config's options typed and checked by the command's own
declarations (an unknown option or a bad value stops the run before any stage
starts), so it is skipped when already done with the same parameters, refuses to mix
results built with other parameters (``--overwrite`` per stage), and resumes
where a killed run stopped.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.config import key_values, load_yaml_mapping
from curate.errors import InputError
from curate.runner.engine import EngineOptions

#: the engine's options (curate.runner.EngineOptions), as a section or `engine:` spells them
ENGINE_KEYS = tuple(f.name for f in dataclasses.fields(EngineOptions))

STAGES = (
    "ingest", "embed", "tag", "score", "dedup", "decontaminate", "select", "generate", "pairs",
    "train", "report",
)  # fmt: skip
#: the stages a top-level ``engine:`` applies to (their per-shard work)
ENGINE_STAGES = ("embed", "tag", "score", "generate")
#: options that name a path, per stage: resolved against the config file's folder
PATH_OPTIONS = {
    "decontaminate": ("against",),
    "select": ("output",),
    "generate": ("into",),
    "pairs": ("output",),
    "train": ("output",),
    "report": ("output", "subset"),
}


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
    unknown = sorted(set(config) - {"store", "engine", *STAGES})
    if unknown:
        raise InputError(
            f"config file {str(path)!r}: unknown entries {unknown}; stages are {', '.join(STAGES)}"
        )
    return config


def plan(config: dict[str, Any], base: Path | None = None) -> list[Step]:
    """The steps to run, in order (paths relative to the config file's folder)."""
    base = base or Path.cwd()

    def path(value: Any) -> str:
        return str((base / str(value)).resolve())

    store = path(config["store"])
    engine = engine_entries(config.get("engine"))
    steps = []
    made: dict[str, str] = {}  # what earlier steps wrote: generated store, select and pairs output
    for stage in STAGES:
        section = config.get(stage)
        if stage == "report" and section is None:
            section = {}  # by default: the report of the run's store (and its selection)
        if section is None or section is False:
            continue
        for entry in section if isinstance(section, list) else [section]:
            entry = dict(entry or {})
            if stage in ENGINE_STAGES:
                entry = with_engine(entry, engine)
            for key in PATH_OPTIONS.get(stage, ()):
                if key in entry:
                    value = entry[key]
                    entry[key] = (
                        [path(v) for v in value] if isinstance(value, list) else path(value)
                    )
            if stage in ("generate", "train") and (base / str(entry.get("model", ""))).exists():
                entry["model"] = path(entry["model"])  # a model folder beside the config
            if stage == "ingest":
                given = entry.pop("inputs", None)
                if not given:
                    raise InputError("the ingest section needs `inputs:` (files or folders)")
                given = [given] if isinstance(given, str) else given
                steps.append(Step(stage, store, entry, [path(p) for p in given]))
            elif stage == "generate":
                steps += _generate_steps(store, entry, path)
                made["generated"] = entry["into"]
            elif stage == "pairs":
                target = (
                    path(entry.pop("store")) if "store" in entry else made.get("generated", store)
                )
                if "output" not in entry:
                    raise InputError("the pairs section needs `output:` (the pairs folder)")
                steps.append(Step(stage, target, entry))
                made["pairs"] = entry["output"]
            elif stage == "train":
                steps.append(Step(stage, _train_data(entry, made, path), entry))
            elif stage == "report":
                entry.setdefault("output", str(Path(store) / "report.html"))
                if "select" in made:
                    entry.setdefault("subset", made["select"])
                steps.append(Step(stage, store, entry))
            else:
                steps.append(Step(stage, store, entry))
                if stage == "select" and "output" in entry:
                    made["select"] = entry["output"]
    return steps


def _generate_steps(store: str, entry: dict[str, Any], path) -> list[Step]:
    """The generate step and the scorers its ``score:`` list runs on the new store."""
    if "into" not in entry:
        raise InputError("the generate section needs `into:` (the new store of samples)")
    scorers = entry.pop("score", None) or []
    scorers = [scorers] if isinstance(scorers, dict) else scorers
    engine = {k: v for k, v in entry.items() if _option(k) in ENGINE_KEYS}
    return [
        Step("generate", store, entry),
        *(Step("score", entry["into"], with_engine(dict(s), engine)) for s in scorers),
    ]


def _option(key: Any) -> str:
    return str(key).replace("-", "_")


def engine_entries(value: Any) -> dict[str, Any]:
    """The top-level ``engine:``: an engine name, or a mapping of the engine's options."""
    if value is None:
        return {}
    entries = {"engine": value} if isinstance(value, str) else value
    if not isinstance(entries, dict):
        raise InputError(
            "the config's `engine:` is an engine name (ray) or a mapping of its options "
            "(engine, workers, num-gpus-per-worker, cpus-per-worker, ray-address, max-retries)"
        )
    unknown = sorted(str(k) for k in entries if _option(k) not in ENGINE_KEYS)
    if unknown:
        raise InputError(
            f"the config's `engine:` has no option {unknown}; it takes "
            f"{', '.join(k.replace('_', '-') for k in ENGINE_KEYS)}"
        )
    return dict(entries)


def with_engine(entry: dict[str, Any], engine: dict[str, Any]) -> dict[str, Any]:
    """A section's options with the run's engine options it does not set itself."""
    own = {_option(k) for k in entry}
    return {**{k: v for k, v in engine.items() if _option(k) not in own}, **entry}


def _train_data(entry: dict[str, Any], made: dict[str, str], path) -> str:
    """What train reads: ``data:``, else the pairs folder (dpo) or the selection (sft)."""
    if "data" in entry:
        return path(entry.pop("data"))
    method = str(entry.get("method", "sft"))
    source = "pairs" if method == "dpo" else "select"
    if source not in made:
        raise InputError(
            f"the train section (method {method}) needs `data:`, or a {source} section "
            "with an `output:` before it"
        )
    return made[source]


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
    if step.stage == "ingest":
        positional = {"store": step.store, "inputs": step.inputs}
    else:  # the command's one argument: the store it reads (train: its data folder)
        argument = next(p.name for p in command.params if isinstance(p, click.Argument))
        positional = {argument: step.store}
    kwargs.update(typed_values(command, positional, step.stage))
    with click.Context(cli, info_name="curate") as root:
        return root.invoke(command, **kwargs)
