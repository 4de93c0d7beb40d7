"""``curate select`` as a sink: locks, what ``--overwrite`` may replace, which folders it
refuses, option checks, and the names of its score columns.

The store is built directly (a tag, a score and a dedup sidecar written with
:class:`curate.store.SidecarWriter`), so these tests need no model.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.errors import CurateError
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.select.stage import SelectOptions, run_select
from curate.store import SidecarWriter, Store
from tests.conftest import REPO, write_jsonl

SCORER = "skywork-reward"  # a key that is not an identifier: its column is skywork_reward_score


def build_store(root):
    records = [
        {
            "messages": [
                {"role": "user", "content": f"Question {i}: how do I do thing {i}?"},
                {"role": "assistant", "content": "Do it like this. " * (1 + i % 5) + str(i)},
            ]
        }
        for i in range(30)
    ]
    write_jsonl(root.parent / f"{root.name}.jsonl", records)
    Ingestor(
        [str(root.parent / f"{root.name}.jsonl")], root, IngestOptions(shard_size=10), workers=0
    ).run()
    store = Store.open(root)
    writers = {
        "tag.synthetic": SidecarWriter(store, "tag.synthetic", {"synthetic": 1}),
        f"score.{SCORER}": SidecarWriter(store, f"score.{SCORER}", {"synthetic": 1}),
        "dedup": SidecarWriter(store, "dedup", {"synthetic": 1}),
    }
    for index in range(store.num_shards):
        shard = store.read_shard(index, columns=["id", "n_chars"])
        n = shard.num_rows
        tags = [["alpha"] if (index * 10 + i) % 2 else ["beta", "alpha"] for i in range(n)]
        columns = {
            "tag.synthetic": {
                "tags": pa.array(tags, pa.list_(pa.string())),
                "tag_primary": pa.array([t[0] for t in tags]),
            },
            f"score.{SCORER}": {
                "skywork_reward_score": pa.array(
                    shard.column("n_chars").to_numpy().astype(np.float64)
                ),
                "skywork_reward_status": pa.array(["ok"] * n),
            },
            "dedup": {"dup_keep": pa.array([not (index == 0 and i == 0) for i in range(n)])},
        }
        for name, writer in writers.items():
            writer.write(index, pa.table({"id": shard.column("id"), **columns[name]}))
    for writer in writers.values():
        writer.finish()
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("sinks") / "store")


def curate(*args, cwd=None):
    return subprocess.run(  # UTF-8 both ways, whatever the locale
        [sys.executable, "-X", "utf8", "-m", "curate", *map(str, args)],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def one_red_line(proc) -> str:
    """The error line of a failed command: exit 1, one ``error:`` line, no traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return " ".join(errors[0].split())  # whatever the terminal width


# -- A1: locks -----------------------------------------------------------------------------


def test_select_waits_for_no_stage_it_takes_the_store_lock(store, tmp_path):
    """A select while another command (dedup --overwrite, say) holds the store is refused."""
    with store.lock():  # what `curate dedup --overwrite` holds while it rewrites its sidecar
        with pytest.raises(CurateError, match="in use"):
            run_select(store, SelectOptions(per_tag=3), tmp_path / "out")
        line = one_red_line(curate("select", store.root, "-o", tmp_path / "out2"))
        assert "in use" in line
    assert not (tmp_path / "out").exists() and not (tmp_path / "out2").exists()
    assert run_select(store, SelectOptions(per_tag=3), tmp_path / "out").selected > 0


def test_the_store_stays_locked_while_select_reads_it(store, tmp_path, monkeypatch):
    import curate.select.stage as stage

    original = stage.write_outputs
    seen = {}

    def write_outputs(*args, **kwargs):
        try:
            with store.lock():
                seen["locked"] = False
        except CurateError:
            seen["locked"] = True
        return original(*args, **kwargs)

    monkeypatch.setattr(stage, "write_outputs", write_outputs)
    run_select(store, SelectOptions(per_tag=3), tmp_path / "out")
    assert seen == {"locked": True}


