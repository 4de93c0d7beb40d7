"""``curate judge`` end to end through the fake chat-completions server and a scripted judge
whose hidden quality per conversation the test knows."""

import json

import numpy as np
import pytest

from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.judge.cache import CallCache
from curate.store import Store
from curate.testing.chat_server import serve_chat_completions
from curate.testing.judges import ScriptedJudge
from tests.conftest import judge_cli as run_judge_cli
from tests.conftest import kendall_tau, tiny_judge_cli, write_jsonl

N = 60


@pytest.fixture
def pool(tmp_path):
    rng = np.random.default_rng(0)
    quality = {}
    records = []
    for k in range(N):
        answer = f"Answer {k}: " + "a careful explanation. " * int(rng.integers(1, 6))
        quality[answer.strip()] = float(rng.uniform(1, 10))
        records.append(
            {"instruction": f"Question {k % 12}: how does thing {k} work?", "output": answer}
        )
    records.append({"instruction": "An unanswered prompt", "output": ""})
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor(
        [str(tmp_path / "in.jsonl")], tmp_path / "store", IngestOptions(shard_size=25), workers=0
    ).run()
    return Store.open(tmp_path / "store"), quality


def judge_cli(capsys, store, server, *extra):
    return run_judge_cli(capsys, store, server, "--chunk-rows", "16", *extra)


def sidecar(store):
    return store.read(columns=["id", "messages"], sidecars=["score.judge.judge"]).to_pylist()


def test_ratings_follow_the_hidden_quality_and_garbage_is_retried_then_recorded(pool, capsys):
    store, quality = pool
    backend = ScriptedJudge(lambda a: quality.get(a, 5.0), noise=1.5, garbage=0.05)
    with serve_chat_completions(backend, model="judge") as server:
        rc, out = judge_cli(capsys, store, server)
        assert rc == 0, out
        made = len(server.requests)
    rows = sidecar(store)
    statuses = [r["judge_judge_status"] for r in rows]
    assert statuses.count("no_assistant_reply") == 1
    ok = [r for r in rows if r["judge_judge_status"] == "ok"]
    assert len(ok) >= N - 2  # garbage twice in a row is rare; it is recorded, not invented
    assert all(r["judge_judge_score"] is None for r in rows if r["judge_judge_status"] != "ok")
    retried = [r for r in rows if r["judge_judge_attempts"] == 2]
    assert retried and made == N + len(retried)  # one call each, one more per retry
    truth = [quality[r["messages"][-1]["content"].strip()] for r in ok]
    assert kendall_tau([r["judge_judge_score"] for r in ok], truth) > 0.6
    # select weighs it like any other score
    rc = main_select(capsys, store, store.root / "subset")
    assert rc == 0
    report = json.loads((store.root / "subset" / "report.json").read_text())
    assert "judge_judge_score" in report["scores"]


def main_select(capsys, store, out):
    from curate.select.stage import SelectOptions, run_select
    from curate.tag.stage import run_cluster_tag
    from taggers.cluster import ClusterParams

    run_cluster_tag(store, ClusterParams(clusters=2))
    run_select(store, SelectOptions(per_tag=5, weights={"judge.judge": 1.0}), out)
    return 0


def test_a_killed_run_resumes_without_any_call_twice(pool, capsys, monkeypatch):
    store, quality = pool
    backend = ScriptedJudge(lambda a: quality.get(a, 5.0), noise=1.0, garbage=0.05)
    original = CallCache.add
    parts = {"n": 0}

    def dies_on_the_third_part(self, calls):
        parts["n"] += 1
        if parts["n"] == 3:
            raise KeyboardInterrupt
        return original(self, calls)

    with serve_chat_completions(backend, model="judge") as server:
        monkeypatch.setattr(CallCache, "add", dies_on_the_third_part)
        rc, _ = judge_cli(capsys, store, server, "--chunk-rows", "8")
        assert rc == 130  # interrupted
        monkeypatch.setattr(CallCache, "add", original)
        killed_calls = len(server.requests)
        rc, out = judge_cli(capsys, store, server, "--chunk-rows", "8")
        assert rc == 0, out
        bodies = [
            json.dumps(r["body"]["messages"]) + str(r["body"].get("temperature"))
            for r in server.requests
        ]
        # only the calls of the part the kill lost (one chunk: 8 rows, their retries) were
        # made twice; every call the killed run recorded was read from the cache
        twice = len(bodies) - len(set(bodies))
        assert 0 < twice <= 16 and killed_calls > twice
        assert len(CallCache(store.root, "judge")) == len(set(bodies))
        again = len(server.requests)
        rc, out = judge_cli(capsys, store, server)
        assert rc == 0 and len(server.requests) == again  # done: nothing to do, no call
        assert "nothing to do" in out or "already" in out


def test_dry_run_plans_without_calls_and_show_prints_verdicts(pool, capsys):
    store, quality = pool
    backend = ScriptedJudge(lambda a: quality.get(a, 5.0))
    with serve_chat_completions(backend, model="judge") as server:
        rc, out = judge_cli(capsys, store, server, "--dry-run")
        assert rc == 0 and not server.requests
        flat = " ".join(out.split())
        assert f"judge plan: {N} calls for {N + 1} conversations" in flat
        assert "no_assistant_reply 1" in flat
        rc, _ = judge_cli(capsys, store, server, "-q")
        rc, out = judge_cli(capsys, store, server, "--show", "3")
        assert rc == 0 and "Rating: [[" in out


