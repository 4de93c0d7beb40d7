"""``curate judge --mode funnel|pairwise`` end to end through the fake chat-completions server,
with a scripted judge whose hidden quality per answer the test knows: noisy, biased to the
first position on close pairs, fond of long answers, and replying garbage 5% of the time."""

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.errors import CurateError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.judge.cache import CallCache
from curate.runner import is_complete
from curate.store import SidecarWriter, Store
from curate.testing.chat_server import serve_chat_completions
from curate.testing.judges import ScriptedJudge
from curate.testing.scores import write_scores
from tests.conftest import judge_cli as run_judge_cli
from tests.conftest import kendall_tau, parquet_digests, tiny_judge_cli, write_jsonl

CLUSTERS, PER = 3, 30
SIDECAR = "score.judge.judge"


def write_tags(store, tag_of_row):
    writer = SidecarWriter(store, "tag.synthetic", {"synthetic": 1})
    start = 0
    for index in range(store.num_shards):
        shard = store.read_shard(index, columns=["id"])
        tags = [[tag_of_row[start + k]] for k in range(shard.num_rows)]
        start += shard.num_rows
        writer.write(
            index,
            pa.table(
                {
                    "id": shard.column("id"),
                    "tags": pa.array(tags, pa.list_(pa.string())),
                    "tag_primary": pa.array([t[0] for t in tags]),
                }
            ),
        )
    writer.finish()


def build(root, answers_per_prompt=1, seed=0, per=PER):
    """A store of CLUSTERS x per conversations, tags, a weak cheap score and hidden quality."""
    rng = np.random.default_rng(seed)
    records, quality = [], {}
    for k in range(CLUSTERS * per):
        prompt = (
            f"Question {k // answers_per_prompt} about topic {k // answers_per_prompt % CLUSTERS}?"
        )
        answer = f"Answer {k}: " + "a careful step. " * int(rng.integers(1, 30))
        quality[answer.strip()] = float(rng.uniform(1, 10))
        records.append({"instruction": prompt, "output": answer})
    records.append({"instruction": "Question without a reply about topic 0?", "output": ""})
    write_jsonl(root.parent / f"{root.name}.jsonl", records)
    Ingestor(
        [str(root.parent / f"{root.name}.jsonl")], root, IngestOptions(shard_size=40), workers=0
    ).run()
    store = Store.open(root)
    rows = store.read(columns=["messages"]).column("messages").to_pylist()
    truth = np.array([quality.get(m[-1]["content"].strip(), np.nan) for m in rows])
    topic = [m[0]["content"].rsplit("topic ", 1)[1].rstrip("?") for m in rows]
    write_tags(store, [f"topic-{t}" for t in topic])
    cheap = truth + rng.normal(0, 3.0, len(truth))  # the unanswered row: no cheap score
    write_scores(store, "cheap", [None if np.isnan(c) else c for c in cheap])
    return store, quality, truth


@pytest.fixture
def pool(tmp_path):
    return build(tmp_path / "store")


def scripted(quality, **kw):
    settings = dict(noise=1.0, position_bias=0.5, length_bonus=1.0, garbage=0.05)
    settings.update(kw)
    return ScriptedJudge(lambda a: quality.get(a, 5.0), **settings)


def judge_cli(capsys, store, server, *extra):
    return run_judge_cli(capsys, store, server, "--per-tag", "6", "--bootstrap", "20", *extra)


def judged(store, sidecar=SIDECAR):
    return store.read(columns=["id", "messages"], sidecars=[sidecar]).to_pylist()


