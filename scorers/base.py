"""The scorer interface (DESIGN.md, "Plugins").

A scorer's ``__init__`` only stores parameters (so a manifest can record them);
``load()`` brings in the heavy resources once. Scoring is split in two so that a
stage can overlap them: :meth:`Scorer.prepare` is CPU work on a list of
conversations (chat template, tokenizer; safe to run in a background thread)
and :meth:`Scorer.run` the model work on its result. :meth:`Scorer.score` does
both. Output: one Arrow array per column, in input order; a row that cannot be
scored has a null score and says why in ``<key>_status``, never a made-up value.

A scorer is a :class:`curate.plugins.Plugin` of kind ``scorers``: ``name`` is the
registered name (``heuristics``, ``armorm``, ``reward``), ``key`` the store name of
one instance (``score.<key>``; a preset's or a model's name); ``reads`` is
``input_columns``; ``params()`` and ``identity()`` are meaningful after ``load()``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import pyarrow as pa

from curate.plugins import Plugin

Conversation = Sequence[dict[str, Any]]
# progress(conversations, tokens) after each batch
Progress = Callable[[int, int], None]


def column_prefix(key: str) -> str:
    """``score.<key>`` holds ``<prefix>_score``, ``<prefix>_status`` ...: key with ``-`` as ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


class Scorer(Plugin):
    """Conversations in, score columns out."""

    kind = "scorers"
    #: short name: the store sidecar is ``score.<key>`` and columns start with ``<key>_``
    key: str = ""
    #: base-table columns the scorer reads; more than ``messages``: prepare() gets a Table
    input_columns: tuple[str, ...] = ("messages",)

    @property  # type: ignore[override]
    def reads(self) -> tuple[str, ...]:
        """The plugin contract's name for :attr:`input_columns`."""
        return tuple(self.input_columns)

    def load(self) -> None:
        """Load heavy resources (weights, tokenizer); called once before scoring."""
        self.check_requires()

    def params(self) -> dict[str, Any]:
        """Parameters that change the scores (recorded in the manifest, part of its fingerprint)."""
        return {}

    def identity(self) -> dict[str, Any]:
        """Which model this is (name, revision or file hashes); call after :meth:`load`."""
        return {}

    def schema(self) -> pa.Schema:
        """The columns :meth:`run` returns (without ``id``)."""
        raise NotImplementedError

    def manifest_extra(self) -> dict[str, Any]:
        """Anything else a reader of the scores needs (e.g. objective names)."""
        return {}

    def prepare(self, conversations: Sequence[Conversation]) -> Any:
        return conversations

    def run(self, prepared: Any, progress: Progress | None = None) -> dict[str, pa.Array]:
        raise NotImplementedError

    def score(
        self, conversations: Sequence[Conversation], progress: Progress | None = None
    ) -> dict[str, pa.Array]:
        return self.run(self.prepare(conversations), progress)

    @property
    def prefix(self) -> str:
        return column_prefix(self.key)
