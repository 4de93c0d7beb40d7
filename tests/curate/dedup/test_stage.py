"""curate dedup on real data: the positive control, cross-script pairs, conversation trees, resume."""

import shutil
import subprocess
import sys

import numpy as np
import orjson
import pyarrow.compute as pc
import pytest

from curate.dedup.stage import DedupOptions, run_dedup
from curate.errors import StageConflict
from curate.store import SidecarWriter, Store
from curate.testing.scores import write_scores
from tests.conftest import parquet_digests
from tests.curate.dedup.conftest import build_store


def rows_by_file(store: Store):
    table = store.read(columns=["id", "messages", "source"], sidecars=["dedup"])
    files = pc.struct_field(table.column("source"), "file").to_pylist()
    return table, files


def test_fastchat_dummy_is_mostly_near_duplicates(mixed_store):
    result = run_dedup(mixed_store, DedupOptions())
    table, files = rows_by_file(mixed_store)
    fastchat = [i for i, f in enumerate(files) if "fastchat_dummy" in f]
    keep = table.column("dup_keep").to_numpy(zero_copy_only=False)
    dropped = 1 - keep[fastchat].mean()
    assert dropped >= 0.75, dropped  # the README's estimate: ~92% near-duplicates
    assert result.dropped == int((~keep).sum())
    sims = table.column("dup_similarity").to_numpy(zero_copy_only=False)
    assert np.all(sims[keep] == 1.0)
    lang = dict(
        zip(
            table.column("id").to_pylist(),
            mixed_store.read(columns=["lang"]).column("lang").to_pylist(),
        )
    )
    same_language = np.array(
        [
            lang[i] == lang[g]
            for i, g in zip(table.column("id").to_pylist(), table.column("dup_group").to_pylist())
        ]
    )
    assert np.all(sims[~keep & same_language] >= 0.9) and np.all(sims[~keep] >= 0.8)
    assert result.search["cross_lingual_pairs"] > 0


def test_cross_script_pairs_are_grouped(mixed_store, shared_data):
    run_dedup(mixed_store, DedupOptions())
    table, files = rows_by_file(mixed_store)
    folder = shared_data / "prompts_zh_hans_hant"
    group = dict(zip(table.column("id").to_pylist(), table.column("dup_group").to_pylist()))
    first_turn = {}
    for row_id, messages in zip(
        table.column("id").to_pylist(), table.column("messages").to_pylist()
    ):
        first_turn.setdefault(messages[0]["content"], row_id)
    hans = [r["prompt"] for r in orjson.loads((folder / "prompts-zh.json").read_bytes())]
    hant = [r["prompt"] for r in orjson.loads((folder / "prompts-zh-TW.json").read_bytes())]
    together = [group[first_turn[a]] == group[first_turn[b]] for a, b in zip(hans, hant)]
    assert np.mean(together) >= 0.8, np.mean(together)


def test_conversation_tree_branches_are_not_merged(mixed_store):
    """oasst_zh: branches share an opening prompt and answer but end differently. (A
    preference record and the SFT row of the same conversation are two rows with the same
    messages: grouping those is right, and they are not counted as merged branches.)"""
    run_dedup(mixed_store, DedupOptions())
    table, files = rows_by_file(mixed_store)
    oasst = [i for i, f in enumerate(files) if "oasst_zh" in f]
    messages = table.column("messages").to_pylist()
    groups = table.column("dup_group").to_pylist()
    by_id = dict(zip(table.column("id").to_pylist(), range(len(files))))
    multi = [i for i in oasst if sum(m["role"] == "user" for m in messages[i]) > 1]
    merged_branches = 0
    for i in multi:
        kept = by_id[groups[i]]
        same_opening = messages[kept][0]["content"] == messages[i][0]["content"]
        if kept != i and same_opening and messages[kept] != messages[i]:
            merged_branches += 1
    assert len(multi) > 500 and merged_branches / len(multi) < 0.08


def _write_fake_scores(store, scores, overwrite=False):
    write_scores(store, "fake", scores, overwrite=overwrite)


def test_keep_by_uses_the_score_stage(mixed_store):
    run_dedup(mixed_store, DedupOptions())
    base = mixed_store.read(columns=["id", "n_chars"])
    # shorter is better, unlike the rule
    _write_fake_scores(mixed_store, -base.column("n_chars").to_numpy().astype(np.float64))
    with pytest.raises(StageConflict):  # auto now resolves to the score: other parameters
        run_dedup(mixed_store, DedupOptions())
    result = run_dedup(mixed_store, DedupOptions(), overwrite=True)
    assert "score.fake:fake_score" in result.keep_rule
    table = mixed_store.read(columns=["id", "n_chars"], sidecars=["dedup"])
    chars = dict(zip(table.column("id").to_pylist(), table.column("n_chars").to_pylist()))
    for row_id, group in zip(table.column("id").to_pylist(), table.column("dup_group").to_pylist()):
        assert chars[group] <= chars[row_id]  # the kept member has the best (shortest) score
    shutil.rmtree(mixed_store.sidecar_dir("score.fake"))
    mixed_store.remove_manifest("sidecar.score.fake")
    run_dedup(mixed_store, DedupOptions(), overwrite=True)


