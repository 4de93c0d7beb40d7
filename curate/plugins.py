"""One plugin contract and one registry for embedders, taggers, scorers, LLM backends and formats.

**The contract** (:class:`Plugin`). A plugin has a ``name``, the base columns it
``reads``, the Arrow ``schema()`` of the columns it provides (empty for kinds that
provide none, such as LLM backends), ``params()`` (what a manifest records: every
setting that changes its output), ``identity()`` (model revision or file hashes;
after ``load()``), ``load()`` (heavy resources, called once) and a batch method of
its kind (``encode``, ``tag``, ``score``/``run``, ``generate``, ``convert``). Its
``__init__`` only stores parameters: constructing one is cheap and imports nothing
heavy. ``requires`` names the optional modules it needs; :func:`require` checks them
in one place and says which ``pip install`` brings them.

**The registry.** Plugins are registered by kind and name: the built-ins below,
plus entry points in the groups ``curate.embedders``, ``curate.taggers``,
``curate.scorers``, ``curate.backends`` and ``curate.formats`` (a third-party
package adds one with ``[options.entry_points] curate.scorers = mine =
my_pkg.scorer:MyScorer``). Entries are ``module:attribute`` strings, imported only
when used: listing the registry or running ``curate --help`` imports no plugin and
no torch, and the core never imports a plugin module by name.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pyarrow as pa

from curate.errors import CurateError

KINDS = ("embedders", "taggers", "scorers", "backends", "formats")
ENTRY_POINT_GROUP = "curate.{kind}"

# kind -> name -> "module:attribute" (a Plugin subclass, or a factory for the format kind)
BUILTINS: dict[str, dict[str, str]] = {
    "embedders": {
        "use-multilingual": "curate.embed.embedders:UseEmbedder",
        "e5-small-q4": "curate.embed.embedders:E5Embedder",
        "sentence-transformers": "curate.embed.embedders:SentenceTransformerEmbedder",
    },
    "taggers": {
        "cluster": "taggers.cluster:ClusterTagger",
        "instag": "taggers.instag:InstagTagger",
    },
    "scorers": {
        "heuristics": "scorers.heuristics:HeuristicScorer",
        "armorm": "scorers.armorm:ArmoRMScorer",
        "reward": "scorers.reward:RewardModelScorer",
    },
    "backends": {
        "transformers": "curate.llm.transformers_backend:TransformersBackend",
        "vllm": "curate.llm.vllm_backend:VLLMBackend",
        "openai": "curate.llm.openai_backend:OpenAIBackend",
    },
    "formats": {},  # filled from curate.ingest.formats.FORMATS (pure Python, no heavy import)
}


@dataclass(frozen=True)
class Requirement:
    """An optional module a plugin needs, and what installs it."""

    module: str
    install: str  # e.g. "pip install vllm" or "pip install 'curate[gpu]'"


class Plugin:
    """The contract every plugin keeps (see the module docstring)."""

    kind: str = ""
    name: str = ""
    reads: tuple[str, ...] = ("messages",)
    requires: tuple[Requirement, ...] = ()

    def schema(self) -> pa.Schema:
        """The columns the plugin provides (without ``id``)."""
        return pa.schema([])

    def params(self) -> dict[str, Any]:
        """Every setting that changes the output (JSON-serialisable; part of a fingerprint)."""
        return {}

    def identity(self) -> dict[str, Any]:
        """Which model or files this is (revision, hashes); meaningful after :meth:`load`."""
        return {}

    def load(self) -> None:
        """Bring in heavy resources once (weights, tokenizers, connections)."""


def require(requirements: Sequence[Requirement], what: str) -> None:
    """Fail with one clear error naming the missing modules and the ``pip install`` for them."""
    missing = [r for r in requirements if importlib.util.find_spec(r.module) is None]
    if missing:
        hints = "; ".join(dict.fromkeys(r.install for r in missing))
        raise CurateError(
            f"{what} needs {', '.join(r.module for r in missing)}, which is not installed: {hints}"
        )


def _builtins(kind: str) -> dict[str, str]:
    if kind == "formats" and not BUILTINS["formats"]:
        from curate.ingest.formats import FORMATS

        BUILTINS["formats"] = {f.name: f"curate.ingest.formats:BY_NAME.{f.name}" for f in FORMATS}
    return BUILTINS[kind]


def _entry_points(kind: str) -> dict[str, str]:
    try:
        found = metadata.entry_points(group=ENTRY_POINT_GROUP.format(kind=kind))
    except Exception:  # a broken distribution's metadata must not break the CLI
        return {}
    return {ep.name: ep.value for ep in found}


def registered(kind: str) -> dict[str, str]:
    """Every plugin of ``kind``: name -> ``module:attribute`` (built-ins win over entry points)."""
    if kind not in KINDS:
        raise CurateError(f"unknown plugin kind {kind!r}; kinds are {', '.join(KINDS)}")
    return {**_entry_points(kind), **_builtins(kind)}


def names(kind: str) -> list[str]:
    return sorted(registered(kind))


def _import(target: str) -> Any:
    module, _, attribute = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attribute.split("."):
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def load(kind: str, name: str) -> Any:
    """The class (or factory) registered as ``name`` for ``kind``, imported now."""
    entries = registered(kind)
    if name not in entries:
        raise CurateError(
            f"no {kind[:-1]} named {name!r}; registered: {', '.join(sorted(entries)) or 'none'}"
        )
    return _import(entries[name])