def test_a_pairwise_template_is_refused_with_one_line(pool, capsys):
    store, _ = pool
    with serve_chat_completions(ScriptedJudge(), model="judge") as server:
        rc, out = judge_cli(capsys, store, server, "--template", "pairwise", "--dry-run")
    assert rc == 1 and "rates one" in out and "Traceback" not in out


def test_same_inputs_same_sidecar_and_overwrite_reads_the_cache(pool, capsys, tmp_path):
    import shutil

    from tests.conftest import parquet_digests

    store, quality = pool
    shutil.copytree(store.root, tmp_path / "copy")
    other = Store.open(tmp_path / "copy")

    def judge_files(root):
        return {k: v for k, v in parquet_digests(root).items() if "score.judge" in k}

    backend = ScriptedJudge(lambda a: quality.get(a, 5.0), noise=1.5, garbage=0.05)
    with serve_chat_completions(backend, model="judge") as server:
        assert judge_cli(capsys, store, server, "-q")[0] == 0
        assert judge_cli(capsys, other, server, "-q")[0] == 0
        first = len(server.requests)
        assert judge_cli(capsys, store, server, "-q", "--overwrite")[0] == 0
        assert len(server.requests) == first  # rebuilt from the cache: no call
    assert judge_files(store.root) and judge_files(store.root) == judge_files(other.root)


def tiny_judge_run(capsys, store, model, name):
    rows = tiny_judge_cli(capsys, store, model, name)
    return [r for r in rows if r[f"judge_{name}_status"] != "no_assistant_reply"]


def test_the_transformers_backend_with_a_tiny_model_records_garbage_as_failures(
    pool, capsys, tmp_path
):
    """A random 2-layer Llama writes garbage: every row ends as a parse failure with its
    raw replies kept; a prompt longer than the model is a backend failure, not retried.
    None crashes and none gets a score."""
    from curate.testing.tiny_models import write_tiny_chat_model

    store, _ = pool
    roomy = write_tiny_chat_model(tmp_path / "roomy", max_position_embeddings=4096)
    judged = tiny_judge_run(capsys, store, roomy, "roomy")
    assert len(judged) == N
    assert {r["judge_roomy_status"] for r in judged} <= {"no_verdict", "out_of_range", "ambiguous"}
    assert all(r["judge_roomy_score"] is None and r["judge_roomy_attempts"] == 2 for r in judged)
    calls = CallCache(store.root, "roomy").calls.values()
    assert len(calls) == 2 * N and all(c.raw is not None for c in calls)  # raw output kept

    short = write_tiny_chat_model(tmp_path / "short")  # 512 positions: the prompt does not fit
    judged = tiny_judge_run(capsys, store, short, "short")
    assert {r["judge_short_status"] for r in judged} == {"backend_failed"}
    assert all(r["judge_short_attempts"] == 1 for r in judged)
    calls = CallCache(store.root, "short").calls.values()
    assert all(c.raw is None and "exceeds" in c.error for c in calls)


def test_logprobs_give_the_expected_rating_finer_and_closer_to_the_truth(pool, capsys):
    store, quality = pool
    backend = ScriptedJudge(lambda a: quality.get(a, 5.0), noise=0.5)
    with serve_chat_completions(backend, model="judge") as server:
        assert judge_cli(capsys, store, server, "-q", "--name", "plain")[0] == 0
        assert judge_cli(capsys, store, server, "-q", "--name", "lp", "--logprobs")[0] == 0
        asked = [r["body"] for r in server.requests[-N:]]
    assert all(b.get("logprobs") is True and b.get("top_logprobs") == 20 for b in asked)
    table = store.read(columns=["messages"], sidecars=["score.judge.plain", "score.judge.lp"])
    rows = [r for r in table.to_pylist() if r["judge_lp_status"] == "ok"]
    truth = [quality[r["messages"][-1]["content"].strip()] for r in rows]
    plain = [r["judge_plain_score"] for r in rows]
    expected = [r["judge_lp_score"] for r in rows]
    assert all(float(p).is_integer() for p in plain)
    assert sum(not float(e).is_integer() for e in expected) > N // 2  # finer than the integer
    assert [r["judge_lp_raw"] for r in rows] == plain  # the written rating is kept
    assert len(set(expected)) > len(set(plain))  # fewer ties
    assert kendall_tau(expected, truth) > kendall_tau(plain, truth)


def test_malformed_logprobs_from_a_server_are_ignored_not_fatal():
    from curate.llm.openai_backend import _tokens

    assert _tokens({"logprobs": None}) is None
    assert _tokens({"logprobs": {"content": [{"token": "8"}]}}) == [("8", {})]
    assert _tokens({"logprobs": {"content": [{"no": "token"}]}}) is None
    assert (
        _tokens({"logprobs": {"content": [{"token": "8", "top_logprobs": [{"token": "8"}]}]}})
        is None
    )
