"""``curate generate``: n samples per prompt into a new store, seeded, resumable, failures kept."""

import json
import shutil

import pyarrow.parquet as pq
import pytest

from curate.errors import CurateError
from curate.generate.run import GenerateOptions, run_generate
from curate.generate.sampling import SamplingOptions, sample_seed
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.llm import Generation, GenerationBackend, resolve_backend
from curate.store import Store
from curate.testing.chat_server import Fault, serve_chat_completions
from tests.conftest import parquet_digests, write_jsonl

QUESTIONS = [f"Question number {i}: what is {i} plus {i}?" for i in range(9)]
SAMPLING = SamplingOptions(n=3, temperature=1.0, top_p=0.95, max_new_tokens=6, seed=4)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """9 prompts in 11 rows: two answers to question 0, a multi-turn row, a preference row, a
    prompt-only row, and a row without a user turn (no prompt)."""
    root = tmp_path_factory.mktemp("generate")
    records = [
        {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": f"a{i}"}]}
        for i, q in enumerate(QUESTIONS[:6])
    ]
    records += [
        {
            "messages": [
                {"role": "user", "content": QUESTIONS[0]},
                {"role": "assistant", "content": "b"},
            ]
        },
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": QUESTIONS[6]},
                {"role": "assistant", "content": "12"},
                {"role": "user", "content": "And times two?"},
                {"role": "assistant", "content": "24"},
            ]
        },
        {"messages": [{"role": "user", "content": QUESTIONS[8]}]},
        {"messages": [{"role": "assistant", "content": "an answer to nothing"}]},
    ]
    write_jsonl(root / "in.jsonl", records)
    write_jsonl(root / "pref.jsonl", [{"prompt": QUESTIONS[7], "chosen": "14", "rejected": "15"}])
    inputs = [str(root / "in.jsonl"), str(root / "pref.jsonl")]
    Ingestor(inputs, root / "store", IngestOptions(shard_size=5), workers=0).run()
    return Store.open(root / "store")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from curate.testing.tiny_models import write_tiny_chat_model

    return write_tiny_chat_model(tmp_path_factory.mktemp("model") / "tiny-chat")


@pytest.fixture(scope="module")
def backend(model_dir):
    llm = resolve_backend("transformers", str(model_dir), device="cpu")
    llm.load()
    yield llm
    llm.close()


class Flaky(GenerationBackend):
    """Wraps a backend: fails the samples whose seed is even-numbered mod 5, and can be killed
    (KeyboardInterrupt) at its ``kill_at``-th call."""

    name = "flaky"

    def __init__(self, inner, fail=False, kill_at=None):
        self.inner, self.fail, self.kill_at, self.calls, self.prompts = inner, fail, kill_at, 0, 0

    def params(self):
        return {"inner": self.inner.params(), "fail": self.fail}

    def load(self):
        self.inner.load()

    def identity(self):
        return self.inner.identity()

    def generate(self, prompts, params, seeds=None):
        self.calls += 1
        if self.kill_at is not None and self.calls == self.kill_at:
            raise KeyboardInterrupt
        self.prompts += len(prompts)
        out = self.inner.generate(prompts, params, seeds=seeds)
        if self.fail:
            out = [
                Generation.failed("http 500 after 3 attempts") if s % 5 == 0 else g
                for g, s in zip(out, seeds)
            ]
        return out


def rows(store: Store) -> list[dict]:
    return store.read(
        columns=["id", "prompt_id", "messages", "source", "flags", "meta"]
    ).to_pylist()


