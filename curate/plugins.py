"""One plugin contract and one registry for embedders, taggers, scorers, LLM backends and formats.

**The contract** (:class:`Plugin`). A plugin has a ``kind`` and a ``name`` (the
name it is registered under), the base columns it ``reads``, the Arrow
``schema()`` of the columns it provides (empty for kinds that provide none, such
as LLM backends), ``params()`` (what a manifest records: every setting that
changes its output), ``identity()`` (model revision or file hashes), ``load()``
(heavy resources, called once) and the batch method of its kind
(:data:`BATCH_METHODS`: ``encode``, ``tag``, ``score``, ``generate``;
``converter`` for formats). Its ``__init__`` only stores parameters:
constructing one is cheap and imports nothing heavy (no torch). ``params()`` and
``identity()`` describe the loaded plugin (a reward model's dtype is resolved by
``load()``): call them after ``load()``. An instance may be narrower than its
class: a sentence-transformers embedder's instance ``name`` is its model, a
scorer's ``key`` its store name.

**Optional dependencies** are declared in ``requires`` (:class:`Requirement`:
the module and the ``pip install`` that brings it) and checked in one place,
:func:`require`, which every ``load()`` calls first (``Plugin.check_requires``):
a missing module is one :class:`~curate.errors.CurateError` with the hint.

**The registry.** Plugins are registered by kind and name: :data:`BUILTINS`
below (the one list of built-ins; they are not repeated as entry points), plus
entry points in the groups ``curate.embedders``, ``curate.taggers``,
``curate.scorers``, ``curate.backends`` and ``curate.formats`` (a third-party
package adds one with ``[options.entry_points] curate.scorers = mine =
my_pkg.scorer:MyScorer``; a built-in of the same name wins). Entries are
``module:attribute`` strings, imported only by :func:`load`: listing the registry
(:func:`registered`, :func:`names`) or running ``curate --help`` imports no
plugin and no torch, and an entry point that cannot be imported fails only when
it is loaded, as a ``CurateError`` naming it. Formats are the ingest adapters
(:data:`curate.ingest.formats.FORMATS`): instances, not classes.

**Resolving what a user typed.** ``--model`` or ``--embedder`` is a preset, a
path or a hub id, not a registry name: :data:`RESOLVERS` names, per kind, the
function that turns such a spec (and options) into a constructed plugin, and
:func:`resolve` calls it (kinds without one: the spec is a registered name and
the options go to its constructor). Together with :func:`load`, this is how the
core reaches plugin code: nothing in ``curate/`` imports ``scorers`` or
``taggers`` by name (a test walks the imports), only the strings here do. A
plugin class carries what the core needs to build it, e.g. ``Params`` (its
parameter dataclass) and, for the InsTag tagger, the normalization steps.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pyarrow as pa

from curate.errors import CurateError

KINDS = ("embedders", "taggers", "scorers", "backends", "formats")
ENTRY_POINT_GROUP = "curate.{kind}"

# kind -> name -> "module:attribute" (a Plugin subclass; a Format instance for formats)
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

#: kind -> "module:function" turning a user's spec (preset, path, hub id) and options into a plugin
RESOLVERS: dict[str, str] = {
    "embedders": "curate.embed.embedders:resolve",
    "scorers": "scorers.registry:resolve",
}

#: the batch method each kind has
BATCH_METHODS = {
    "embedders": "encode",
    "taggers": "tag",
    "scorers": "score",
    "backends": "generate",
    "formats": "converter",
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
        self.check_requires()

    def check_requires(self) -> None:
        """:func:`require` for this plugin's ``requires``; the first thing every ``load()`` does."""
        require(
            self.requires, f"the {self.name or type(self).__name__} {self.kind[:-1] or 'plugin'}"
        )


def _installed(module: str) -> bool:
    if module in sys.modules:  # imported already, or a stand-in (None: blocked, as by tests)
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, a module without a spec
        return False


def require(requirements: Sequence[Requirement], what: str) -> None:
    """Fail with one clear error naming the missing modules and the ``pip install`` for them."""
    missing = [r for r in requirements if not _installed(r.module)]
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
        return {ep.name: ep.value for ep in found}
    except Exception:  # a broken distribution's metadata must not break the CLI
        return {}


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise CurateError(f"unknown plugin kind {kind!r}; kinds are {', '.join(KINDS)}")


def registered(kind: str) -> dict[str, str]:
    """Every plugin of ``kind``: name -> ``module:attribute`` (built-ins win over entry points)."""
    _check_kind(kind)
    builtins = _builtins(kind)
    return {**builtins, **{k: v for k, v in _entry_points(kind).items() if k not in builtins}}


def names(kind: str) -> list[str]:
    return sorted(registered(kind))


def _import(target: str) -> Any:
    module, _, attribute = target.partition(":")
    attribute = attribute.split("[", 1)[0].strip()  # an entry point's extras: "mod:Cls [gpu]"
    obj: Any = importlib.import_module(module.strip())
    for part in attribute.split(".") if attribute else ():
        obj = obj[part] if isinstance(obj, dict) else getattr(obj, part)
    return obj


def load(kind: str, name: str) -> Any:
    """The class (for formats: the instance) registered as ``name`` for ``kind``, imported now."""
    entries = registered(kind)
    if name not in entries:
        raise CurateError(
            f"no {kind[:-1]} named {name!r}; registered: {', '.join(sorted(entries)) or 'none'}"
        )
    target = entries[name]
    try:
        return _import(target)
    except CurateError:
        raise
    except Exception as exc:  # a broken entry point, or a built-in whose dependency is missing
        origin = "built-in" if name in _builtins(kind) else "entry point"
        group = ENTRY_POINT_GROUP.format(kind=kind)
        raise CurateError(
            f"the {kind[:-1]} {name!r} ({origin} {target!r}"
            + (f" in group {group}" if origin == "entry point" else "")
            + f") cannot be loaded: {type(exc).__name__}: {exc}"
        ) from exc


def resolve(kind: str, spec: str | None, *args: Any, **options: Any) -> Any:
    """A constructed plugin for what a user typed (see "Resolving" in the module docstring)."""
    _check_kind(kind)
    resolver = RESOLVERS.get(kind)
    if resolver is not None:
        return _import(resolver)(spec, *args, **options)
    if spec is None:
        raise CurateError(f"which {kind[:-1]}? registered: {', '.join(names(kind))}")
    found = load(kind, spec)
    return found if kind == "formats" else found(*args, **options)
