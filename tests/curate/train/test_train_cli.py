"""``curate train`` on the command line: a --config file, the summary, one-line refusals."""

from __future__ import annotations

import json
import sys

import pytest

from curate.cli import main
from curate.train.output import MANIFEST
from tests.curate.train.conftest import write_pairs, write_selection
from tests.curate.train.test_train_templates import CHATML


def cli(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(["train", *map(str, args)])
    out = capsys.readouterr()
    return exit_.value.code, out.out, out.err


def test_dpo_with_lora_from_a_config_file(tmp_path, capsys, tiny_model):
    pairs = write_pairs(tmp_path / "pairs")
    config = tmp_path / "train.yaml"
    config.write_text(
        f"train:\n  model: {tiny_model}\n  method: dpo\n  lora: true\n  lora-r: 4\n"
        "  max-steps: 3\n  max-length: 128\n  device: cpu\n  learning-rate: 0.005\n"
        "  logging-steps: 1\n  batch-size: 2\n  seed: 7\n"
    )
    code, out, err = cli(capsys, pairs, "-o", tmp_path / "out", "--config", config, "--beta", 0.2)
    assert code == 0, err
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    options = manifest["options"]
    assert options["method"] == "dpo" and options["lora"] and options["lora_r"] == 4
    assert options["seed"] == 7 and options["beta"] == 0.2 and options["batch_size"] == 2
    assert manifest["steps"] == 3 and len(manifest["loss_curve"]) == 3
    text = " ".join(out.split())
    assert "curate train (dpo)" in text and "reward accuracy" in text and "LoRA r=4" in text
    assert "adapter_model.safetensors" in text
    # the progress bar (stderr): steps, the latest loss, tokens
    bar = " ".join(err.split())
    assert "dpo loss" in bar and "3/3 steps" in bar and "tokens" in bar
    code, out, _ = cli(capsys, pairs, "-o", tmp_path / "out", "--config", config, "--beta", 0.2)
    assert code == 0 and "nothing to do" in " ".join(out.split())


@pytest.mark.parametrize(
    "case, expected",
    [
        ("dpo_on_selection", "--method dpo needs preference pairs"),
        ("no_markers", "no {% generation %} markers and TRL has no training version"),
        ("foreign_folder", "not empty and was not written by curate train"),
        ("missing_trl", 'needs trl, which is not installed: pip install -e ".[train]"'),
    ],
)
def test_refusals_are_one_red_line(tmp_path, capsys, monkeypatch, tiny_model, case, expected):
    from curate.testing.tiny_models import write_tiny_training_model

    selection = write_selection(tmp_path / "sel", repeat=1)
    args = [selection, "--model", tiny_model, "-o", tmp_path / "out", "--device", "cpu"]
    args += ["--max-length", 128, "--max-steps", 1]
    if case == "dpo_on_selection":
        args += ["--method", "dpo"]
    elif case == "no_markers":
        args[2] = write_tiny_training_model(tmp_path / "chatml", chat_template=CHATML)
    elif case == "foreign_folder":
        (tmp_path / "out").mkdir()
        (tmp_path / "out" / "notes.txt").write_text("x")
    else:
        monkeypatch.setitem(sys.modules, "trl", None)  # as if not installed
    capsys.readouterr()  # what writing the models printed
    code, _, err = cli(capsys, *args)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    line = " ".join(err.split())
    assert line.startswith("error: ") and expected in line
