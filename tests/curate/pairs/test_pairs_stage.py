"""``curate pairs`` on a store with several scored answers per prompt: the exact pairs of each
--rejected mode, ties, margins, weights, ingested preference records, dedup, determinism,
reruns and the output folder's safety."""

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from curate.cli import cli, main
from curate.errors import CurateError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.pairs.stage import PairsOptions, run_pairs
from curate.select.stage import SelectOptions, run_select
from curate.store import SidecarWriter, Store
from curate.testing.scores import write_scores
from tests.conftest import write_jsonl
from tests.curate.pairs.conftest import (
    SCORES,
    SECOND,
    answer,
    build_store,
    question,
    values_of,
)


def ids_by_answer(store) -> dict[str, str]:
    table = store.read(columns=["id", "messages"]).to_pylist()
    return {r["messages"][-1]["content"]: r["id"] for r in table if len(r["messages"]) > 1}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("pairs"))


def copy_store(store, path):
    return Store.open(shutil.copytree(store.root, path))


def read_pairs(out) -> list[dict]:
    return pq.read_table(out / "pairs.parquet").to_pylist()


def scored(rows, q=None):
    """(chosen answer k, rejected answer k, margin) of the scored pairs (of prompt q)."""
    out = []
    for r in rows:
        if r["origin"] != "scored":
            continue
        if q is not None and not r["prompt"][0]["content"].startswith(question(q)):
            continue
        k_c = int(r["chosen"][0]["content"].split()[1])
        k_r = int(r["rejected"][0]["content"].split()[1])
        out.append((k_c, k_r, r["margin"]))
    return out


def test_worst_pairs_exact_with_a_report(store, tmp_path):
    result = run_pairs(store, PairsOptions(), tmp_path / "out")
    rows = read_pairs(tmp_path / "out")
    assert scored(rows, "q0") == [(0, 1, 3.0)]
    assert scored(rows, "q4") == [(0, 2, 4.0)]
    assert scored(rows, "q5") == [(0, 1, 0.5)]
    # q1 ties, q6 the best against the worst: the two 3.0s tie, the one with the smaller id wins
    ids = ids_by_answer(store)
    best6 = min(answer("q6", 0), answer("q6", 1), key=lambda a: ids[a])
    q6 = [r for r in rows if r["prompt"][0]["content"] == question("q6")]
    assert len(q6) == 1 and q6[0]["chosen"][0]["content"] == best6
    assert q6[0]["rejected"][0]["content"] == answer("q6", 2)
    assert scored(rows, "q1") == [] and scored(rows, "q2") == [] and scored(rows, "q3") == []
    report = result.report
    assert report["kind"] == "pairs" and report["margin_unit"] == "a"
    assert report["counts"]["by_origin"] == {"scored": 4, "ingested": 1}
    assert report["pairs"] == result.pairs == len(rows) == 5
    assert report["counts"]["prompts_with_two_scored"] == 5  # q0 q1 q4 q5 q6
    dropped = report["dropped"]
    assert dropped["tie"] == 1 and dropped["single_answer"] == 2  # q1; q2 and q3
    assert dropped["missing_score"] == 1 and dropped["no_answer"] == 1
    assert dropped["preference_tie"] == 1 and dropped["dedup"] == 0
    assert report["margins"]["n"] == 4 and report["margins"]["max"] == 4.0
    assert report["files"] == ["pairs.jsonl", "pairs.parquet", "report.json"]
    assert report["per_language"] == {"en": 5} and report["per_tag"] == {}
    # the parquet's columns and types; the jsonl is TRL's format plus an id
    table = pq.read_table(tmp_path / "out" / "pairs.parquet")
    assert table.column_names == [
        "id",
        "prompt",
        "chosen",
        "rejected",
        "prompt_id",
        "chosen_id",
        "rejected_id",
        "origin",
        "chosen_score",
        "rejected_score",
        "margin",
        "lang",
        "tags",
    ]
    assert table.schema.field("prompt").type == pa.list_(
        pa.struct([("role", pa.string()), ("content", pa.string())])
    )
    lines = [json.loads(x) for x in (tmp_path / "out" / "pairs.jsonl").read_text().splitlines()]
    assert [set(x) for x in lines] == [{"id", "prompt", "chosen", "rejected"}] * 5
    assert [x["id"] for x in lines] == table.column("id").to_pylist()
    assert len(set(table.column("id").to_pylist())) == 5
    first = lines[0]
    assert first["prompt"] == [{"role": "user", "content": question("q0")}]
    assert first["chosen"] == [{"role": "assistant", "content": answer("q0", 0)}]
    assert first["rejected"] == [{"role": "assistant", "content": answer("q0", 1)}]
    for r in rows:
        if r["origin"] == "scored":
            assert r["chosen_id"] == ids[r["chosen"][0]["content"]]
            assert r["rejected_id"] == ids[r["rejected"][0]["content"]]
            assert r["margin"] == r["chosen_score"] - r["rejected_score"] > 0