def test_n_samples_per_prompt_linked_to_their_prompt(source, backend, tmp_path):
    planned, done = [], []
    result = run_generate(
        source,
        tmp_path / "new",
        backend,
        GenerateOptions(SAMPLING, chunk_prompts=2),
        progress=lambda k, tokens: done.append(k),
        planned=planned.append,
    )
    assert planned == [9] and sum(done) == 9  # the progress bar's total, and its steps
    c = result.counts
    assert c["source_rows"] == 11 and c["prompts"] == 9  # question 0 twice; one row has no prompt
    assert c["rows_without_own_prompt"] == {"no_user_turn": 1, "same_prompt": 1}
    assert c["samples_requested"] == 27
    assert c["generated"] + c["duplicates"] + c["failed"] == 27 and c["failed"] == 0
    new = Store.open(tmp_path / "new")
    got = rows(new)
    base = source.read(columns=["id", "prompt_id", "messages"]).to_pylist()
    by_prompt = {}
    for r in base:
        by_prompt.setdefault(r["prompt_id"], r)
    for r in got:
        parent = by_prompt[r["prompt_id"]]  # every sample belongs to a prompt group of the source
        meta = json.loads(r["meta"])
        assert meta["parent"] == parent["id"]
        assert meta["model"]["backend"] == "transformers" and "safetensors_sha256" in meta["model"]
        assert meta["sampling"] == {
            "n": 3,
            "temperature": 1.0,
            "top_p": 0.95,
            "max_new_tokens": 6,
            "seed": 4,
            "stop": [],
        }
        assert meta["seed"] == sample_seed(4, r["prompt_id"], meta["sample"])
        assert r["source"]["file"] == str(source.root)
        assert r["messages"][-1]["role"] == "assistant"
        assert r["messages"][:-1] == [m for m in parent["messages"]][: len(r["messages"]) - 1]
        assert ("cut_off" in r["flags"]) == (meta["finish_reason"] == "length")
    # the multi-turn prompt keeps its system prompt and history, minus the final answer
    multi = [r for r in got if r["messages"][0]["role"] == "system"]
    assert len(multi) == 3 and [m["role"] for m in multi[0]["messages"]] == [
        "system", "user", "assistant", "user", "assistant"
    ]  # fmt: skip
    # per prompt: samples 0, 1, 2 (an identical sample would be in the duplicates table)
    per = {}
    for r in got:
        per.setdefault(r["prompt_id"], set()).add(json.loads(r["meta"])["sample"])
    assert sum(map(len, per.values())) + c["duplicates"] == 27 and len(per) == 9
    # an ordinary store: the heuristic scorer runs on it
    from curate import plugins
    from curate.score.stage import run_score

    run_score(new, plugins.resolve("scorers", "heuristics"))
    assert new.read_sidecar("score.heuristics").num_rows == new.num_rows()


def test_same_seed_same_samples_whatever_the_chunks(source, backend, tmp_path):
    a = run_generate(source, tmp_path / "a", backend, GenerateOptions(SAMPLING, chunk_prompts=2))
    b = run_generate(source, tmp_path / "b", backend, GenerateOptions(SAMPLING, chunk_prompts=7))
    assert parquet_digests(a.store / "base") == parquet_digests(b.store / "base")
    other = GenerateOptions(SamplingOptions(**{**SAMPLING.__dict__, "seed": 5}))
    c = run_generate(source, tmp_path / "c", backend, other)
    assert parquet_digests(c.store / "base") != parquet_digests(a.store / "base")
    again = run_generate(
        source, tmp_path / "a", backend, GenerateOptions(SAMPLING, chunk_prompts=2)
    )
    assert again.already_done


def test_a_killed_run_resumes_without_loss_or_repeats(source, backend, tmp_path):
    clean = run_generate(
        source, tmp_path / "clean", backend, GenerateOptions(SAMPLING, chunk_prompts=2)
    )
    # prompt shards follow the source's (5 rows each): shard 0 holds 5 prompts, 3 chunks;
    # killed at the first chunk of shard 1
    killed = Flaky(backend, kill_at=4)
    with pytest.raises(KeyboardInterrupt):
        run_generate(source, tmp_path / "new", killed, GenerateOptions(SAMPLING, chunk_prompts=2))
    assert not (tmp_path / "new" / "manifests" / "generate.json").exists()
    with pytest.raises(CurateError):
        Store.open(tmp_path / "new").require_base()  # not a complete store yet
    resumed = Flaky(backend)
    result = run_generate(
        source, tmp_path / "new", resumed, GenerateOptions(SAMPLING, chunk_prompts=2)
    )
    assert resumed.prompts == (9 - 5) * 3  # only the prompts never checkpointed
    assert parquet_digests(result.store / "base") == parquet_digests(clean.store / "base")
    assert parquet_digests(result.store / "duplicates") == parquet_digests(
        clean.store / "duplicates"
    )


def test_failed_generations_are_rejects_never_rows(source, backend, tmp_path):
    flaky = Flaky(backend, fail=True)
    result = run_generate(source, tmp_path / "new", flaky, GenerateOptions(SAMPLING))
    new = Store.open(tmp_path / "new")
    rejects = new.rejects().to_pylist()
    failed_seeds = [
        sample_seed(4, r["prompt_id"], k)
        for r in Store.open(tmp_path / "new" / "generate" / "prompts")
        .read(columns=["prompt_id"])
        .to_pylist()
        for k in range(3)
        if sample_seed(4, r["prompt_id"], k) % 5 == 0
    ]
    assert len(rejects) == len(failed_seeds) == result.counts["failed"] > 0
    assert {r["reason"] for r in rejects} == {"generation_failed"}
    assert all(r["detail"] == "http 500 after 3 attempts" for r in rejects)
    assert sorted(json.loads(r["raw"])["seed"] for r in rejects) == sorted(failed_seeds)
    kept = {json.loads(r["meta"])["seed"] for r in rows(new)}
    assert not kept & set(failed_seeds)
    c = result.counts
    assert c["generated"] + c["duplicates"] + c["failed"] == c["samples_requested"]


