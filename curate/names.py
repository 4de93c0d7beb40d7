"""Names of sidecars, their manifests and their columns: the one place that spells them.

A sidecar is a table of columns keyed by ``id`` that one stage adds to the store
(``STORE/sidecars/<name>/``); its manifest is ``STORE/manifests/sidecar.<name>.json``.

====================  ===========================  ==================================
stage                 sidecar                      columns
====================  ===========================  ==================================
embed                 ``embed.<embedder>.<text>``  ``embedding``, ``embedding_last``
tag (LLM, raw)        ``tag.<tagger>.raw``         ``tags_raw``, ``tag_status`` ...
tag                   ``tag.<tagger>``             ``tags``, ``tag_primary`` ...
score                 ``score.<key>``              ``<prefix>_score``, ``<prefix>_status``
dedup                 ``dedup``                    ``dup_group``, ``dup_keep`` ...
decontaminate         ``decontaminate``            ``contaminated``, ``contam_item`` ...
judge (tag clusters)  ``score.judge.<name>``       ``judge_<name>_score``, ``_rank`` ...
judge (prompt groups) ``judge.<name>.prompts``     the same columns (select skips it)
====================  ===========================  ==================================

``<prefix>`` is the scorer key with every run of other characters than ``a-z0-9``
as one ``_`` (``skywork-reward`` -> ``skywork_reward``), so that a column name is a
valid identifier everywhere (Parquet, pandas, SQL). Everything that reads or writes
a score column (the score stage, dedup's ``--keep-by``, select's outputs) uses
:func:`score_column`.
"""

from __future__ import annotations

import re

EMBED = "embed."
TAG = "tag."
SCORE = "score."
RAW = ".raw"
DEDUP = "dedup"
DECONTAMINATE = "decontaminate"
SIDECAR_MANIFEST = "sidecar."


def manifest_name(sidecar: str) -> str:
    """The manifest of sidecar ``sidecar`` (``STORE/manifests/<this>.json``)."""
    return f"{SIDECAR_MANIFEST}{sidecar}"


def embed_sidecar(embedder_key: str, mode: str) -> str:
    return f"{EMBED}{embedder_key}.{mode}"


def tag_sidecar(tagger: str) -> str:
    return f"{TAG}{tagger}"


def raw_tag_sidecar(tagger: str) -> str:
    return f"{TAG}{tagger}{RAW}"


def is_bucket_tags(sidecar: str) -> bool:
    """Whether a sidecar holds tags that select can bucket by (not an LLM's raw tags)."""
    return sidecar.startswith(TAG) and not sidecar.endswith(RAW)


def score_sidecar(key: str) -> str:
    return f"{SCORE}{key}"


def score_key(sidecar: str) -> str:
    """``score.skywork-reward`` -> ``skywork-reward``."""
    return sidecar.removeprefix(SCORE)


def slug(text: str, sep: str = "-") -> str:
    """``text`` lowercased, each run of characters other than ``a-z0-9`` as one ``sep``, none at the ends.

    Model keys (``Skywork/Skywork-Reward`` -> ``skywork-reward``) and column prefixes use
    it; they name sidecars and columns on disk, so it must never change.
    """
    return re.sub(r"[^a-z0-9]+", sep, text.lower()).strip(sep)


def column_prefix(key: str) -> str:
    """``score.<key>`` holds ``<prefix>_score``, ``<prefix>_status`` ...: ``key`` as an identifier."""
    return slug(key, "_")


def score_column(key: str) -> str:
    """The score column of scorer ``key`` (``skywork-reward`` -> ``skywork_reward_score``)."""
    return f"{column_prefix(key)}_score"