def test_ingested_records_pass_through_and_ties_are_dropped(store, tmp_path):
    run_pairs(store, PairsOptions(), tmp_path / "out")
    ingested = [r for r in read_pairs(tmp_path / "out") if r["origin"] == "ingested"]
    assert len(ingested) == 1
    (r,) = ingested
    assert r["prompt"] == [{"role": "user", "content": "Explain photosynthesis in one sentence."}]
    assert r["chosen"] == [
        {"role": "assistant", "content": "Plants turn light, water and CO2 into sugar."}
    ]
    assert r["rejected"] == [{"role": "assistant", "content": "It is a plant thing."}]
    assert r["rejected_id"] is None and r["margin"] is None and r["chosen_score"] is None
    without = run_pairs(store, PairsOptions(ingested=False), tmp_path / "no").report
    assert without["counts"]["by_origin"] == {"scored": 4, "ingested": 0}
    assert "preference_tie" not in without["dropped"]


def test_two_worst_and_below_median(store, tmp_path):
    rows = read_pairs(run_pairs(store, PairsOptions(rejected="2-worst"), tmp_path / "a").output)
    assert scored(rows, "q0") == [(0, 1, 3.0), (0, 3, 2.0)]
    assert scored(rows, "q4") == [(0, 2, 4.0), (0, 3, 3.5)]
    assert scored(rows, "q5") == [(0, 1, 0.5)]  # two answers: one pair
    assert len(scored(rows, "q6")) == 1  # the second worst ties with the best: dropped
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    assert report["dropped"]["tie"] == 2 + 1  # q1 twice, q6 once
    rows = read_pairs(
        run_pairs(store, PairsOptions(rejected="below-median"), tmp_path / "b").output
    )
    assert scored(rows, "q0") == [(0, 1, 3.0), (0, 3, 2.0)]  # median 2.5
    assert scored(rows, "q4") == [(0, 2, 4.0), (0, 3, 3.5)]  # median 8
    assert scored(rows, "q5") == [(0, 1, 0.5)]  # median 1.75
    assert len(scored(rows, "q6")) == 1 and scored(rows, "q1") == []  # nothing below 5


def test_min_margin(store, tmp_path):
    report = run_pairs(store, PairsOptions(min_margin=2.0), tmp_path / "m").report
    rows = read_pairs(tmp_path / "m")
    assert sorted(m for _, _, m in scored(rows)) == [2.0, 3.0, 4.0]  # >= 2: q6's 2.0 stays
    assert report["dropped"]["below_min_margin"] == 1  # q5's 0.5
    assert report["dropped"]["tie"] == 1
    with pytest.raises(CurateError, match="--min-margin"):
        run_pairs(store, PairsOptions(min_margin=-1.0), tmp_path / "neg")