def test_same_inputs_same_groups_and_resume(shared_data, tmp_path, monkeypatch):
    store = build_store([shared_data / "fastchat_dummy_sharegpt"], tmp_path / "a", shard_size=100)
    other = Store.open(shutil.copytree(store.root, tmp_path / "b"))
    run_dedup(store, DedupOptions(index="partition", cells=8))
    original = SidecarWriter.write
    calls = {"n": 0}

    def crashing(self, index, table):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, index, table)

    monkeypatch.setattr(SidecarWriter, "write", crashing)
    with pytest.raises(KeyboardInterrupt):
        run_dedup(other, DedupOptions(index="partition", cells=8))
    monkeypatch.undo()
    run_dedup(other, DedupOptions(index="partition", cells=8))

    def dedup_files(root):
        return {k: v for k, v in parquet_digests(root).items() if "sidecars/dedup" in k}

    assert len(dedup_files(store.root)) == 5 and dedup_files(store.root) == dedup_files(other.root)


def test_cli_summary_and_show(mixed_store):
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", "-m", "curate", "dedup", str(mixed_store.root), "--show"]
        + ["2"],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=True,
    )
    out = " ".join(proc.stdout.split())  # independent of where a terminal would wrap
    assert "group 1:" in out and "group 2:" in out and "near-duplicate" in out
    summary = subprocess.run(
        [sys.executable, "-X", "utf8", "-m", "curate", "dedup", str(mixed_store.root)],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=True,
    ).stdout
    assert "prompt groups" in summary and "groups across prompts" in summary
    prompts = run_dedup(mixed_store, DedupOptions()).prompts
    rows = mixed_store.num_rows()
    # oasst_zh holds several answers to one prompt; the zh-Hans/zh-Hant pairs are two
    # prompts each, which dedup joins
    assert prompts["pool"]["answers"] == rows and prompts["pool"]["prompts"] < rows
    assert prompts["pool"]["prompts_with_several"] > 100
    assert prompts["kept"]["answers"] < rows
    assert prompts["groups_across_prompts"] >= 100
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", "-m", "curate", "dedup", str(mixed_store.root)]
        + ["--threshold", "0.95"],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
    )
    assert proc.returncode == 1 and "--overwrite" in proc.stderr


def test_rescoring_under_the_same_name_makes_dedup_stale(mixed_store):
    """Re-scoring under the same name must not leave a dedup that still counts as complete."""
    from curate.runner import is_complete, sidecar_state
    from curate.score.stage import score_columns

    n_chars = mixed_store.read(columns=["n_chars"]).column("n_chars").to_numpy().astype(float)
    _write_fake_scores(mixed_store, -n_chars)  # shorter is better
    assert "score.fake" in score_columns(mixed_store)
    first = run_dedup(mixed_store, DedupOptions(), overwrite=True)
    assert "score.fake:fake_score" in first.keep_rule and is_complete(mixed_store, "dedup")
    # the same scorer name, re-run (another model, say): the scores now prefer longer answers
    mixed_store.remove_manifest("sidecar.score.fake")
    _write_fake_scores(mixed_store, n_chars)
    assert sidecar_state(mixed_store, "dedup") == "stale"
    again = run_dedup(mixed_store, DedupOptions())  # same options: rebuilt, not "nothing to do"
    assert not again.already_done and is_complete(mixed_store, "dedup")
    table = mixed_store.read(columns=["id", "n_chars"], sidecars=["dedup"])
    chars = dict(zip(table.column("id").to_pylist(), table.column("n_chars").to_pylist()))
    for row_id, group in zip(table.column("id").to_pylist(), table.column("dup_group").to_pylist()):
        assert chars[group] >= chars[row_id]  # now the longest member is kept
    shutil.rmtree(mixed_store.sidecar_dir("score.fake"))
    mixed_store.remove_manifest("sidecar.score.fake")
    run_dedup(mixed_store, DedupOptions(), overwrite=True)


def test_select_refuses_a_stale_dedup(mixed_store, tmp_path):
    from curate.errors import CurateError
    from curate.select.stage import SelectOptions, run_select
    from curate.tag.stage import run_cluster_tag
    from taggers.cluster import ClusterParams

    n_chars = mixed_store.read(columns=["n_chars"]).column("n_chars").to_numpy().astype(float)
    _write_fake_scores(mixed_store, n_chars)
    run_dedup(mixed_store, DedupOptions(), overwrite=True)
    mixed_store.remove_manifest("sidecar.score.fake")
    _write_fake_scores(mixed_store, -n_chars)  # rescored: dedup was built on the old scores
    run_cluster_tag(mixed_store, ClusterParams(clusters=2))
    with pytest.raises(CurateError, match="stale"):
        run_select(mixed_store, SelectOptions(per_tag=5), tmp_path / "out")
    run_dedup(mixed_store, DedupOptions())
    assert run_select(mixed_store, SelectOptions(per_tag=5), tmp_path / "out").selected > 0
    shutil.rmtree(mixed_store.sidecar_dir("score.fake"))
    mixed_store.remove_manifest("sidecar.score.fake")
    run_dedup(mixed_store, DedupOptions(), overwrite=True)
