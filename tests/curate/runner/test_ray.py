"""``--engine ray``: the per-shard stages on a local Ray cluster (``ray.init(num_cpus=2)``)
write the same bytes as the local engine, survive a worker killed mid-unit and a killed
driver, and say what to install when Ray is missing."""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from curate.cli import cli
from curate.errors import CurateError, InputError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.models.device import THREADS_ENV
from curate.runner import EngineOptions, run_stage
from curate.store import Store
from curate.testing.stages import CharsRecipe
from tests.conftest import parquet_digests, write_jsonl

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

TWO = EngineOptions(engine="ray", workers=2)
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module; the engine uses it and leaves it running."""
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    if started:
        ray.shutdown()


def conversations(n: int) -> list[dict]:
    langs = [
        ("How long do I boil pasta? ({i})", "About {i} minutes, then taste it. "),
        ("Как испечь хлеб дома? ({i})", "Смешайте муку, воду и соль. "),
        ("請問麵包怎麼做？({i})", "先把麵粉和水混合。"),
        ("Write a poem about the sea ({i})", "The sea is wide and grey. "),
    ]
    out = []
    for i in range(n):
        question, answer = langs[i % len(langs)]
        out.append(
            {
                "messages": [
                    {"role": "user", "content": question.format(i=i)},
                    {"role": "assistant", "content": answer.format(i=i) * (i % 5 + 1)},
                ]
            }
        )
    out.append({"messages": [{"role": "user", "content": "A question nobody answered."}]})
    return out


def make_stores(tmp_path, n=61, shard_size=20, names=("local", "ray")) -> list[Store]:
    write_jsonl(tmp_path / "in.jsonl", conversations(n))
    stores = []
    for name in names:
        Ingestor(
            [str(tmp_path / "in.jsonl")],
            tmp_path / name,
            IngestOptions(shard_size=shard_size),
            workers=0,
        ).run()
        stores.append(Store.open(tmp_path / name))
    return stores


def sidecar_digests(store: Store, prefix: str) -> dict[str, str]:
    digests = {
        k: v for k, v in parquet_digests(store.root).items() if k.startswith(f"sidecars/{prefix}")
    }
    assert digests, f"no sidecar {prefix} in {store.root}"
    return digests


def invoke(*args: str) -> str:
    result = CliRunner().invoke(cli, [*args, "-q"])
    assert result.exit_code == 0, result.output
    return result.output


RAY_FLAGS = ("--engine", "ray", "--workers", "2", "--max-retries", "1")


def test_embed_and_heuristic_scores_are_byte_identical(cluster, tmp_path, monkeypatch):
    local, remote = make_stores(tmp_path)
    invoke("score", str(local.root), "--model", "heuristics", "--chunk-rows", "7")
    invoke("score", str(remote.root), "--model", "heuristics", "--chunk-rows", "7", *RAY_FLAGS)
    assert sidecar_digests(local, "score.heuristics") == sidecar_digests(remote, "score.heuristics")
    # float32 BLAS sums in another order with another thread count (~1e-7 apart), so the
    # local run uses one thread per process, as each Ray worker does (--cpus-per-worker 1)
    monkeypatch.setenv(THREADS_ENV, "1")
    invoke("embed", str(local.root))
    monkeypatch.delenv(THREADS_ENV)
    invoke("embed", str(remote.root), *RAY_FLAGS)
    assert sidecar_digests(local, "embed.") == sidecar_digests(remote, "embed.")
    embed = "sidecar.embed.use-multilingual.conversation"
    assert remote.manifest(embed)["runtime"] == local.manifest(embed)["runtime"]  # a worker's
    assert remote.manifest(embed)["runtime"]["threads"] == 1  # its --cpus-per-worker
    manifest = remote.manifest("sidecar.score.heuristics")
    engine = manifest["engine"]
    assert engine["name"] == "ray" and engine["workers"] == 2
    assert engine["cluster"]["cpus"] == 2 and engine["cpus_per_worker"] == 1
    assert manifest["counts"] == local.manifest("sidecar.score.heuristics")["counts"]
    assert local.manifest("sidecar.score.heuristics")["engine"] == {"name": "local"}
    # a rerun on the other engine is nothing to do: the engine is not part of the fingerprint
    output = invoke("score", str(local.root), "--model", "heuristics", *RAY_FLAGS)
    assert local.manifest("sidecar.score.heuristics")["engine"] == {"name": "local"}, output


def test_tiny_armorm_is_byte_identical(cluster, tmp_path):
    from curate.testing.tiny_models import write_armorm_checkpoint

    model = write_armorm_checkpoint(tmp_path / "ArmoRM-tiny")
    local, remote = make_stores(tmp_path, n=30)
    invoke("score", str(local.root), "--model", str(model), "--chunk-rows", "8")
    invoke("score", str(remote.root), "--model", str(model), "--chunk-rows", "8", *RAY_FLAGS)
    assert sidecar_digests(local, "score.armorm-tiny") == sidecar_digests(
        remote, "score.armorm-tiny"
    )
    manifest = remote.manifest("sidecar.score.armorm-tiny")
    assert manifest["counts"]["tokens"] > 0 and manifest["objectives"]  # the workers' extra


def test_instag_and_the_pointwise_judge_through_the_fake_server(cluster, tmp_path):
    from curate.llm import resolve_backend
    from curate.testing.chat_server import serve_chat_completions
    from curate.testing.judges import ScriptedJudge
    from curate.testing.tiny_models import write_tiny_chat_model

    tiny = resolve_backend("transformers", str(write_tiny_chat_model(tmp_path / "tiny")))
    tiny.load()
    local, remote = make_stores(tmp_path, n=24, shard_size=10)
    with serve_chat_completions(tiny, model="tiny") as server:
        for store, flags in ((local, ()), (remote, RAY_FLAGS)):
            invoke(
                "tag", str(store.root), "--tagger", "instag", "--backend", "openai",
                "--model", "tiny", "--api-base", server.api_base, "--max-new-tokens", "16",
                "--chunk-rows", "6", *flags,
            )  # fmt: skip
    assert sidecar_digests(local, "tag.instag.raw") == sidecar_digests(remote, "tag.instag.raw")
    assert sidecar_digests(local, "tag.instag") == sidecar_digests(remote, "tag.instag")

    with serve_chat_completions(ScriptedJudge(noise=1.0, garbage=0.1), model="judge") as server:
        made = []
        for store, flags in ((local, ()), (remote, RAY_FLAGS)):
            before = len(server.requests)
            invoke(
                "judge", str(store.root), "--model", "judge", "--backend", "openai",
                "--api-base", server.api_base, "--mode", "pointwise", "--chunk-rows", "5",
                *flags,
            )  # fmt: skip
            made.append(len(server.requests) - before)
        # the calls the two workers made, summed in the manifest
        calls = remote.manifest("sidecar.score.judge.judge")["calls"]
        assert calls == {"made": made[1], "cached": 0}
        assert made[0] == made[1] > 24  # garbage replies get their retry on both engines
        # the workers wrote the store's call cache: a rebuild asks the judge nothing
        (remote.root / "manifests" / "sidecar.score.judge.judge.json").unlink()
        invoke(
            "judge", str(remote.root), "--model", "judge", "--backend", "openai",
            "--api-base", server.api_base, "--mode", "pointwise", *RAY_FLAGS,
        )  # fmt: skip
        assert len(server.requests) == sum(made)
        calls = remote.manifest("sidecar.score.judge.judge")["calls"]
        assert calls.get("made", 0) == 0 and calls["cached"] >= made[1]
    assert sidecar_digests(local, "score.judge") == sidecar_digests(remote, "score.judge")
    parts = sorted((remote.root / "judge" / "calls" / "judge").glob("part-*.parquet"))
    assert len(parts) >= 2 and len({p.name for p in parts}) == len(parts)


def test_generate_is_byte_identical(cluster, tmp_path):
    from curate.testing.tiny_models import write_tiny_chat_model

    model = write_tiny_chat_model(tmp_path / "tiny")
    (source,) = make_stores(tmp_path, n=9, names=("source",))
    args = ["--model", str(model), "-n", "2", "--max-new-tokens", "6", "--chunk-prompts", "3"]
    invoke("generate", str(source.root), "--into", str(tmp_path / "a"), *args)
    invoke("generate", str(source.root), "--into", str(tmp_path / "b"), *args, *RAY_FLAGS)
    a, b = Store.open(tmp_path / "a"), Store.open(tmp_path / "b")
    assert parquet_digests(a.root / "base") == parquet_digests(b.root / "base")
    assert a.manifest("generate")["counts"] == b.manifest("generate")["counts"]
    assert b.manifest("generate")["engine"]["name"] == "ray"


def test_a_worker_killed_mid_unit_is_replaced_and_the_result_is_identical(cluster, tmp_path):
    local, remote = make_stores(tmp_path)
    run_stage(local, CharsRecipe(chunk_rows=7))
    marker = tmp_path / "killed"
    result = run_stage(remote, CharsRecipe(chunk_rows=7, kill_once=str(marker)), engine=TWO)
    assert marker.exists()  # a worker did die (SIGKILL, in the middle of its unit)
    assert result.manifest["engine"]["workers_replaced"] == 1
    assert result.manifest["engine"]["units_retried"] >= 1
    assert sidecar_digests(local, "score.chars") == sidecar_digests(remote, "score.chars")


def test_a_unit_that_keeps_failing_fails_the_stage_naming_it(cluster, tmp_path):
    (store,) = make_stores(tmp_path, names=("store",))
    log = tmp_path / "log"
    engine = EngineOptions(engine="ray", workers=1, max_retries=2)
    with pytest.raises(CurateError, match=r"shard 0 rows \d+-\d+ failed 3 times .*always fails"):
        run_stage(store, CharsRecipe(chunk_rows=7, fail=True, log=str(log)), engine=engine)
    tries = Counter(log.read_text().splitlines())  # attempts per unit (by its first id)
    assert max(tries.values()) == 3 and all(n <= 3 for n in tries.values())
    assert run_stage(store, CharsRecipe(chunk_rows=7), engine=engine).rows == 62  # resumes


def test_resources_the_cluster_cannot_hold_are_refused(cluster, tmp_path):
    (store,) = make_stores(tmp_path, n=5, names=("store",))
    with pytest.raises(InputError, match="3 workers x 1 CPUs x 0 GPUs do not fit"):
        run_stage(store, CharsRecipe(), engine=EngineOptions(engine="ray", workers=3))
    with pytest.raises(InputError, match="GPUs do not fit"):
        run_stage(store, CharsRecipe(), engine=EngineOptions(engine="ray", num_gpus_per_worker=1))


def units_written(store: Store, name: str, chunk_rows: int) -> int:
    """Units of the sidecar on disk: whole shards, and the checkpoints of the others."""
    directory, units = store.root / "sidecars" / name, 0
    for index in range(store.num_shards):
        if (directory / f"part-{index:05d}.parquet").is_file():
            units += -(-store.shard_rows(index) // chunk_rows)
        else:
            units += len(list((directory / "parts" / f"{index:05d}").glob("rows-*.parquet")))
    return units


DRIVER = """
import sys
from curate.runner import EngineOptions, run_stage
from curate.store import Store
from curate.testing.stages import CharsRecipe
run_stage(Store.open(sys.argv[1]), CharsRecipe(chunk_rows=5, sleep=1.0, log=sys.argv[2]),
          engine=EngineOptions(engine="ray", workers=2))
