"""The stage runner: a stage is a short declaration; the runner skips, resumes, records, and
never reuses a result built on inputs that changed since."""

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from curate import names
from curate.errors import StageConflict, StoreError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.runner import Stage, is_complete, run_stage, sidecar_state
from curate.store import SidecarWriter, Store
from tests.conftest import parquet_digests, write_jsonl


@pytest.fixture
def store(tmp_path):
    write_jsonl(
        tmp_path / "x.jsonl",
        [{"instruction": f"question {i}", "output": "a" * (i + 1)} for i in range(25)],
    )
    Ingestor(
        [str(tmp_path / "x.jsonl")], tmp_path / "s", IngestOptions(shard_size=10), workers=0
    ).run()
    return Store.open(tmp_path / "s")


def chars_stage(scale: int = 1, chunk_rows: int | None = None) -> Stage:
    """A whole per-shard stage in one declaration."""
    return Stage(
        name="score.chars",
        params={"scale": scale},
        columns=["n_chars"],
        schema=pa.schema([("chars_score", pa.float64()), ("chars_status", pa.string())]),
        compute_shard=lambda t, _p: {
            "chars_score": pc.multiply(pc.cast(t.column("n_chars"), pa.float64()), scale),
            "chars_status": pa.array(["ok"] * t.num_rows),
        },
        chunk_rows=chunk_rows,
    )


def rank_stage() -> Stage:
    """A whole-store stage that reads another sidecar."""

    def compute_all(store, _progress):
        table = store.read(columns=["id"], sidecars=["score.chars"])
        score = table.column("chars_score").to_numpy()
        return pa.table({"id": table.column("id"), "rank": pa.array((-score).argsort().argsort())})

    return Stage(name="rank", params={}, sidecars=["score.chars"], compute_all=compute_all)


def test_a_declared_stage_runs_skips_and_records(store):
    progress = []
    result = run_stage(store, chars_stage(), progress=lambda n, _t: progress.append(n))
    assert not result.already_done and result.rows == 25 and sum(progress) == 25
    manifest = store.manifest(names.manifest_name("score.chars"))
    assert manifest["status"] == "complete" and manifest["params"] == {"scale": 1}
    assert manifest["rows_per_second"] > 0 and manifest["build"]
    assert store.read(sidecars=["score.chars"]).column("chars_score").to_pylist()[:2] == [
        float(n) for n in store.read(columns=["n_chars"]).column("n_chars").to_pylist()[:2]
    ]
    assert run_stage(store, chars_stage()).already_done
    with pytest.raises(StageConflict):
        run_stage(store, chars_stage(scale=2))
    assert run_stage(store, chars_stage(scale=2), overwrite=True).manifest["params"] == {"scale": 2}


def test_chunked_stage_equals_unchunked(store, tmp_path):
    run_stage(store, chars_stage(chunk_rows=3))
    chunked = parquet_digests(store.root)
    run_stage(store, chars_stage(chunk_rows=None), overwrite=True)
    assert {k: v for k, v in parquet_digests(store.root).items() if "chars" in k} == {
        k: v for k, v in chunked.items() if "chars" in k
    }


def test_result_built_on_changed_inputs_is_stale_and_rebuilt(store):
    run_stage(store, chars_stage())
    run_stage(store, rank_stage())
    assert is_complete(store, "rank")
    # the input is rebuilt under the same name (another scorer, same sidecar name)
    run_stage(store, chars_stage(scale=-1), overwrite=True)
    assert sidecar_state(store, "rank") == "stale" and not is_complete(store, "rank")
    again = run_stage(store, rank_stage())
    assert not again.already_done and again.rebuilt_stale
    ranks = store.read(sidecars=["rank"]).column("rank").to_pylist()
    n_chars = store.read(columns=["n_chars"]).column("n_chars").to_pylist()
    assert ranks[n_chars.index(min(n_chars))] == 0  # scale -1: the shortest ranks first now
    assert is_complete(store, "rank")


def test_a_stage_refuses_inputs_that_are_missing_or_unfinished(store):
    with pytest.raises(StoreError, match="score.chars"):
        run_stage(store, rank_stage())


def test_a_kill_between_shard_and_checkpoint_cleanup_leaves_nothing_behind(store, monkeypatch):
    run_stage(store, chars_stage(chunk_rows=4))
    expected = parquet_digests(store.root)
    run_stage(store, chars_stage(chunk_rows=4, scale=1), overwrite=True)  # same result, rebuilt
    import shutil

    real_rmtree = shutil.rmtree
    calls = {"n": 0}

    def killed_before_cleanup(path, *args, **kwargs):
        if "parts" in str(path):
            calls["n"] += 1
            if calls["n"] == 2:  # after the second shard is written, before its parts go
                raise KeyboardInterrupt
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr("curate.store.sidecar.shutil.rmtree", killed_before_cleanup)
    store.remove_manifest(names.manifest_name("score.chars"))
    with pytest.raises(KeyboardInterrupt):
        run_stage(store, chars_stage(chunk_rows=4))
    monkeypatch.setattr("curate.store.sidecar.shutil.rmtree", real_rmtree)
    assert list((store.sidecar_dir("score.chars") / "parts").iterdir())  # the kill left parts
    run_stage(store, chars_stage(chunk_rows=4))
    assert not (store.sidecar_dir("score.chars") / "parts").exists()
    assert parquet_digests(store.root) == expected


def test_old_writers_keep_their_fingerprints(store):
    """A stage without inputs fingerprints as before (stores built earlier stay complete)."""
    writer = SidecarWriter(store, "x", params={"v": 1})
    from curate.store.manifest import fingerprint

    assert writer.fingerprint == fingerprint(
        {"params": {"v": 1}, "base": store.manifest("ingest")["fingerprint"]}
    )
