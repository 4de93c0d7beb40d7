"""``curate run``: the plan from a config, a whole run, a rerun that skips, and resume after a kill."""

import shutil

import pytest
from click.testing import CliRunner

from curate.cli import cli
from curate.errors import InputError
from curate.run import load_config, plan, step_command
from tests.conftest import parquet_digests


def test_steps_call_commands_with_typed_options(tmp_path):
    from curate.run import Step

    command, kwargs = step_command(
        Step("select", "s", {"per_tag": "50", "quiet": True, "weights": {"a": 1, "b": 0.5}})
    )
    assert command.name == "select"
    assert kwargs["per_tag"] == 50 and kwargs["quiet"] is True  # converted by the option's type
    assert kwargs["weights"] in (("a=1,b=0.5",), "a=1,b=0.5")
    with pytest.raises(InputError, match="no option 'per-tagg'"):
        step_command(Step("select", "s", {"per-tagg": 5}))
    with pytest.raises(InputError, match="per-tag"):
        step_command(Step("select", "s", {"per-tag": "many"}))


def test_plan_orders_stages_and_resolves_paths(tmp_path):
    config = {
        "store": "s",
        "select": {"per-tag": 5, "output": "out"},
        "score": [{"model": "heuristics"}, {"model": "ArmoRM", "device": "cuda"}],
        "ingest": {"inputs": ["a.jsonl", "b"]},
        "embed": {},
        "tag": False,
    }
    steps = plan(config, base=tmp_path)
    assert [s.stage for s in steps] == ["ingest", "embed", "score", "score", "select", "report"]
    store = str((tmp_path / "s").resolve())
    assert steps[0].inputs == [str(tmp_path / "a.jsonl"), str(tmp_path / "b")]
    assert steps[0].store == store and steps[0].options == {}
    assert steps[3].options == {"model": "ArmoRM", "device": "cuda"}
    assert steps[4].options == {"per-tag": 5, "output": str(tmp_path / "out")}
    assert steps[3].describe() == f"curate score {store} --model ArmoRM --device cuda"


def test_plan_of_the_loop_from_subset_to_model(tmp_path):
    (tmp_path / "sft-model").mkdir()
    config = {
        "store": "s",
        "select": {"output": "subset"},
        "generate": {
            "model": "sft-model",
            "into": "samples",
            "n": 7,
            "score": [{"model": "ArmoRM"}],
        },
        "pairs": {"output": "pairs", "rejected": "2-worst"},
        "train": [
            {"model": "sft-model", "method": "dpo", "output": "dpo"},
            {"model": "Qwen/Qwen2.5-0.5B", "method": "sft", "output": "sft"},
        ],
    }
    steps = plan(config, base=tmp_path)
    at = lambda name: str((tmp_path / name).resolve())  # noqa: E731
    assert [(s.stage, s.store) for s in steps] == [
        ("select", at("s")),
        ("generate", at("s")),
        ("score", at("samples")),  # the scorers of the generate section, on the new store
        ("pairs", at("samples")),
        ("train", at("pairs")),  # dpo reads the pairs
        ("train", at("subset")),  # sft reads the selection
        ("report", at("s")),  # by default the run ends with the report of its store ...
    ]
    assert steps[6].options == {
        "output": at("s/report.html"),
        "subset": at("subset"),
    }  # ... and selection
    assert steps[1].options == {"model": at("sft-model"), "into": at("samples"), "n": 7}
    assert steps[5].options["model"] == "Qwen/Qwen2.5-0.5B"  # a hub id stays as it is
    for step in steps:
        step_command(step)  # every option is one the command knows
    with pytest.raises(InputError, match="into"):
        plan({"store": "s", "generate": {"model": "m"}})
    with pytest.raises(InputError, match="data"):
        plan({"store": "s", "train": {"model": "m", "method": "dpo", "output": "o"}})
    with pytest.raises(InputError, match="output"):
        plan({"store": "s", "pairs": {}})