"""


def test_a_killed_driver_resumes_without_repeating_finished_units(tmp_path):
    """The driver (with the local cluster it started) is SIGKILLed after some units; a rerun
    computes only the units that were not written, and the sidecar equals a local run's."""
    local, remote = make_stores(tmp_path)
    run_stage(local, CharsRecipe(chunk_rows=5))
    log = tmp_path / "first.log"
    driver = subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(remote.root), str(log)],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    try:  # killed once four units are computing or done (of 13)
        while not log.exists() or len(log.read_text().splitlines()) < 4:
            assert driver.poll() is None and time.time() < deadline, "the driver ended early"
            time.sleep(0.05)
    finally:
        os.killpg(driver.pid, signal.SIGKILL)  # the driver and the cluster it started
        driver.wait()
    written = units_written(remote, "score.chars", 5)
    assert remote.manifest("sidecar.score.chars")["status"] == "running"
    again = tmp_path / "second.log"
    result = run_stage(remote, CharsRecipe(chunk_rows=5, log=str(again)), engine=TWO)
    assert result.rows == 62 and not result.already_done
    assert 0 < len(again.read_text().splitlines()) == 13 - written  # 13 units in all
    assert sidecar_digests(local, "score.chars") == sidecar_digests(remote, "score.chars")


