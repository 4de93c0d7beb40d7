"""Scorers by name: presets (case-insensitive), or a model's local path or hub id.

Imports nothing heavy: the scorer's module is imported when it is resolved.

* ``armorm``: RLHFlow/ArmoRM-Llama3-8B-v0.1, native (sidecar ``score.armorm``)
* ``skywork-reward``: Skywork/Skywork-Reward-Llama-3.1-8B-v0.2 (``score.skywork-reward``)
* ``skywork-reward-v2``: Skywork/Skywork-Reward-V2-Llama-3.1-8B (``score.skywork-reward-v2``)
* ``heuristics``: cheap weak signals, no model (:mod:`scorers.heuristics`, ``score.heuristics``);
  ``heuristics-learned``: the same signals weighted by the learned model
  (``score.heuristics-learned``);
  the reward-model options (device, dtype, max_length ...) do not apply and are ignored

A path or hub id is scored natively as ArmoRM when its ``config.json`` names
ArmoRM's architecture, else as a generic single-output reward model; its sidecar
is ``score.<last path part>``.

:func:`resolve` is the scorers' resolver in the plugin registry
(``curate.plugins.resolve("scorers", name, ...)``, which is how ``curate score``
reaches it). A scorer that another package registers (entry point group
``curate.scorers``) is resolved by its name too: constructed with ``key`` and
those of the options its ``__init__`` accepts.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

from curate.errors import CurateError

PRESETS: dict[str, tuple[str, str]] = {
    "armorm": ("armorm", "RLHFlow/ArmoRM-Llama3-8B-v0.1"),
    "skywork-reward": ("reward", "Skywork/Skywork-Reward-Llama-3.1-8B-v0.2"),
    "skywork-reward-v2": ("reward", "Skywork/Skywork-Reward-V2-Llama-3.1-8B"),
}


# scorers without a model: the hand-weighted heuristics, and the same signals weighted by
# the small learned model (scorers/quality_model.json)
BUILTIN = {"heuristics": "hand", "heuristics-learned": "learned"}
# reward-model options that a scorer without a model accepts and ignores
MODEL_OPTIONS = ("device", "dtype", "max_length", "token_budget", "max_batch_size", "revision")


def model_key(ref: str) -> str:
    """Store name for a model given by path or hub id: its last path part, lowercased."""
    base = Path(ref.rstrip("/")).name or "model"
    return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-") or "model"


def _is_armorm(ref: str) -> bool:
    """Whether a local directory holds ArmoRM (hub ids: by their name)."""
    from scorers.armorm import ARCHITECTURE, HUB_ID

    path = Path(ref).expanduser()
    if path.is_dir() and (path / "config.json").is_file():
        from curate.models.hub import read_config

        return ARCHITECTURE in (read_config(path).get("architectures") or [])
    return ref == HUB_ID


def resolve(name: str, key: str | None = None, **options: Any):
    """A scorer for a preset name or a model path / hub id; ``options`` go to its constructor."""
    if name.lower() in BUILTIN:
        from scorers.heuristics import HeuristicScorer

        unknown = sorted(set(options) - set(MODEL_OPTIONS))
        if unknown:
            raise TypeError(f"heuristics scorer: unexpected options {', '.join(unknown)}")
        return HeuristicScorer(key=key or name.lower(), weights=BUILTIN[name.lower()])
    plugin = _registered_elsewhere(name)
    if plugin is not None:
        scorer = plugin(**_accepted(plugin, {"key": key or name, **options}))
        if not getattr(scorer, "key", ""):
            scorer.key = key or name
        return scorer
    preset = PRESETS.get(name.lower())
    if preset is not None:
        kind, ref = preset
        key = key or name.lower()
    else:
        ref = name
        if not Path(ref).expanduser().exists() and ref.count("/") != 1:
            raise CurateError(
                f"unknown scorer {name!r}: use a preset ({', '.join([*PRESETS, *BUILTIN])}), "
                "a local model directory, or a hub id (owner/name)"
            )
        kind = "armorm" if _is_armorm(ref) else "reward"
        key = key or model_key(ref)
    if kind == "armorm":
        from scorers.armorm import ArmoRMScorer

        return ArmoRMScorer(ref, key=key, **options)
    from scorers.reward import RewardModelScorer

    return RewardModelScorer(ref, key=key, **options)


def _registered_elsewhere(name: str) -> type | None:
    """The class another package registered as ``name`` (entry point ``curate.scorers``), if any."""
    from curate import plugins

    if name.lower() in PRESETS or name in plugins.BUILTINS["scorers"]:
        return None
    if name not in plugins.registered("scorers"):
        return None
    return plugins.load("scorers", name)


def _accepted(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """The options ``cls.__init__`` takes (all of them if it takes ``**kwargs``)."""
    parameters = inspect.signature(cls).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return options
    wanted = {p.name for p in parameters}
    return {k: v for k, v in options.items() if k in wanted}