def test_weights_with_two_scores(store, tmp_path):
    two = copy_store(store, tmp_path / "two")
    write_scores(two, "b", values_of(two, SECOND))
    # b alone: raw b units
    only_b = run_pairs(two, PairsOptions(weights={"a": 0, "b": 1}), tmp_path / "b").report
    rows = read_pairs(tmp_path / "b")
    assert only_b["margin_unit"] == "b"
    assert scored(rows, "q0") == [(1, 0, 9.0)] and scored(rows, "q5") == [(1, 0, 2.0)]
    # both: the weighted mean of scores standardized across the eligible pool
    report = run_pairs(two, PairsOptions(weights={"a": 1, "b": 3}), tmp_path / "ab").report
    assert report["margin_unit"] == "pool standard deviations"
    assert report["weights"] == {"a": 1.0, "b": 3.0}
    a = np.array([v for vs in SCORES.values() for v in vs], dtype=float)
    b = np.array([v for vs in SECOND.values() for v in vs], dtype=float)

    def z(x):
        ok = ~np.isnan(x)
        return (x - x[ok].mean()) / x[ok].std()

    za, zb = z(a), z(b)
    combined = np.where(np.isnan(za), zb, (za + 3 * zb) / 4)
    offsets = np.cumsum([0, *map(len, SCORES.values())])
    q0 = combined[offsets[0] : offsets[1]]
    best, worst = int(np.argmax(q0)), int(np.argmin(q0))
    ((k_c, k_r, margin),) = scored(read_pairs(tmp_path / "ab"), "q0")
    assert (k_c, k_r) == (best, worst)
    assert margin == pytest.approx(q0[best] - q0[worst], abs=1e-9)
    # q3's failed a-score: ranked by b alone with missing=others, left out with exclude
    excl = run_pairs(
        two, PairsOptions(weights={"a": 1, "b": 1}, missing="exclude"), tmp_path / "x"
    ).report
    others = run_pairs(two, PairsOptions(weights={"a": 1, "b": 1}), tmp_path / "o").report
    assert excl["dropped"]["missing_score"] == 1 and others["dropped"]["missing_score"] == 0
    with pytest.raises(CurateError, match="--weights names"):
        run_pairs(two, PairsOptions(weights={"armorm": 1}), tmp_path / "w")
    with pytest.raises(CurateError, match="positive weight"):
        run_pairs(two, PairsOptions(weights={"a": 0, "b": 0}), tmp_path / "w")


def test_dedup_marks_and_tags(store, tmp_path):
    st = copy_store(store, tmp_path / "dedup")
    ids = ids_by_answer(st)
    dropped = ids[answer("q0", 1)]  # the worst answer to q0
    writers = {
        "dedup": SidecarWriter(st, "dedup", {"synthetic": 1}),
        "tag.synthetic": SidecarWriter(st, "tag.synthetic", {"synthetic": 1}),
    }
    for index in range(st.num_shards):
        shard = st.read_shard(index, columns=["id"])
        row_ids = shard.column("id").to_pylist()
        writers["dedup"].write(
            index, pa.table({"id": shard.column("id"), "dup_keep": [i != dropped for i in row_ids]})
        )
        tags = [["even"] if int(i, 16) % 2 == 0 else ["odd", "even"] for i in row_ids]
        writers["tag.synthetic"].write(
            index,
            pa.table(
                {
                    "id": shard.column("id"),
                    "tags": pa.array(tags, pa.list_(pa.string())),
                    "tag_primary": [t[0] for t in tags],
                }
            ),
        )
    for writer in writers.values():
        writer.finish()
    report = run_pairs(st, PairsOptions(), tmp_path / "out").report
    rows = read_pairs(tmp_path / "out")
    assert report["dropped"]["dedup"] == 1 and report["dedup"] == "applied"
    assert scored(rows, "q0") == [(0, 3, 2.0)]  # the next worst
    assert all(r["tags"] for r in rows) and report["per_tag"]["even"] == len(rows)
    assert report["tags_from"] == "tag.synthetic"
    everything = run_pairs(st, PairsOptions(include_duplicates=True), tmp_path / "all")
    assert scored(read_pairs(everything.output), "q0") == [(0, 1, 3.0)]
    assert everything.report["dedup"] == "ignored (--include-duplicates)"


