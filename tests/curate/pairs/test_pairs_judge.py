"""``curate pairs --confirm-with-judge`` through the fake chat-completions server: a scripted
judge whose hidden quality disagrees with the scores on one pair and cannot decide another."""

import json

import pyarrow.parquet as pq
import pytest

from curate.cli import main
from curate.judge.cache import CallCache
from curate.testing.chat_server import serve_chat_completions
from curate.testing.judges import ScriptedJudge
from tests.curate.pairs.conftest import SCORES, answer, build_store, question

UNDECIDED = question("q5")  # the judge never gives a verdict on this prompt


class Judge(ScriptedJudge):
    """The scripted judge, but without a verdict (on every attempt) for one prompt."""

    def generate(self, prompts, params):
        out = super().generate(prompts, params)
        for k, prompt in enumerate(prompts):
            if UNDECIDED in prompt[-1]["content"]:
                out[k] = type(out[k])("Both have merit; I cannot decide.", None, 40, 8)
        return out


def hidden_quality() -> dict[str, float]:
    """The scores, except on q4 (the judge likes the worst-scored answer best) and q6 (its
    worst answer is nearly as good as its best: within the judge's position bias)."""
    quality = {
        answer(q, k).strip(): v for q, values in SCORES.items() for k, v in enumerate(values) if v
    }
    quality[answer("q4", 2).strip()] = 20.0
    quality[answer("q6", 2).strip()] = 2.8
    return quality


@pytest.fixture
def store(tmp_path):
    return build_store(tmp_path)


def pairs_cli(capsys, store, server, out, *args):
    with pytest.raises(SystemExit) as exit_:
        main(
            [
                "pairs",
                str(store.root),
                "-o",
                str(out),
                "--confirm-with-judge",
                "--judge-model",
                "judge",
                "--backend",
                "openai",
                "--api-base",
                server.api_base,
                *args,
            ]
        )
    captured = capsys.readouterr()
    return exit_.value.code, " ".join((captured.out + captured.err).split())


def test_the_judge_drops_the_pairs_it_disagrees_with(store, tmp_path, capsys):
    quality = hidden_quality()
    judge = Judge(lambda a: quality.get(a, 5.0), position_bias=0.5)
    with serve_chat_completions(judge, model="judge") as server:
        rc, text = pairs_cli(capsys, store, server, tmp_path / "out")
        assert rc == 0, text
        made = len(server.requests)
        # every pair in both orders; q5's replies without a verdict get one sampled retry each
        assert made == 4 * 2 + 2
        report = json.loads((tmp_path / "out" / "report.json").read_text())
        # q4 the other way round in both orders, q6 the first shown in both orders
        assert report["dropped"]["judge_disagrees"] == 2
        assert report["dropped"]["judge_failed"] == 1  # q5
        assert report["judge"]["calls"] == {"made": made, "cached": 0}
        assert report["judge"]["pairs_asked"] == 4 and report["judge"]["name"] == "judge"
        assert report["judge"]["verdicts"] == {"A": 4, "B": 2, "failed": 2}
        rows = pq.read_table(tmp_path / "out" / "pairs.parquet").to_pylist()
        prompts = sorted(r["prompt"][0]["content"] for r in rows if r["origin"] == "scored")
        assert prompts == [question("q0")]
        assert report["counts"]["by_origin"] == {"scored": 1, "ingested": 1}
        assert "judge judge: 4 pairs asked in both orders" in text
        # the same options: nothing to do; into another folder: every call from the cache
        rc, text = pairs_cli(capsys, store, server, tmp_path / "out")
        assert rc == 0 and "nothing to do" in text and len(server.requests) == made
        rc, text = pairs_cli(capsys, store, server, tmp_path / "again", "-q")
        assert rc == 0, text
        assert len(server.requests) == made  # not one new call
        again = json.loads((tmp_path / "again" / "report.json").read_text())
        assert again["judge"]["calls"] == {"made": 0, "cached": made}
        for name in ("pairs.jsonl", "pairs.parquet"):
            assert (tmp_path / "out" / name).read_bytes() == (
                tmp_path / "again" / name
            ).read_bytes()
    # the calls are in the store's cache, under the judge's name, both orders of each pair
    calls = CallCache(store.root, "judge").calls.values()
    assert len(calls) == made
    orders = {c.ids for c in calls if c.attempt == 0}
    assert all((b, a) in orders for a, b in orders)


def test_a_prompt_group_judge_is_a_score_pairs_weighs(store, tmp_path, capsys):
    """`curate judge --mode pairwise --groups prompt` writes judge.NAME.prompts (strengths of
    the answers to one prompt), which select does not weigh; pairs does, like any score."""
    from tests.conftest import judge_cli

    quality = hidden_quality()  # on q4 the judge prefers the worst-scored answer
    with serve_chat_completions(
        ScriptedJudge(lambda a: quality.get(a, 5.0)), model="judge"
    ) as server:
        rc, text = judge_cli(
            capsys, store, server, "--name", "j", "--mode", "pairwise", "--groups", "prompt", "-q"
        )
        assert rc == 0, text
    assert "judge.j.prompts" in store.sidecars()
    with pytest.raises(SystemExit) as exit_:
        main(["pairs", str(store.root), "-o", str(tmp_path / "out"), "--weights", "a=0", "-q"])
    assert exit_.value.code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["weights"] == {"a": 0.0, "judge.j.prompts": 1.0}
    rows = pq.read_table(tmp_path / "out" / "pairs.parquet").to_pylist()
    q4 = [
        r for r in rows if r["origin"] == "scored" and r["prompt"][0]["content"] == question("q4")
    ]
    assert len(q4) == 1 and q4[0]["chosen"][0]["content"] == answer("q4", 2)