def test_through_the_fake_chat_completions_server(source, backend, tmp_path, monkeypatch):
    monkeypatch.setenv("CURATE_TEST_KEY", "sk-test")
    with serve_chat_completions(backend, model="tiny", api_key="sk-test") as server:

        def run(into, max_prompts):
            remote = resolve_backend(
                "openai",
                "tiny",
                api_base=server.api_base,
                api_key_env="CURATE_TEST_KEY",
                backoff=0.001,
            )
            with remote:  # a fresh client per run, as each `curate generate` has
                options = GenerateOptions(SAMPLING, max_prompts=max_prompts)
                return run_generate(source, tmp_path / into, remote, options)

        first = run("a", 4)
        assert first.counts["prompts"] == 4 and first.counts["samples_requested"] == 12
        assert first.counts["rows_without_own_prompt"]["over_max_prompts"] == 5
        seeds = sorted(r["body"]["seed"] for r in server.requests)
        assert len(seeds) == 12 and len(set(seeds)) == 12  # each sample its own seed
        assert first.manifest["identity"]["served_model"] == "tiny"  # what the server said
        second = run("b", 4)
        assert parquet_digests(first.store / "base") == parquet_digests(second.store / "base")
        server.fail(Fault(status=500), times=10**6)  # every retry fails
        broken = run("c", 1)
    assert broken.counts["failed"] == 3 and broken.counts["generated"] == 0
    reasons = Store.open(tmp_path / "c").rejects(columns=["reason", "detail"]).to_pylist()
    assert all(r["reason"] == "generation_failed" and "500" in r["detail"] for r in reasons)


def test_refusals_and_overwrite(source, backend, tmp_path):
    with pytest.raises(CurateError, match="same .greedy. answer"):
        SamplingOptions(n=3, temperature=0.0)
    assert SamplingOptions(n=1, temperature=0.0).params().greedy  # one greedy answer is fine
    with pytest.raises(CurateError, match="inside it"):
        run_generate(source, source.root / "samples", backend, GenerateOptions(SAMPLING))
    with pytest.raises(CurateError, match="is the store"):
        run_generate(source, source.root, backend, GenerateOptions(SAMPLING))
    other = tmp_path / "other"
    shutil.copytree(source.root, other)
    with pytest.raises(CurateError, match="ingested data"):
        run_generate(source, other, backend, GenerateOptions(SAMPLING))
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(CurateError, match="not empty"):
        run_generate(source, tmp_path / "mine", backend, GenerateOptions(SAMPLING))
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    run_generate(source, tmp_path / "new", backend, GenerateOptions(SAMPLING, max_prompts=2))
    bigger = GenerateOptions(SAMPLING, max_prompts=3)
    with pytest.raises(CurateError, match="--overwrite"):
        run_generate(source, tmp_path / "new", backend, bigger)
    result = run_generate(source, tmp_path / "new", backend, bigger, overwrite=True)
    assert result.counts["prompts"] == 3
    # a killed run of other options is not finished by these, nor mixed with them
    with pytest.raises(KeyboardInterrupt):
        run_generate(source, tmp_path / "killed", Flaky(backend, kill_at=1), bigger)
    with pytest.raises(CurateError, match="unfinished generation"):
        run_generate(source, tmp_path / "killed", backend, GenerateOptions(SAMPLING))
    done = run_generate(source, tmp_path / "killed", backend, GenerateOptions(SAMPLING), True)
    assert done.counts["prompts"] == 9


def test_cli_end_to_end(source, model_dir, tmp_path):
    from click.testing import CliRunner

    from curate.cli import cli

    args = ["generate", str(source.root), "--model", str(model_dir), "--device", "cpu"]
    args += ["--into", str(tmp_path / "new"), "-n", "2", "--max-new-tokens", "4", "--seed", "1"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "samples requested" in result.output and "18" in result.output
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "nothing to do" in again.output
    changed = CliRunner().invoke(cli, [*args[:-1], "2"])
    assert isinstance(changed.exception, CurateError) and "--overwrite" in str(changed.exception)
    manifest = json.loads((tmp_path / "new" / "manifests" / "generate.json").read_text())
    assert manifest["counts"]["samples_requested"] == 18
    assert manifest["identity"]["backend"] == "transformers"
    assert pq.read_table(tmp_path / "new" / "base" / "part-00000.parquet").num_rows > 0