def test_bad_configs_are_user_errors(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("ingest: {}\n")
    with pytest.raises(InputError, match="store"):
        load_config(path)
    path.write_text("store: s\ntraining: {}\n")
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
    text = " ".join(first.output.split())  # independent of where a terminal would wrap
    assert "$ curate dedup" in text and "$ curate select" in text
    assert (tmp_path / "a" / "subset" / "subset.jsonl").stat().st_size > 0
    again = runner.invoke(cli, ["run", str(tmp_path / "a" / "run.yaml")])
    assert again.exit_code == 0, again.output
    # every stage, select included
    assert " ".join(again.output.split()).count("nothing to do") == 6

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
        steps = plan(load_config(path), base=path.parent)
        for step in steps:
            step_command(step)  # every option of the example configs is known and valid
        assert [s.stage for s in steps] == [
            "ingest",
            "embed",
            "embed",  # user turns, for the cluster tagger (CPU) or decontaminate (GPU)
            "tag",
            "score",
            *(["score"] if name == "gpu.yaml" else []),
            "dedup",
            "decontaminate",
            "select",
            *(["train"] if name == "gpu.yaml" else []),  # SFT on the subset
            "report",
        ]
    loop = REPO / "configs" / "loop-gpu.yaml"
    steps = plan(load_config(loop), base=loop.parent)
    for step in steps:
        step_command(step)
    assert [s.stage for s in steps] == ["generate", "score", "pairs", "train", "report"]
    assert steps[2].store == steps[0].options["into"]  # pairs reads the generated store
    assert steps[3].store == steps[2].options["output"]  # dpo reads the pairs
    gpu = plan(load_config(REPO / "configs" / "gpu.yaml"), base=REPO / "configs")
    select = gpu[-3].describe()
    assert "--lang-share" in select and "zh-Hant=0.4,zh-Hans=0.2,ru=0.2,en=0.2" in select
    from curate.embed.embedders import resolve

    assert f"embed.{resolve('intfloat/multilingual-e5-large').key}.conversation" in select


def test_the_console_script_exits_0_after_a_run(tmp_path):
    """`curate run` returns its steps to Python callers; the process still exits 0."""
    import subprocess
    import sys

    (tmp_path / "run.yaml").write_text("store: s\ningest:\n  inputs: [in.jsonl]\n")
    proc = subprocess.run(
        [sys.executable, "-m", "curate", "run", "--dry-run", str(tmp_path / "run.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Step(" not in proc.stderr


def test_a_top_level_engine_runs_the_per_shard_stages_on_it(tmp_path):
    import dataclasses

    from curate.run import ENGINE_KEYS
    from curate.runner import EngineOptions

    assert tuple(f.name for f in dataclasses.fields(EngineOptions)) == ENGINE_KEYS
    config = {
        "store": "s",
        "engine": {"engine": "ray", "num-gpus-per-worker": 1},
        "embed": {},
        "score": [{"model": "heuristics", "engine": "local"}, {"model": "ArmoRM"}],
        "dedup": {},
        "generate": {"model": "m", "into": "new", "score": [{"model": "ArmoRM"}]},
    }
    steps = plan(config, base=tmp_path)
    on_ray = {"engine": "ray", "num-gpus-per-worker": 1}
    assert [s.stage for s in steps] == [
        "embed", "score", "score", "dedup", "generate", "score", "report",
    ]  # fmt: skip
    assert steps[0].options == on_ray
    assert steps[1].options == {"model": "heuristics", "engine": "local", "num-gpus-per-worker": 1}
    assert steps[2].options == {**on_ray, "model": "ArmoRM"}
    assert steps[3].options == {}  # dedup is a whole-store stage: it runs here
    assert steps[5].options == {**on_ray, "model": "ArmoRM"}  # the generated store's scorer
    assert "--engine ray --num-gpus-per-worker 1" in steps[0].describe()
    for step in steps:
        step_command(step)  # every option is one the command declares, typed
    assert plan({"store": "s", "engine": "ray", "embed": {}}, base=tmp_path)[0].options == {
        "engine": "ray"
    }
    with pytest.raises(InputError, match="has no option"):
        plan({"store": "s", "engine": {"gpus": 1}, "embed": {}}, base=tmp_path)
