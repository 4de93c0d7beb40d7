"""Stores built from ../shared/data and embedded once per test module."""

from pathlib import Path

import pytest

from curate.embed.stage import EmbedOptions, run_embed
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store


def build_store(inputs: list[Path], root: Path, shard_size: int = 400, embed: bool = True) -> Store:
    Ingestor([str(p) for p in inputs], root, IngestOptions(shard_size=shard_size), workers=0).run()
    store = Store.open(root)
    if embed:
        run_embed(store, EmbedOptions())
    return store


@pytest.fixture(scope="module")
def mixed_store(shared_data, tmp_path_factory) -> Store:
    """fastchat_dummy (near-duplicate templates), the Simplified/Traditional prompt pairs, oasst_zh."""
    inputs = [
        shared_data / "fastchat_dummy_sharegpt",
        shared_data / "prompts_zh_hans_hant",
        shared_data / "oasst_zh",
    ]
    return build_store(inputs, tmp_path_factory.mktemp("mixed") / "store")