def test_same_store_and_options_give_the_same_bytes(store, tmp_path):
    options = PairsOptions(rejected="below-median")
    run_pairs(store, options, tmp_path / "a")
    run_pairs(store, options, tmp_path / "b")
    for name in ("pairs.jsonl", "pairs.parquet"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_rerun_is_a_no_op_other_options_need_overwrite(store, tmp_path):
    out = tmp_path / "out"
    first = run_pairs(store, PairsOptions(), out)
    assert not first.already_done and first.report["inputs"]["base"]
    mtime = (out / "pairs.parquet").stat().st_mtime_ns
    again = run_pairs(store, PairsOptions(), out)
    assert again.already_done and again.pairs == first.pairs
    assert (out / "pairs.parquet").stat().st_mtime_ns == mtime
    with pytest.raises(CurateError, match="--overwrite"):
        run_pairs(store, PairsOptions(rejected="2-worst"), out)
    (out / "notes.txt").write_text("mine")
    replaced = run_pairs(store, PairsOptions(rejected="2-worst"), out, overwrite=True)
    assert replaced.pairs > first.pairs and (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging, lock or old
    # new scores: the store results changed, so the same options are a different run
    st = copy_store(store, tmp_path / "copy")
    run_pairs(st, PairsOptions(), tmp_path / "c")
    write_scores(st, "a", values_of(st, SECOND), overwrite=True, params={"v": 2})
    with pytest.raises(CurateError, match="--overwrite"):
        run_pairs(st, PairsOptions(), tmp_path / "c")


def test_the_output_folder_is_never_the_store_or_a_foreign_folder(store, tmp_path, monkeypatch):
    before = sorted(str(p) for p in store.root.rglob("*"))
    for out, says in [
        (store.root, "one of its tables"),
        (store.root / "base", "one of its tables"),
        (store.root.parent, "holds the store"),
    ]:
        with pytest.raises(CurateError, match=says):
            run_pairs(store, PairsOptions(), out, overwrite=True)
    assert sorted(str(p) for p in store.root.rglob("*")) == before
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "train.py").write_text("print('mine')")
    for overwrite in (False, True):
        with pytest.raises(CurateError, match="not the output of `curate pairs`"):
            run_pairs(store, PairsOptions(), foreign, overwrite=overwrite)
    assert [p.name for p in foreign.iterdir()] == ["train.py"]
    # a selection's folder is not pairs, and pairs are not a selection
    tagged = copy_store(store, tmp_path / "tagged")
    writer = SidecarWriter(tagged, "tag.synthetic", {"synthetic": 1})
    for index in range(tagged.num_shards):
        shard = tagged.read_shard(index, columns=["id"])
        writer.write(
            index,
            pa.table(
                {
                    "id": shard.column("id"),
                    "tags": pa.array([["t"]] * shard.num_rows, pa.list_(pa.string())),
                    "tag_primary": ["t"] * shard.num_rows,
                }
            ),
        )
    writer.finish()
    run_select(tagged, SelectOptions(per_tag=2), tmp_path / "subset")
    with pytest.raises(CurateError, match="not the output of `curate pairs`"):
        run_pairs(tagged, PairsOptions(), tmp_path / "subset", overwrite=True)
    run_pairs(tagged, PairsOptions(), tmp_path / "pairs")
    with pytest.raises(CurateError, match="not a curate selection"):
        run_select(tagged, SelectOptions(per_tag=2), tmp_path / "pairs", overwrite=True)
    empty = tmp_path / "cwd"
    empty.mkdir()
    monkeypatch.chdir(empty)
    with pytest.raises(CurateError, match="current directory"):
        run_pairs(store, PairsOptions(), ".")
    # a folder of its own inside the store is fine
    inside = copy_store(store, tmp_path / "inside")
    assert run_pairs(inside, PairsOptions(), inside.root / "pairs").pairs == 5


def test_no_scores_and_no_preference_records_is_an_error(tmp_path):
    write_jsonl(
        tmp_path / "in.jsonl",
        [
            {"messages": [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": x}]}
            for x in ("Hello.", "Hi there.")
        ],
    )
    Ingestor([str(tmp_path / "in.jsonl")], tmp_path / "s", IngestOptions(), workers=0).run()
    with pytest.raises(CurateError, match="curate score"):
        run_pairs(Store.open(tmp_path / "s"), PairsOptions(), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli(store, tmp_path, capsys):
    out = CliRunner().invoke(
        cli, ["pairs", str(store.root), "-o", str(tmp_path / "o"), "--rejected", "2-worst"]
    )
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())  # whatever the terminal width
    assert "7 pairs" in text and "dropped: tie" in text and "margins (a)" in text
    assert len((tmp_path / "o" / "pairs.jsonl").read_text().splitlines()) == 7
    again = CliRunner().invoke(
        cli, ["pairs", str(store.root), "-o", str(tmp_path / "o"), "--rejected", "2-worst"]
    )
    assert again.exit_code == 0 and "nothing to do" in " ".join(again.output.split())
    config = tmp_path / "c.yaml"
    config.write_text("pairs:\n  rejected: below-median\n  min-margin: 1\n")
    via_config = CliRunner().invoke(
        cli, ["pairs", str(store.root), "-o", str(tmp_path / "c"), "--config", str(config), "-q"]
    )
    assert via_config.exit_code == 0, via_config.output
    options = json.loads((tmp_path / "c" / "report.json").read_text())["options"]
    assert options["rejected"] == "below-median" and options["min_margin"] == 1.0
    # a user error is one red line, exit 1
    for args, says in [
        (["--min-margin", "-1"], "--min-margin must be"),
        (["--confirm-with-judge"], "--judge-model"),
        (["--weights", "a=x"], "--weights takes numbers"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(["pairs", str(store.root), "-o", str(tmp_path / "err"), *args])
        err = capsys.readouterr().err
        assert exit_.value.code == 1 and "Traceback" not in err
        lines = [x for x in err.splitlines() if x.startswith("error:")]
        assert len(lines) == 1 and says in " ".join(err.split())
    assert not (tmp_path / "err").exists()


def test_hf_dataset_folder(store, tmp_path):
    datasets = pytest.importorskip("datasets")
    result = run_pairs(store, PairsOptions(hf=True), tmp_path / "hf")
    assert result.report["files"] == ["dataset", "pairs.jsonl", "pairs.parquet", "report.json"]
    loaded = datasets.load_from_disk(str(tmp_path / "hf" / "dataset"))
    assert len(loaded) == 5 and loaded[0]["chosen"] == read_pairs(tmp_path / "hf")[0]["chosen"]
    # without --hf again (--overwrite): the dataset folder, which pairs wrote, goes
    run_pairs(store, PairsOptions(), tmp_path / "hf", overwrite=True)
    assert sorted(p.name for p in (tmp_path / "hf").iterdir()) == [
        "pairs.jsonl",
        "pairs.parquet",
        "report.json",
    ]


def test_a_killed_run_leaves_the_old_pairs_whole_and_locks_hold(store, tmp_path, monkeypatch):
    from curate import sink

    out = tmp_path / "out"
    run_pairs(store, PairsOptions(), out)
    before = (out / "pairs.jsonl").read_bytes()

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sink, "swap_in", killed)
    with pytest.raises(KeyboardInterrupt):
        run_pairs(store, PairsOptions(rejected="2-worst"), out, overwrite=True)
    monkeypatch.undo()
    assert (out / "pairs.jsonl").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or lock left
    with store.lock(), pytest.raises(CurateError, match="in use"):
        run_pairs(store, PairsOptions(rejected="2-worst"), out, overwrite=True)
    with sink.output_lock(out), pytest.raises(CurateError, match="being written by another"):
        run_pairs(store, PairsOptions(rejected="2-worst"), out, overwrite=True)
    done = run_pairs(store, PairsOptions(rejected="2-worst"), out, overwrite=True)
    assert done.pairs == 7 and len((out / "pairs.jsonl").read_text().splitlines()) == 7
