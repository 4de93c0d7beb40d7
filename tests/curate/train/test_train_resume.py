"""A killed run resumes from its last checkpoint and ends as an uninterrupted run does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from transformers import TrainerCallback

from curate.train.output import CHECKPOINTS, MANIFEST
from curate.train.run import run_train
from tests.conftest import REPO
from tests.curate.train.conftest import train_options, write_selection


class Killed(Exception):
    pass


class KillAfter(TrainerCallback):
    """Raises after optimizer step ``step``, as a kill at that moment would stop the run."""

    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise Killed(f"killed after step {self.step}")


def weights(folder):
    from safetensors.torch import load_file

    return load_file(folder / "model.safetensors")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_selection(tmp_path_factory.mktemp("resume") / "sel")


def test_a_killed_run_resumes_from_its_checkpoint_and_matches_an_uninterrupted_one(
    tmp_path, data, tiny_model
):
    import torch

    straight = run_train(
        train_options(data, tiny_model, tmp_path / "straight", max_steps=10, save_steps=4),
        quiet=True,
    )
    options = train_options(data, tiny_model, tmp_path / "killed", max_steps=10, save_steps=4)
    with pytest.raises(Killed):
        run_train(options, quiet=True, callbacks=[KillAfter(6)])
    killed = json.loads((tmp_path / "killed" / MANIFEST).read_text())
    assert killed["status"] == "running" and killed["steps"] == 4  # recorded at the checkpoint
    assert (tmp_path / "killed" / CHECKPOINTS / "checkpoint-4").is_dir()
    assert not (tmp_path / "killed" / "model.safetensors").exists()

    resumed = run_train(options, quiet=True)
    manifest = resumed.manifest
    assert resumed.resumed_from == manifest["resumed_from"] == "checkpoints/checkpoint-4"
    assert manifest["status"] == "complete" and manifest["steps"] == 10
    assert [s["resumed_from"] for s in manifest["sessions"]] == [None, "checkpoints/checkpoint-4"]
    assert [s["start_step"] for s in manifest["sessions"]] == [0, 4]
    assert [p["step"] for p in manifest["loss_curve"]] == list(range(1, 11))
    expected = [p["loss"] for p in straight.manifest["loss_curve"]]
    assert [p["loss"] for p in manifest["loss_curve"]] == pytest.approx(expected, rel=1e-4)
    assert manifest["tokens_seen"] == straight.manifest["tokens_seen"]
    ours, theirs = weights(resumed.output), weights(straight.output)
    assert ours.keys() == theirs.keys()
    assert all(torch.allclose(ours[k], theirs[k], atol=1e-5) for k in ours)
    assert not (resumed.output / CHECKPOINTS).exists()


def test_the_same_options_and_seed_give_the_same_model(tmp_path, data, tiny_model):
    first = run_train(train_options(data, tiny_model, tmp_path / "a", max_steps=4), quiet=True)
    second = run_train(train_options(data, tiny_model, tmp_path / "b", max_steps=4), quiet=True)
    assert first.manifest["run_key"] == second.manifest["run_key"]
    assert (first.output / "model.safetensors").read_bytes() == (
        second.output / "model.safetensors"
    ).read_bytes()


CHILD = """
import sys, time
from transformers import TrainerCallback
from curate.train.run import run_train
from tests.curate.train.conftest import train_options

class Hang(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 7:  # checkpoint-5 is written: say so, and wait to be killed
            open(sys.argv[4], "w").close()
            time.sleep(120)

run_train(train_options(sys.argv[1], sys.argv[2], sys.argv[3], max_steps=12, save_steps=5),
          quiet=True, callbacks=[Hang()])
"""


def test_a_killed_process_resumes(tmp_path, data, tiny_model):
    """A real kill (SIGKILL at step 7, after checkpoint-5), then the same run again."""
    import time

    output, marker = tmp_path / "model", tmp_path / "at-step-7"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(data), str(tiny_model), str(output), str(marker)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), proc.stderr.read().decode(errors="replace")[-2000:]
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()
    assert json.loads((output / MANIFEST).read_text())["status"] == "running"
    result = run_train(
        train_options(data, tiny_model, output, max_steps=12, save_steps=5), quiet=True
    )
    manifest = result.manifest
    assert manifest["status"] == "complete" and manifest["steps"] == 12
    assert manifest["resumed_from"] == "checkpoints/checkpoint-5"
    assert [p["step"] for p in manifest["loss_curve"]] == list(range(1, 13))
    assert (output / "model.safetensors").is_file() and not (output / CHECKPOINTS).exists()
