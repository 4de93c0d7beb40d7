"""The README's promises: its first two commands, the CI script, the Python example."""

import re

from tests.conftest import REPO, write_jsonl

README = (REPO / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(\w*)\n(.*?)```", README, re.S)


def test_readme_starts_with_the_two_setup_commands():
    before_prose = README.split("`curate` builds")[0]
    bash = [body.strip() for lang, body in BLOCKS if lang == "bash"][:2]
    assert all(cmd in before_prose for cmd in bash)
    main_job, tests = bash
    assert "pip install" in main_job and "curate run configs/shared-cpu.yaml" in main_job
    assert "pip install" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command():
    test_command = [body.strip() for lang, body in BLOCKS if lang == "bash"][1]
    assert test_command in (REPO / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_python_example_runs(tmp_path, monkeypatch):
    from curate.ingest.pipeline import IngestOptions, Ingestor

    write_jsonl(
        tmp_path / "x.jsonl", [{"instruction": f"q{i}", "output": "a" * i} for i in range(5)]
    )
    Ingestor(
        [str(tmp_path / "x.jsonl")], tmp_path / "runs" / "pool", IngestOptions(), workers=0
    ).run()
    examples = [body for lang, body in BLOCKS if lang == "python"]
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for example in examples:  # in order: the store API, then a stage on the runner
        exec(compile(example, "README.md", "exec"), namespace)
    joined = namespace["joined"]
    assert joined.column_names == ["id", "lang", "length_score"] and joined.num_rows == 5
    assert len(examples) == 2
    chars = namespace["store"].read(columns=["n_chars"], sidecars=["score.chars"])
    assert chars.column("chars_score").to_pylist() == [
        float(n) for n in chars["n_chars"].to_pylist()
    ]
