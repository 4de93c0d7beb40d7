"""Prompt groups in ``curate select``: at most --per-prompt answers per prompt, the best ones."""

import json
from collections import Counter

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.cli import cli
from curate.ids import prompt_id
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.select.stage import SelectOptions, run_select
from curate.store import Store
from curate.tag.stage import run_cluster_tag
from curate.testing.scores import write_scores
from taggers.cluster import ClusterParams
from tests.conftest import write_jsonl

QUESTIONS = [
    "How do I bake sourdough bread at home",
    "How do I sort a list in Python",
    "Как испечь хлеб на закваске",
    "Как отсортировать список в Python",
    "如何在家烤面包",
    "如何用 Python 排序列表",
]
MODELS = 4  # answers per question: model k writes k + 1 sentences


def answer(question: str, model: int) -> str:
    return " ".join(f"Model {model} on {question[:12]}: point {j}." for j in range(model + 1))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("per_prompt")
    records = [
        {
            "messages": [
                {"role": "user", "content": q},
                {"role": "assistant", "content": answer(q, model)},
            ],
            "model": f"m{model}",
        }
        for q in QUESTIONS
        for model in range(MODELS)
    ]
    write_jsonl(root / "in.jsonl", records)
    Ingestor([str(root / "in.jsonl")], root / "store", IngestOptions(shard_size=7), workers=0).run()
    st = Store.open(root / "store")
    run_cluster_tag(st, ClusterParams(clusters=2))
    # the longer answer is better; the longest answer to the first question failed
    table = st.read(columns=["messages", "n_chars"])
    values = table.column("n_chars").to_pylist()
    failed = [
        i
        for i, m in enumerate(table.column("messages").to_pylist())
        if m[0]["content"] == QUESTIONS[0] and m[1]["content"] == answer(QUESTIONS[0], MODELS - 1)
    ]
    values[failed[0]] = None
    write_scores(st, "fake", values)
    return st


def selected(out) -> list[dict]:
    return pq.read_table(out / "subset.parquet", columns=["id", "messages"]).to_pylist()


def test_one_answer_per_prompt_by_default_the_best(store, tmp_path):
    result = run_select(store, SelectOptions(per_tag=100), tmp_path / "out")
    rows = selected(tmp_path / "out")
    prompts = Counter(row["messages"][0]["content"] for row in rows)
    assert set(prompts) == set(QUESTIONS) and set(prompts.values()) == {1}
    for row in rows:
        q = row["messages"][0]["content"]
        # the longest answer, except where its score failed: then the next longest
        best = MODELS - 2 if q == QUESTIONS[0] else MODELS - 1
        assert row["messages"][1]["content"] == answer(q, best)
    report = result.report
    assert report["excluded"]["per_prompt"] == len(QUESTIONS) * (MODELS - 1)
    assert report["prompts"]["pool"] == {
        "prompts": 6,
        "answers": 24,
        "answers_per_prompt_mean": 4.0,
        "answers_per_prompt_max": 4,
        "prompts_with_several": 6,
    }
    assert report["prompts"]["selected"]["prompts"] == 6
    assert report["prompts"]["selected"]["answers_per_prompt_max"] == 1
    assert report["options"]["per_prompt"] == 1


def test_per_prompt_with_quotas_and_total(store, tmp_path):
    for per_prompt, per_tag, total in [(2, 3, None), (2, None, 5), (3, 4, 7), (1, 2, 3)]:
        out = tmp_path / f"p{per_prompt}-{per_tag}-{total}"
        report = run_select(
            store, SelectOptions(per_prompt=per_prompt, per_tag=per_tag, total=total), out
        ).report
        counts = Counter(row["messages"][0]["content"] for row in selected(out))
        assert max(counts.values()) <= per_prompt
        assert total is None or sum(counts.values()) <= total
        assert report["prompts"]["selected"]["prompts"] == len(counts)
        if per_tag is not None:
            assert all(t["selected"] <= per_tag for t in report["per_tag"])
    # no limit: every answer can be taken
    everything = run_select(
        store, SelectOptions(per_prompt=None, per_tag=None), tmp_path / "all"
    ).report
    assert everything["selected"] == 24 - 1  # all but the failed score
    assert "per_prompt" not in everything["excluded"]


def test_per_prompt_with_the_similarity_filter(store, tmp_path):
    from curate.embed.stage import EmbedOptions, run_embed

    run_embed(store, EmbedOptions())
    out = tmp_path / "tau"
    report = run_select(store, SelectOptions(per_prompt=2, per_tag=None, tau=0.9), out).report
    rows = selected(out)
    counts = Counter(row["messages"][0]["content"] for row in rows)
    assert max(counts.values()) <= 2 and report["selected"] == len(rows) > 0
    # loosening tau never makes the prompt limit bite less
    loose = run_select(store, SelectOptions(per_prompt=2, per_tag=None, tau=1.0), out, True)
    assert loose.report["selected"] == 2 * len(QUESTIONS)


@pytest.mark.parametrize("alpha_prefers", ["longer", "shorter"])
def test_ties_are_broken_by_the_next_signal(store, tmp_path, alpha_prefers):
    """Two scores of equal weight that mirror each other tie on every combined score:
    the first of them by name decides, not the id."""
    table = store.read(columns=["messages"])
    model = [
        int(m[1]["content"].split()[1]) for m in table.column("messages").to_pylist()
    ]  # "Model k on ..."
    longer = [float(k) for k in model]
    shorter = [float(MODELS - 1 - k) for k in model]
    alpha, beta = (longer, shorter) if alpha_prefers == "longer" else (shorter, longer)
    write_scores(store, "alpha", alpha)
    write_scores(store, "beta", beta)
    try:
        out = tmp_path / "ties"
        run_select(
            store,
            SelectOptions(per_tag=100, weights={"alpha": 1.0, "beta": 1.0, "fake": 0.0}),
            out,
        )
        want = MODELS - 1 if alpha_prefers == "longer" else 0
        for row in selected(out):
            assert row["messages"][1]["content"] == answer(row["messages"][0]["content"], want)
    finally:
        import shutil

        for key in ("alpha", "beta"):
            shutil.rmtree(store.sidecar_dir(f"score.{key}"))
            store.remove_manifest(f"sidecar.score.{key}")


def test_cli_per_prompt_and_report_line(store, tmp_path):
    result = CliRunner().invoke(
        cli, ["select", str(store.root), "-o", str(tmp_path / "cli"), "--per-prompt", "2"]
    )
    assert result.exit_code == 0, result.output
    assert "prompts: 6 covered of 6" in " ".join(result.output.split())
    report = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert report["prompts"]["selected"]["answers_per_prompt_max"] == 2
    result = CliRunner().invoke(
        cli, ["select", str(store.root), "-o", str(tmp_path / "cli0"), "--per-prompt", "0"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "cli0" / "report.json").read_text())
    assert report["options"]["per_prompt"] is None
    assert report["prompts"]["selected"]["answers_per_prompt_max"] > 2


def test_prompt_ids_in_the_store_match_the_definition(store):
    table = store.read(columns=["prompt_id", "messages"])
    for pid, messages in zip(
        table.column("prompt_id").to_pylist(), table.column("messages").to_pylist()
    ):
        assert pid == prompt_id([(m["role"], m["content"]) for m in messages])
    assert len(np.unique(table.column("prompt_id").to_numpy(zero_copy_only=False))) == 6