def test_the_funnel_judges_the_top_of_each_cluster_and_ranks_near_the_cut(pool, capsys):
    store, quality, truth = pool
    with serve_chat_completions(scripted(quality), model="judge") as server:
        rc, out = judge_cli(capsys, store, server)  # --mode auto: tags and a score -> funnel
        assert rc == 0, out
        made = len(server.requests)
    flat = " ".join(out.split())
    assert "judge plan (funnel)" in flat and "pairwise, both orders" in flat
    rows = judged(store)
    p = "judge_judge"
    status = [r[f"{p}_status"] for r in rows]
    # top K = 2 x 6 of each cluster rated; the rest not judged (the unanswered row too: it
    # has no cheap score to be ranked by), with no score at all
    assert status.count("not_judged") == CLUSTERS * (PER - 12) + 1
    assert all(r[f"{p}_score"] is None for r in rows if r[f"{p}_status"] != "ok")
    assert all(r[f"{p}_rank"] is None for r in rows if r[f"{p}_score"] is None)
    # garbage twice in a row is a recorded failure with its raw replies, never a rating
    failed = [r for r in rows if r[f"{p}_status"] in ("no_verdict", "ambiguous")]
    for r in failed:
        calls = [c for c in CallCache(store.root, "judge").calls.values() if c.ids == (r["id"],)]
        assert len(calls) == 2 and all(c.raw for c in calls)
    ok = [r for r in rows if r[f"{p}_status"] == "ok"]
    assert len(ok) >= CLUSTERS * 12 - 3
    # the band: 3 rows around the cut of 6 meet each other in both orders
    compared = [r for r in ok if r[f"{p}_comparisons"]]
    assert 2 * CLUSTERS <= len(compared) <= 3 * CLUSTERS
    assert all(len(r[f"{p}_opponents"]) == r[f"{p}_comparisons"] for r in rows)
    for r in ok:  # a rank lies in its interval
        assert r[f"{p}_rank_lower"] <= r[f"{p}_rank"] <= r[f"{p}_rank_upper"]
    # within each cluster the judge's score follows the hidden quality
    for topic in range(CLUSTERS):
        members = [r for r in ok if r[f"{p}_group"] == f"topic-{topic}"]
        score = [r[f"{p}_score"] for r in members]
        hidden = [quality[r["messages"][-1]["content"].strip()] for r in members]
        assert kendall_tau(score, hidden) > 0.4
    manifest = store.manifest(f"sidecar.{SIDECAR}")
    v, pairs = manifest["verdicts"], manifest["pairs"]
    assert v["A"] + v["B"] + v["tie"] + v["failed"] == 2 * pairs["judged"]
    assert (
        pairs["judged"]
        == pairs["consistent"]
        + pairs["inconsistent"]
        + pairs["one_order_failed"]
        + pairs["both_orders_failed"]
    )
    assert 0 <= manifest["position_bias"]["first_position_wins"] <= 1
    assert manifest["calls"]["made"] == made
    assert manifest["params"]["judge"] == "funnel" if "params" in manifest else True
    assert "the first position won" in flat

    from curate.select.stage import SelectOptions, run_select

    # a funnel judge's rows come first in select: one it passed over (ranked by the cheap
    # score alone) never pushes out one the judge chose
    options = SelectOptions(per_tag=6, per_prompt=None, weights={"cheap": 1, "judge": 1})
    result = run_select(store, options, store.root / "sub")
    assert "judge_judge_score" in result.report["scores"]  # "judge" named the one judge
    assert result.report["weights"] == {"cheap": 1.0, "judge.judge": 1.0}
    assert result.report["judged_first"]["judge.judge"]["selected_unscored"] == 0
    chosen = pq.read_table(store.root / "sub" / "subset.parquet").to_pylist()
    assert len(chosen) == CLUSTERS * 6 and all(r["judge_judge_score"] is not None for r in chosen)
    # the cheap score rebuilt: the judge built on it is stale, and select says so
    write_scores(store, "cheap", [1.0] * store.num_rows(), overwrite=True, params={"v": 2})
    with pytest.raises(CurateError, match="score.judge.judge .* is stale"):
        run_select(store, options, store.root / "sub2")


def test_a_killed_funnel_resumes_without_paying_for_a_recorded_call(pool, capsys, monkeypatch):
    store, quality, _ = pool
    original = CallCache.add
    parts = {"n": 0}

    def dies_on_the_second_part(self, calls):
        parts["n"] += 1
        if parts["n"] == 2:
            raise KeyboardInterrupt
        return original(self, calls)

    with serve_chat_completions(scripted(quality), model="judge") as server:
        monkeypatch.setattr(CallCache, "add", dies_on_the_second_part)
        rc, _ = judge_cli(capsys, store, server, "-q")
        assert rc == 130
        monkeypatch.setattr(CallCache, "add", original)
        assert not is_complete(store, SIDECAR)
        rc, out = judge_cli(capsys, store, server, "-q")
        assert rc == 0, out
        bodies = [
            json.dumps(r["body"]["messages"]) + str(r["body"].get("temperature"))
            for r in server.requests
        ]
        twice = len(bodies) - len(set(bodies))
        assert twice <= 64  # only the part the kill lost (64 calls at most) went out again
        assert len(CallCache(store.root, "judge")) == len(set(bodies))
        again = len(server.requests)
        rc, out = judge_cli(capsys, store, server)
        assert rc == 0 and len(server.requests) == again and "nothing to do" in out
        # --overwrite rebuilds from the cache: the same rounds, not one call
        rc, out = judge_cli(capsys, store, server, "-q", "--overwrite")
        assert rc == 0 and len(server.requests) == again


