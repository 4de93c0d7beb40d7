"""``curate select`` on a store: eligibility, quotas, scores, outputs, report, determinism."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.cli import cli
from curate.dedup.stage import DedupOptions, run_dedup
from curate.embed.stage import EmbedOptions, run_embed
from curate.errors import CurateError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.select.stage import SelectOptions, run_select
from curate.store import Store
from curate.tag.stage import run_cluster_tag
from curate.testing.scores import write_scores
from taggers.cluster import ClusterParams
from tests.conftest import write_jsonl

TOPICS = {
    "bread": ["How do I bake sourdough bread", "Как испечь хлеб на закваске", "如何在家烤面包"],
    "python": [
        "How do I sort a list in Python",
        "Как отсортировать список в Python",
        "如何用 Python 排序列表",
    ],
}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("select")
    records = []
    for i in range(8):
        for questions in TOPICS.values():
            for q in questions:
                answer = "Step one, then step two. " * (1 + i % 4)
                records.append(
                    {
                        "messages": [
                            {"role": "user", "content": f"{q}? ({i})"},
                            {"role": "assistant", "content": answer},
                        ]
                    }
                )
    records.append(
        dict(
            records[0],
            messages=[
                records[0]["messages"][0],
                {"role": "assistant", "content": "Step one, then step two!"},
            ],
        )
    )
    write_jsonl(root / "in.jsonl", records)
    Ingestor(
        [str(root / "in.jsonl")], root / "store", IngestOptions(shard_size=20), workers=0
    ).run()
    st = Store.open(root / "store")
    run_cluster_tag(st, ClusterParams(clusters=2))
    # a score: longer answers better, one failed score (null)
    lengths = st.read(columns=["n_chars"]).column("n_chars").to_pylist()
    write_scores(st, "fake", [None, *lengths[1:]])
    run_embed(st, EmbedOptions())  # dedup reads whole conversations (the tagger: user turns)
    run_dedup(st, DedupOptions(threshold=0.98, cross_lingual_threshold=0.98))
    return st


def test_selects_per_tag_with_reasons_and_a_report(store, tmp_path):
    result = run_select(store, SelectOptions(per_tag=5), tmp_path / "out")
    report = result.report
    assert result.selected == 10 and report["stop"] == "quotas"
    assert report["excluded"]["dedup"] >= 1  # the near-copy of row 0
    assert {t["tag"] for t in report["per_tag"]} == {
        r["tag"] for r in store.manifest("sidecar.tag.cluster")["tag_table"]
    }
    subset = pq.read_table(tmp_path / "out" / "subset.parquet")
    assert subset.num_rows == 10 and set(subset.column_names) >= {
        "id",
        "messages",
        "bucket",
        "rank",
        "combined_score",
        "reason",
        "fake_score",
    }
    dedup = store.read(columns=["id"], sidecars=["dedup"])
    dropped = {
        i
        for i, keep in zip(dedup.column("id").to_pylist(), dedup.column("dup_keep").to_pylist())
        if not keep
    }
    assert not dropped & set(subset.column("id").to_pylist())
    for bucket in set(subset.column("bucket").to_pylist()):
        rows = [r for r in subset.to_pylist() if r["bucket"] == bucket]
        assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
        scores = [r["combined_score"] for r in rows]
        assert scores == sorted(scores, reverse=True)  # best first within a tag
    lines = (tmp_path / "out" / "subset.jsonl").read_text().splitlines()
    assert len(lines) == 10 and set(json.loads(lines[0])) == {"id", "messages"}
    assert json.loads((tmp_path / "out" / "report.json").read_text())["selected"] == 10


def test_failed_scores_others_or_exclude(store, tmp_path):
    # per_prompt=None: by default the failed row would lose to the other answer of its prompt
    others = run_select(store, SelectOptions(per_tag=None, per_prompt=None), tmp_path / "a").report
    exclude = run_select(
        store, SelectOptions(per_tag=None, per_prompt=None, missing="exclude"), tmp_path / "b"
    ).report
    assert others["excluded"]["no_score"] == 1 and others["selected"] == exclude["selected"]
    # with a single score, a row whose score failed has nothing to be ranked by either way


def test_same_inputs_same_files_and_sharegpt(store, tmp_path):
    run_select(store, SelectOptions(per_tag=4, output_format="sharegpt"), tmp_path / "a")
    run_select(store, SelectOptions(per_tag=4, output_format="sharegpt"), tmp_path / "b")
    assert (tmp_path / "a" / "subset.jsonl").read_bytes() == (
        tmp_path / "b" / "subset.jsonl"
    ).read_bytes()
    assert "conversations" in json.loads(
        (tmp_path / "a" / "subset.jsonl").read_text().splitlines()[0]
    )


def test_total_cap_tau_filter_and_errors(store, tmp_path):
    capped = run_select(store, SelectOptions(per_tag=None, total=7), tmp_path / "cap")
    assert capped.selected == 7 and capped.report["stop"] == "total"
    loose = run_select(store, SelectOptions(per_tag=None), tmp_path / "loose").selected
    strict = run_select(store, SelectOptions(per_tag=None, tau=0.8), tmp_path / "tau")
    assert strict.selected < loose and strict.report["excluded"]["similar_to_selected"] > 0
    with pytest.raises(CurateError, match="another selection"):
        run_select(store, SelectOptions(), tmp_path / "cap")
    with pytest.raises(CurateError, match="--weights names"):
        run_select(store, SelectOptions(weights={"armorm": 1.0}), tmp_path / "w")


def test_rerun_is_skipped_overwrite_replaces_only_a_selection(store, tmp_path):
    options = SelectOptions(per_tag=3)
    first = run_select(store, options, tmp_path / "out")
    assert not first.already_done and first.report["inputs"]["base"]
    again = run_select(store, options, tmp_path / "out")
    assert again.already_done and again.selected == first.selected
    # another selection into the same folder: refused, then replaced whole with --overwrite
    with pytest.raises(CurateError, match="--overwrite"):
        run_select(store, SelectOptions(per_tag=1), tmp_path / "out")
    (tmp_path / "out" / "dataset").mkdir()  # not written by the selection: the user's
    replaced = run_select(store, SelectOptions(per_tag=1), tmp_path / "out", overwrite=True)
    assert not replaced.already_done and replaced.selected < first.selected
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "dataset",
        "report.json",
        "subset.jsonl",
        "subset.parquet",
    ]
    (tmp_path / "out" / "dataset").rmdir()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no staging folder left behind
    # a folder that holds something else is never replaced
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(CurateError, match="not a curate selection"):
        run_select(store, options, tmp_path / "other", overwrite=True)
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine"


def test_a_killed_selection_leaves_the_old_output_whole(store, tmp_path, monkeypatch):
    import curate.select.stage as stage

    run_select(store, SelectOptions(per_tag=3), tmp_path / "out")
    before = (tmp_path / "out" / "subset.jsonl").read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(stage, "_swap_in", killed)
    with pytest.raises(KeyboardInterrupt):
        run_select(store, SelectOptions(per_tag=1), tmp_path / "out", overwrite=True)
    monkeypatch.undo()
    assert (tmp_path / "out" / "subset.jsonl").read_bytes() == before
    done = run_select(store, SelectOptions(per_tag=1), tmp_path / "out", overwrite=True)
    assert done.selected < 6 and not (tmp_path / ".out.partial").exists()


def test_cli(store, tmp_path):
    out = CliRunner().invoke(
        cli,
        [
            "select",
            str(store.root),
            "-o",
            str(tmp_path / "o"),
            "--per-tag",
            "3",
            "--weights",
            "fake=1",
        ],
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # independent of where a terminal would wrap
    assert "6 selected" in text and "subset.jsonl" in text


def test_seed_changes_only_the_order_among_equal_scores(store, tmp_path):
    from curate.select.stage import tie_keys

    ids = np.array(["b", "a", "c"])
    assert tie_keys(ids, None) is ids
    assert (tie_keys(ids, 1) == tie_keys(ids, 1)).all() and len(set(tie_keys(ids, 1))) == 3

    def top(seed, name):
        options = SelectOptions(per_tag=1, include_duplicates=True, seed=seed)
        subset = pq.read_table(
            run_select(store, options, tmp_path / name).output / "subset.parquet"
        )
        return subset.sort_by("bucket").to_pylist()

    plain = top(None, "plain")
    pool = store.read(columns=["id", "n_chars"], sidecars=["tag.cluster"]).to_pylist()
    for row in plain:  # the best of each tag; the answers of rounds i and i+4 tie
        tied = [
            r["id"]
            for r in pool
            if row["bucket"] in r["tags"] and r["n_chars"] == row["fake_score"]
        ]
        assert len(tied) >= 2 and row["id"] == min(tied)
    seeded = [top(seed, f"s{seed}") for seed in range(8)]
    assert seeded[3] == top(3, "again")
    picks = {tuple(r["id"] for r in rows) for rows in seeded}
    assert len(picks) > 1  # another order among equals...
    for rows in seeded:  # ...never a worse conversation
        assert [r["fake_score"] for r in rows] == [r["fake_score"] for r in plain]


def test_hugging_face_datasets_folder(store, tmp_path, monkeypatch):
    datasets = pytest.importorskip("datasets")
    result = run_select(store, SelectOptions(per_tag=3, hf=True), tmp_path / "out")
    loaded = datasets.load_from_disk(str(tmp_path / "out" / "dataset"))
    subset = pq.read_table(tmp_path / "out" / "subset.parquet")
    assert loaded.num_rows == result.selected == subset.num_rows
    assert loaded["id"] == subset.column("id").to_pylist()
    assert loaded[0]["messages"] == subset.column("messages")[0].as_py()
    assert run_select(store, SelectOptions(per_tag=3, hf=True), tmp_path / "out").already_done
    import sys

    monkeypatch.setitem(sys.modules, "datasets", None)  # not installed
    with pytest.raises(CurateError, match="pip install datasets"):
        run_select(store, SelectOptions(per_tag=2, hf=True), tmp_path / "other")
    assert not (tmp_path / "other").exists() and not (tmp_path / ".other.partial").exists()