def test_without_ray_a_clear_install_hint(tmp_path, monkeypatch, capsys):
    from curate.cli import main

    (store,) = make_stores(tmp_path, n=5, names=("store",))
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray: ImportError
    with pytest.raises(SystemExit) as exit_:
        main(["score", str(store.root), "--model", "heuristics", "--engine", "ray", "-q"])
    assert exit_.value.code == 1
    captured = capsys.readouterr()
    text = " ".join((captured.out + captured.err).split())
    assert "pip install 'curate[ray]'" in text and "Traceback" not in text
    assert "score.heuristics" not in store.sidecars()


def test_a_stage_given_built_is_refused_by_ray(cluster, tmp_path):
    (store,) = make_stores(tmp_path, n=5, names=("store",))
    with pytest.raises(TypeError, match="needs its recipe"):
        run_stage(store, CharsRecipe()(), engine=TWO)


def test_the_manifest_is_json_of_the_cluster(cluster, tmp_path):
    (store,) = make_stores(tmp_path, n=5, names=("store",))
    run_stage(store, CharsRecipe(), engine=EngineOptions(engine="ray", workers=1))
    engine = json.loads((store.root / "manifests" / "sidecar.score.chars.json").read_text())[
        "engine"
    ]
    assert engine["cluster"]["nodes"] == 1 and engine["ray"] == ray.__version__