def test_two_selections_from_two_stores_cannot_write_one_folder(store, tmp_path, monkeypatch):
    import curate.select.stage as stage

    other = Store.open(shutil.copytree(store.root, tmp_path / "other-store"))
    out = tmp_path / "out"
    original = stage.write_outputs
    second = {}

    def write_outputs(*args, **kwargs):
        if not second:  # while the first selection writes, a second one starts
            second["result"] = "started"
            try:
                run_select(other, SelectOptions(per_tag=1), out)
                second["result"] = "wrote"
            except CurateError as exc:
                second["result"] = str(exc)
        return original(*args, **kwargs)

    monkeypatch.setattr(stage, "write_outputs", write_outputs)
    first = run_select(store, SelectOptions(per_tag=3), out)
    assert "being written by another selection" in second["result"]
    report = json.loads((out / "report.json").read_text())
    assert report["store"] == str(store.root) and report["selected"] == first.selected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other-store", "out"]  # no lock left


def test_the_output_lock_refuses_a_second_writer(tmp_path):
    from curate.select.stage import output_lock

    out = tmp_path / "out"
    with output_lock(out), pytest.raises(CurateError, match="another selection"):  # noqa: SIM117
        with output_lock(out):
            pass
    with output_lock(out):  # released, and its file removed
        pass
    assert list(tmp_path.iterdir()) == []


# -- A2: --overwrite replaces only what the selection wrote ---------------------------------


def test_overwrite_keeps_the_users_files(store, tmp_path):
    out = tmp_path / "out"
    first = run_select(store, SelectOptions(per_tag=4), out)
    assert first.report["files"] == ["report.json", "subset.jsonl", "subset.parquet"]
    (out / "notes.txt").write_text("mine")
    (out / "mine").mkdir()
    (out / "mine" / "keep.txt").write_text("also mine")
    again = run_select(store, SelectOptions(per_tag=1), out, overwrite=True)
    assert again.selected < first.selected
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "mine" / "keep.txt").read_text() == "also mine"
    assert len((out / "subset.jsonl").read_text().splitlines()) == again.selected
    assert json.loads((out / "report.json").read_text())["selected"] == again.selected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging or old folder
    # the user's files do not make it a selection of another kind: a rerun is a no-op
    assert run_select(store, SelectOptions(per_tag=1), out).already_done


