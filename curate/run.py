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
or set to ``false`` is skipped. Each stage is the very command a user would type,
so it is skipped when already done with the same parameters, refuses to mix
results built with other parameters (``--overwrite`` per stage), and resumes
where a killed run stopped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.errors import InputError

STAGES = ("ingest", "embed", "tag", "score", "dedup", "select")


def load_config(path: str | Path) -> dict[str, Any]:
    import yaml

    try:
        config = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise InputError(f"config file {str(path)!r} not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(config, dict) or "store" not in config:
        raise InputError(f"config file {str(path)!r} must be a mapping with a `store:` entry")
    unknown = sorted(set(config) - {"store", *STAGES})
    if unknown:
        raise InputError(
            f"config file {str(path)!r}: unknown entries {unknown}; stages are {', '.join(STAGES)}"
        )
    return config


def option_args(options: dict[str, Any]) -> list[str]:
    """``{"per-tag": 50, "quiet": True, "weights": {"a": 1}}`` -> ``["--per-tag", "50", "--quiet", "--weights", "a=1"]``."""
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + str(key).replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
        elif isinstance(value, dict):
            args += [flag, ",".join(f"{k}={v}" for k, v in value.items())]
        elif isinstance(value, list | tuple):
            for item in value:
                args += [flag, str(item)]
        else:
            args += [flag, str(value)]
    return args


def plan(config: dict[str, Any], base: Path | None = None) -> list[list[str]]:
    """The command lines to run, in order (paths relative to the config file's folder)."""
    base = base or Path.cwd()
    store = str((base / str(config["store"])).resolve()) if base else str(config["store"])
    commands = []
    for stage in STAGES:
        section = config.get(stage)
        if section is None or section is False:
            continue
        entries = section if isinstance(section, list) else [section]
        for entry in entries:
            entry = dict(entry or {})
            if stage == "ingest":
                inputs = entry.pop("inputs", None)
                if not inputs:
                    raise InputError("the ingest section needs `inputs:` (files or folders)")
                inputs = [inputs] if isinstance(inputs, str) else inputs
                paths = [str((base / str(p)).resolve()) for p in inputs]
                commands.append(["ingest", *paths, "--store", store, *option_args(entry)])
            else:
                if stage == "select" and "output" in entry:
                    entry["output"] = str((base / str(entry["output"])).resolve())
                commands.append([stage, store, *option_args(entry)])
    return commands