def test_same_inputs_give_the_same_sidecar(tmp_path, capsys):
    a, quality, _ = build(tmp_path / "a")
    b, _, _ = build(tmp_path / "b")
    with serve_chat_completions(scripted(quality), model="judge") as server:
        assert judge_cli(capsys, a, server, "-q")[0] == 0
        assert judge_cli(capsys, b, server, "-q")[0] == 0

    def digests(store):
        return {k: v for k, v in parquet_digests(store.root).items() if "score.judge" in k}

    assert digests(a) and digests(a) == digests(b)


def test_dry_run_makes_no_call_and_show_prints_pairs_side_by_side(pool, capsys):
    store, quality, _ = pool
    with serve_chat_completions(scripted(quality, garbage=0.0), model="judge") as server:
        rc, out = judge_cli(capsys, store, server, "--dry-run")
        assert rc == 0 and not server.requests
        flat = " ".join(out.split())
        assert f"pointwise: {CLUSTERS * 12} calls" in flat and "not_judged" in flat
        assert judge_cli(capsys, store, server, "-q")[0] == 0
        rc, out = judge_cli(capsys, store, server, "--show", "2")
    assert rc == 0
    flat = " ".join(out.split())
    assert "pairs judged in both orders" in flat
    assert "A shown first" in flat and "B shown first" in flat and "[[" in flat


def test_pairwise_within_prompt_groups_ranks_the_answers_to_one_prompt(tmp_path, capsys):
    store, quality, truth = build(tmp_path / "store", answers_per_prompt=5)
    with serve_chat_completions(scripted(quality, garbage=0.0), model="judge") as server:
        rc, out = judge_cli(capsys, store, server, "--mode", "pairwise", "--groups", "prompt")
        assert rc == 0, out
    sidecar = "judge.judge.prompts"
    assert sidecar in store.sidecars() and SIDECAR not in store.sidecars()
    from curate.score.stage import score_columns

    assert f"score.{sidecar}" not in score_columns(store)  # select does not weigh it
    rows = store.read(columns=["id", "prompt_id", "messages"], sidecars=[sidecar]).to_pylist()
    p = "judge_judge"
    groups: dict[str, list] = {}
    for r in rows:
        if r[f"{p}_status"] == "ok":
            groups.setdefault(r["prompt_id"], []).append(r)
    assert len(groups) == CLUSTERS * PER // 5
    best_right = 0
    for members in groups.values():
        assert sorted(r[f"{p}_rank"] for r in members) == list(range(1, len(members) + 1))
        assert all(r[f"{p}_comparisons"] >= 1 for r in members)
        top = min(members, key=lambda r: r[f"{p}_rank"])
        hidden = [quality[r["messages"][-1]["content"].strip()] for r in members]
        best_right += quality[top["messages"][-1]["content"].strip()] == max(hidden)
    assert best_right >= 0.6 * len(groups)
    lone = [r for r in rows if r[f"{p}_status"] == "no_comparison"]
    assert len(lone) == 0 or all(r[f"{p}_score"] is None for r in lone)


def test_refusals_are_one_line(tmp_path, capsys):
    store, quality, _ = build(tmp_path / "store")
    with serve_chat_completions(scripted(quality), model="judge") as server:
        rc, out = judge_cli(capsys, store, server, "--mode", "funnel", "--groups", "prompt")
        assert rc == 1 and "--mode pairwise --groups prompt" in out
        rc, out = judge_cli(
            capsys, store, server, "--mode", "pairwise", "--pair-template", "pairwise", "--dry-run"
        )
        assert rc == 1 and "pairwise-cluster" in out and "Traceback" not in out
        rc, out = judge_cli(capsys, store, server, "--top-k", "3", "--dry-run")
        assert rc == 1 and "under the quota" in out
        assert not server.requests
    bare, _, _ = build(tmp_path / "bare")
    shutil.rmtree(bare.root / "sidecars" / "score.cheap")
    (bare.root / "manifests" / "sidecar.score.cheap.json").unlink()
    with serve_chat_completions(scripted(quality), model="judge") as server:
        rc, out = judge_cli(capsys, bare, server, "--mode", "funnel", "--dry-run")
        assert rc == 1 and "run `curate score` first" in out