def test_a_bare_report_json_is_not_a_selection(store, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("{}")
    (out / "data.jsonl").write_text('{"mine": 1}\n')
    with pytest.raises(CurateError, match="not a curate selection"):
        run_select(store, SelectOptions(per_tag=2), out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["data.jsonl", "report.json"]
    assert (out / "report.json").read_text() == "{}"
    line = one_red_line(curate("select", store.root, "-o", out, "--overwrite"))
    assert "not a curate selection" in line
    assert (out / "data.jsonl").read_text() == '{"mine": 1}\n'


def test_a_file_the_selection_did_not_write_is_never_clobbered(store, tmp_path):
    pytest.importorskip("datasets")
    out = tmp_path / "out"
    run_select(store, SelectOptions(per_tag=2), out)
    (out / "dataset").mkdir()  # the user's own folder, named as --hf would write
    (out / "dataset" / "x.txt").write_text("mine")
    with pytest.raises(CurateError, match="did not write"):
        run_select(store, SelectOptions(per_tag=2, hf=True), out, overwrite=True)
    assert (out / "dataset" / "x.txt").read_text() == "mine"


def test_a_selection_written_before_report_listed_its_files_is_replaced(store, tmp_path):
    out = tmp_path / "out"
    run_select(store, SelectOptions(per_tag=2), out)
    report = json.loads((out / "report.json").read_text())
    del report["files"]
    (out / "report.json").write_text(json.dumps(report))
    again = run_select(store, SelectOptions(per_tag=1), out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == [
        "report.json",
        "subset.jsonl",
        "subset.parquet",
    ]
    assert json.loads((out / "report.json").read_text())["selected"] == again.selected


# -- B3: folders select refuses ------------------------------------------------------------


def test_output_folder_is_never_the_store_or_around_it(store, tmp_path, monkeypatch):
    before = sorted(str(p) for p in store.root.rglob("*"))
    for out, says in [
        (store.root, "one of its tables"),
        (store.root / "base", "one of its tables"),
        (store.root / "sidecars" / "x", "one of its tables"),
        (store.root.parent, "holds the store"),
    ]:
        with pytest.raises(CurateError, match=says):
            run_select(store, SelectOptions(per_tag=2), out, overwrite=True)
    assert sorted(str(p) for p in store.root.rglob("*")) == before
    empty = tmp_path / "cwd"
    empty.mkdir()
    monkeypatch.chdir(empty)
    with pytest.raises(CurateError, match="current directory"):
        run_select(store, SelectOptions(per_tag=2), ".")
    assert list(empty.iterdir()) == [] and (tmp_path / "cwd").is_dir()
    line = one_red_line(curate("select", store.root, "-o", ".", cwd=empty))
    assert "current directory" in line
    line = one_red_line(curate("select", store.root, "-o", "store", cwd=store.root.parent))
    assert "one of its tables" in line
    # a folder of its own inside the store is where the README's config writes the subset
    inside = run_select(store, SelectOptions(per_tag=2), store.root / "subset")
    assert inside.selected > 0 and (store.root / "subset" / "subset.jsonl").is_file()


def test_a_non_empty_folder_that_is_not_a_selection_is_refused(store, tmp_path):
    out = tmp_path / "project"
    out.mkdir()
    (out / "train.py").write_text("print('mine')")
    for overwrite in (False, True):
        with pytest.raises(CurateError, match="not a curate selection"):
            run_select(store, SelectOptions(per_tag=2), out, overwrite=overwrite)
    assert [p.name for p in out.iterdir()] == ["train.py"]
    # an empty folder of the user's is written into (and stays the user's folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    inode = empty.stat().st_ino
    run_select(store, SelectOptions(per_tag=2), empty)
    assert empty.stat().st_ino == inode and (empty / "subset.jsonl").is_file()


# -- B4, B5: options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "shares, total, says",
    [
        ({"en": 1.5}, 10, "between 0 and 1"),
        ({"en": -0.1}, 10, "between 0 and 1"),
        ({"en": float("nan")}, 10, "between 0 and 1"),
        ({"en": 0.7, "ru": 0.6}, 10, "over 1"),
        ({"en": 0.5}, None, "--total"),
    ],
)
def test_language_shares_are_checked(store, tmp_path, shares, total, says):
    with pytest.raises(CurateError, match=says):
        run_select(store, SelectOptions(per_tag=2, total=total, lang_shares=shares), tmp_path / "o")
    assert not (tmp_path / "o").exists()


def test_language_share_errors_on_the_command_line(store, tmp_path):
    out = tmp_path / "o"
    line = one_red_line(curate("select", store.root, "-o", out, "--lang-share", "en=0.5"))
    assert "--lang-share" in line and "--total" in line
    line = one_red_line(
        curate("select", store.root, "-o", out, "--total", "5", "--lang-share", "en=0.8,ru=0.7")
    )
    assert "--lang-share" in line and "over 1" in line
    line = one_red_line(curate("select", store.root, "-o", out, "--lang-share", "en=lots"))
    assert "--lang-share" in line and "number" in line
    # the old name of the option is gone (export's --lang filter keeps its name)
    line = one_red_line(curate("select", store.root, "-o", out, "--lang", "en=0.5"))
    assert "--lang" in line and "no such option" in line.lower()
    assert not out.exists()


def test_weights_need_a_positive_weight(store, tmp_path):
    for weights, says in (({SCORER: 0.0}, "positive weight"), ({SCORER: -1.0}, "0 or more")):
        with pytest.raises(CurateError, match=says):
            run_select(store, SelectOptions(per_tag=2, weights=weights), tmp_path / "o")
    line = one_red_line(
        curate("select", store.root, "-o", tmp_path / "o", "--weights", f"{SCORER}=0")
    )
    assert "--weights" in line and "positive" in line
    assert not (tmp_path / "o").exists()


# -- C1, C2: names ------------------------------------------------------------------------


def test_score_columns_have_the_sidecar_name_everywhere(store, tmp_path):
    from curate import names

    column = names.score_column(SCORER)
    assert column == "skywork_reward_score"
    result = run_select(store, SelectOptions(per_tag=3), tmp_path / "out")
    subset = pq.read_table(tmp_path / "out" / "subset.parquet")
    assert column in subset.column_names and f"{SCORER}_score" not in subset.column_names
    assert subset.column(column).null_count == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert list(report["scores"]) == [column] == list(result.report["scores"])


def test_output_format_option(store, tmp_path):
    proc = curate(
        "select", store.root, "-o", tmp_path / "o", "--per-tag", "2", "--output-format", "sharegpt"
    )
    assert proc.returncode == 0, proc.stderr
    first = json.loads((tmp_path / "o" / "subset.jsonl").read_text().splitlines()[0])
    assert set(first) == {"id", "conversations"}
    line = one_red_line(curate("select", store.root, "-o", tmp_path / "p", "--format", "sharegpt"))
    assert "no such option" in line.lower()
