"""``curate score``: the sidecar, its manifest, resume, conflicts, and real data."""

import shutil

import numpy as np
import pyarrow.compute as pc
import pytest

from curate.cli import cli
from curate.dedup.ranking import find_auto_score
from curate.errors import StageConflict
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.score.stage import run_score
from curate.store import SidecarWriter, Store
from curate.testing.tiny_models import SAMPLE_CONVERSATIONS
from scorers.registry import resolve
from tests.conftest import parquet_digests, write_jsonl


def to_openai(conversation):
    return {"messages": conversation}


@pytest.fixture
def store(tmp_path):
    records = [to_openai(c) for c in SAMPLE_CONVERSATIONS] + [
        to_openai(
            [
                {"role": "user", "content": f"Question {i}: how long do I boil pasta?"},
                {
                    "role": "assistant",
                    "content": f"About {i} minutes, then taste it. " * (i % 5 + 1),
                },
            ]
        )
        for i in range(40)
    ]
    records.append(to_openai([{"role": "user", "content": "A question nobody answered."}]))
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor(
        [str(tmp_path / "in.jsonl")], tmp_path / "store", IngestOptions(shard_size=20), workers=0
    ).run()
    return Store.open(tmp_path / "store")


def sidecar_digests(root, name):
    return {k: v for k, v in parquet_digests(root).items() if k.startswith(f"sidecars/{name}")}


def test_cli_writes_scores_and_a_manifest(store, armorm_checkpoint):
    from click.testing import CliRunner

    result = CliRunner().invoke(
        cli, ["score", str(store.root), "--model", str(armorm_checkpoint), "--chunk-rows", "7"]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # independent of where a terminal would wrap
    assert "score.armorm-tiny" in text and "no_assistant_reply 1" in text
    table = store.read(columns=["id", "messages"], sidecars=["score.armorm-tiny"])
    assert table.num_rows == 45 and table.column("armorm_tiny_score").null_count == 1
    # the stored scores are those of the scorer on the same conversations, row for row
    scorer = resolve(str(armorm_checkpoint))
    scorer.load()
    direct = scorer.score(table.column("messages").to_pylist())
    np.testing.assert_allclose(
        table.column("armorm_tiny_score").to_numpy(zero_copy_only=False).astype(float),
        direct["armorm_tiny_score"].to_numpy(zero_copy_only=False).astype(float),
        rtol=1e-4,  # float32 model outputs: chunks of other sizes, other BLAS builds and threads
        atol=1e-5,
    )
    manifest = store.manifest("sidecar.score.armorm-tiny")
    assert manifest["status"] == "complete"
    assert len(manifest["params"]["identity"]["safetensors_sha256"]) == 64
    assert (
        manifest["params"]["dtype"] == "float32"
        and manifest["objectives"][0] == "helpsteer-helpfulness"
    )
    assert manifest["counts"]["rows"] == 45 and manifest["counts"]["scored"] == 44
    assert sum(manifest["counts"]["status"].values()) == 45
    assert manifest["counts"]["tokens"] > 0 and manifest["tokens_per_second"] > 0
    assert find_auto_score(store) == "score.armorm-tiny:armorm_tiny_score"
    again = CliRunner().invoke(cli, ["score", str(store.root), "--model", str(armorm_checkpoint)])
    assert again.exit_code == 0 and "nothing to do" in " ".join(again.output.split())


def test_a_killed_run_resumes_to_the_same_scores(store, armorm_checkpoint, tmp_path, monkeypatch):
    clean = Store.open(shutil.copytree(store.root, tmp_path / "clean"))
    run_score(clean, resolve(str(armorm_checkpoint)), chunk_rows=6)
    original = SidecarWriter.write_part
    calls = {"n": 0}

    def crashing(self, index, start, table):
        calls["n"] += 1
        if calls["n"] == 6:  # killed inside the second shard, after one of its chunks
            raise KeyboardInterrupt
        return original(self, index, start, table)

    monkeypatch.setattr(SidecarWriter, "write_part", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_score(store, resolve(str(armorm_checkpoint)), chunk_rows=6)
    monkeypatch.undo()
    sidecar = store.sidecar_dir("score.armorm-tiny")
    assert len(list(sidecar.glob("part-*.parquet"))) == 1
    assert len(list((sidecar / "parts").rglob("*.parquet"))) == 1
    seen = []
    run_score(
        store, resolve(str(armorm_checkpoint)), chunk_rows=6, progress=lambda n, t: seen.append(n)
    )
    # shard 0 (20 rows) and 6 rows of shard 1 were done: the checkpointed 6 are counted at
    # once, only the other 19 are scored again
    assert seen[0] == 6 and sum(seen) == 45 - 20
    assert not (sidecar / "parts").exists() or not list((sidecar / "parts").rglob("*.parquet"))
    assert sidecar_digests(store.root, "score.armorm-tiny") == sidecar_digests(
        clean.root, "score.armorm-tiny"
    )


def test_other_parameters_conflict_or_go_beside(store, armorm_checkpoint):
    run_score(store, resolve(str(armorm_checkpoint)))
    with pytest.raises(StageConflict):
        run_score(store, resolve(str(armorm_checkpoint), max_length=64))
    beside = run_score(store, resolve(str(armorm_checkpoint), key="short", max_length=64))
    assert beside.name == "score.short" and beside.counts["status"].get("truncated", 0) > 0
    replaced = run_score(store, resolve(str(armorm_checkpoint), max_length=64), overwrite=True)
    assert replaced.counts["status"] == beside.counts["status"]


def test_real_conversations_every_row_accounted_for(shared_data, armorm_checkpoint, tmp_path):
    inputs = [str(shared_data / "hh_rlhf_harmless" / "harmless-base_test.jsonl.gz")]
    Ingestor(inputs, tmp_path / "store", IngestOptions(), workers=0).run()
    store = Store.open(tmp_path / "store")
    result = run_score(store, resolve(str(armorm_checkpoint), max_length=256))
    table = store.read(columns=["id", "flags", "n_turns"], sidecars=["score.armorm-tiny"])
    status = table.column("armorm_tiny_status").to_pylist()
    flags = table.column("flags").to_pylist()
    assert result.rows == table.num_rows == sum(result.counts["status"].values())
    scored = ~table.column("armorm_tiny_score").is_null().to_numpy(zero_copy_only=False)
    failed = np.array(
        [s in ("no_assistant_reply", "too_long", "no_prompt", "template_error") for s in status]
    )
    assert (scored == ~failed).all()
    for s, f in zip(status, flags):
        if "no_assistant" in f:
            assert s == "no_assistant_reply"
        if s == "ends_on_user":
            assert "ends_on_user" in f
    assert (
        result.counts["status"]["ok"] + result.counts["status"]["truncated"] > 1900
    )  # 256 tiny-tokenizer tokens
    assert result.counts["status"].get("truncated", 0) > 0
    truncated = pc.equal(table.column("armorm_tiny_status"), "truncated")
    assert pc.max(pc.filter(table.column("armorm_tiny_tokens"), truncated)).as_py() <= 256