def test_the_tiny_transformers_model_writes_garbage_that_ends_as_failures(tmp_path, capsys):
    """A random 2-layer Llama judging pairwise: every verdict fails to parse, so no pair is a
    comparison, every row says so, and nothing crashes or gets a score."""
    from curate.testing.tiny_models import write_tiny_chat_model

    store, _, _ = build(tmp_path / "store", per=5)
    model = write_tiny_chat_model(tmp_path / "tiny", max_position_embeddings=4096)
    rows = tiny_judge_cli(
        capsys,
        store,
        model,
        "tiny",
        "--mode",
        "pairwise",
        "--per-tag",
        "3",
        "--opponents",
        "1",
        "--rounds",
        "1",
        "--bootstrap",
        "5",
    )
    statuses = {r["judge_tiny_status"] for r in rows}
    assert statuses <= {"no_comparison", "no_assistant_reply"}
    assert all(r["judge_tiny_score"] is None for r in rows)
    manifest = store.manifest("sidecar.score.judge.tiny")
    assert manifest["verdicts"]["failed"] == 2 * manifest["pairs"]["judged"] > 0
    calls = CallCache(store.root, "tiny").calls.values()
    assert all(c.raw is not None for c in calls)  # the garbage is kept, as raw replies


def spearman(a, b) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def test_pairwise_in_clusters_ranks_by_quality_and_the_covariate_takes_out_length(pool, capsys):
    """Every row of a cluster compared: the Bradley-Terry strengths follow the hidden quality;
    a judge that adds 15 points per 1,000 characters ranks long answers up, and the length
    covariate takes that back out."""
    store, quality, _ = pool
    judge = scripted(quality, length_bonus=15.0, noise=1.0)
    with serve_chat_completions(judge, model="judge") as server:
        for name, extra in (("plain", ()), ("neutral", ("--length-covariate",))):
            rc, out = judge_cli(
                capsys, store, server, "--mode", "pairwise", "--name", name, "-q", *extra
            )
            assert rc == 0, out
    table = store.read(
        columns=["messages"], sidecars=["score.judge.plain", "score.judge.neutral"]
    ).to_pylist()
    rows = [r for r in table if r["judge_plain_status"] == r["judge_neutral_status"] == "ok"]
    assert len(rows) == CLUSTERS * PER
    hidden = np.array([quality[r["messages"][-1]["content"].strip()] for r in rows])
    length = np.array([len(r["messages"][-1]["content"]) for r in rows])
    plain = np.array([r["judge_plain_strength"] for r in rows])
    neutral = np.array([r["judge_neutral_strength"] for r in rows])
    assert spearman(length, hidden) < 0.3  # length says nothing of quality here
    assert spearman(plain, length) > 0.4  # but the judge likes it
    assert abs(spearman(neutral, length)) < spearman(plain, length) / 2
    for topic in range(CLUSTERS):
        members = [
            k for k, r in enumerate(rows) if f"topic {topic}?" in r["messages"][0]["content"]
        ]
        assert kendall_tau(neutral[members], hidden[members]) > kendall_tau(
            plain[members], hidden[members]
        )
        assert kendall_tau(neutral[members], hidden[members]) > 0.4
    manifest = store.manifest("sidecar.score.judge.neutral")
    assert manifest["length_covariate"]["beta_median"] > 0
    assert manifest["position_bias"]["first_position_wins"] > 0.5  # shown first, won more


def test_the_top_k_widens_when_only_heuristics_rank_the_clusters(pool):
    from curate.judge.grouped import GroupOptions, default_top_k

    store, _, truth = pool
    assert default_top_k(store, GroupOptions(quota=6)) == 12  # a model-like score: 2 x quota
    write_scores(store, "heuristics", np.nan_to_num(truth).tolist())
    assert default_top_k(store, GroupOptions(quota=6)) == 12  # still ranked by "cheap" too
    only = GroupOptions(quota=6, by={"cheap": 0})
    assert default_top_k(store, only) == 24  # heuristics alone are weak: 4 x quota
