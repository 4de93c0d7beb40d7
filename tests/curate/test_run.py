"""``curate run``: the plan from a config, a whole run, a rerun that skips, and resume after a kill."""

import shutil

import pytest
from click.testing import CliRunner

from curate.cli import cli
from curate.errors import InputError
from curate.run import load_config, option_args, plan
from tests.conftest import parquet_digests


def test_option_args():
    assert option_args(
        {"per_tag": 50, "quiet": True, "skip": False, "weights": {"a": 1, "b": 0.5}}
    ) == [
        "--per-tag",
        "50",
        "--quiet",
        "--weights",
        "a=1,b=0.5",
    ]
    assert option_args({"exclude-flag": ["x", "y"]}) == [
        "--exclude-flag",
        "x",
        "--exclude-flag",
        "y",
    ]


def test_plan_orders_stages_and_resolves_paths(tmp_path):
    config = {
        "store": "s",
        "select": {"per-tag": 5, "output": "out"},
        "score": [{"model": "heuristics"}, {"model": "ArmoRM", "device": "cuda"}],
        "ingest": {"inputs": ["a.jsonl", "b"]},
        "embed": {},
        "tag": False,
    }
    commands = plan(config, base=tmp_path)
    assert [c[0] for c in commands] == ["ingest", "embed", "score", "score", "select"]
    store = str((tmp_path / "s").resolve())
    assert commands[0] == [
        "ingest",
        str(tmp_path / "a.jsonl"),
        str(tmp_path / "b"),
        "--store",
        store,
    ]
    assert commands[3] == ["score", store, "--model", "ArmoRM", "--device", "cuda"]
    assert commands[4] == ["select", store, "--per-tag", "5", "--output", str(tmp_path / "out")]


def test_bad_configs_are_user_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("ingest: {}\n")
    with pytest.raises(InputError, match="store"):
        load_config(path)
    path.write_text("store: s\ntrain: {}\n")
    with pytest.raises(InputError, match="unknown entries"):
        load_config(path)
    with pytest.raises(InputError, match="inputs"):
        plan({"store": "s", "ingest": {}})


CONFIG = """\
store: store
ingest:
  inputs: [{data}/rulm_ru/ru_turbo_alpaca_gen100.jsonl, {data}/llamafactory_demo/alpaca_zh_demo.json]
  workers: 0
embed: {{}}
tag: {{clusters: 6}}
score: [{{model: heuristics, chunk-rows: 64}}]
dedup: {{}}
select: {{per-tag: 5, output: subset}}
"""


def test_run_skips_what_is_done_and_resumes_after_a_kill(shared_data, tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "run.yaml").write_text(CONFIG.format(data=shared_data))
    runner = CliRunner()
    first = runner.invoke(cli, ["run", str(tmp_path / "a" / "run.yaml")])
    assert first.exit_code == 0, first.output
    assert "$ curate dedup" in first.output and "$ curate select" in first.output
    assert (tmp_path / "a" / "subset" / "subset.jsonl").stat().st_size > 0
    again = runner.invoke(cli, ["run", str(tmp_path / "a" / "run.yaml")])
    assert again.exit_code == 0, again.output
    assert again.output.count("nothing to do") == 6  # every stage, select included

    # killed twice: inside the score stage after one checkpointed chunk, then in select
    shutil.copytree(
        tmp_path / "a", tmp_path / "b", ignore=shutil.ignore_patterns("store", "subset")
    )
    from curate.select import stage as select_stage
    from curate.store import SidecarWriter

    original = SidecarWriter.write_part
    calls = {"n": 0}

    def killed_after_one_chunk(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(SidecarWriter, "write_part", killed_after_one_chunk)
    killed_run = runner.invoke(cli, ["run", str(tmp_path / "b" / "run.yaml")])
    assert killed_run.exit_code != 0 and calls["n"] == 2  # interrupted while scoring
    assert not (tmp_path / "b" / "store" / "sidecars" / "dedup").exists()
    monkeypatch.undo()
    monkeypatch.setattr(select_stage, "_swap_in", killed)
    killed_run = runner.invoke(cli, ["run", str(tmp_path / "b" / "run.yaml")])
    assert killed_run.exit_code != 0 and not (tmp_path / "b" / "subset").exists()
    monkeypatch.undo()
    resumed = runner.invoke(cli, ["run", str(tmp_path / "b" / "run.yaml")])
    assert resumed.exit_code == 0, resumed.output

    def tables(root):
        return {k: v for k, v in parquet_digests(root).items() if k.startswith("sidecars")}

    assert tables(tmp_path / "a" / "store") == tables(tmp_path / "b" / "store")
    for name in ("subset.jsonl", "subset.parquet"):
        assert (tmp_path / "a" / "subset" / name).read_bytes() == (
            tmp_path / "b" / "subset" / name
        ).read_bytes()


def test_example_configs_plan(tmp_path):
    from tests.conftest import REPO

    for name in ("shared-cpu.yaml", "gpu.yaml"):
        path = REPO / "configs" / name
        commands = plan(load_config(path), base=path.parent)
        assert [c[0] for c in commands] == [
            "ingest",
            "embed",
            "tag",
            "score",
            *(["score"] if name == "gpu.yaml" else []),
            "dedup",
            "select",
        ]
    gpu = plan(load_config(REPO / "configs" / "gpu.yaml"), base=REPO / "configs")
    select = gpu[-1]
    assert "--lang" in select and "zh-Hant=0.4,zh-Hans=0.2,ru=0.2,en=0.2" in select
    from curate.embed.embedders import resolve

    assert f"embed.{resolve('intfloat/multilingual-e5-large').key}.conversation" in select
