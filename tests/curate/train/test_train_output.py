"""The model folder's rules: never a foreign folder without --overwrite, which removes only ours."""

from __future__ import annotations

import json

import pytest

from curate.errors import CurateError, InputError, StageConflict
from curate.train.output import MANIFEST
from curate.train.run import run_train
from tests.curate.train.conftest import train_options, write_selection


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return write_selection(tmp_path_factory.mktemp("rules") / "sel", repeat=2)


def test_a_foreign_non_empty_folder_is_refused_without_overwrite(tmp_path, data, tiny_model):
    output = tmp_path / "mine"
    output.mkdir()
    (output / "notes.txt").write_text("keep me")
    options = train_options(data, tiny_model, output, max_steps=2)
    with pytest.raises(InputError, match="not empty and was not written by curate train"):
        run_train(options, quiet=True)
    assert sorted(p.name for p in output.iterdir()) == ["notes.txt"]
    # --overwrite writes beside the user's files, never replacing or removing one
    result = run_train(options, overwrite=True, quiet=True)
    assert (output / "notes.txt").read_text() == "keep me"
    assert "notes.txt" not in result.manifest["files"]
    assert (output / "model.safetensors").is_file()


def test_a_foreign_file_a_model_would_replace_is_never_overwritten(tmp_path, data, tiny_model):
    output = tmp_path / "mine"
    output.mkdir()
    (output / "config.json").write_text("{}")
    options = train_options(data, tiny_model, output, max_steps=2)
    with pytest.raises(InputError, match="holds config.json, which curate did not write"):
        run_train(options, overwrite=True, quiet=True)
    assert (output / "config.json").read_text() == "{}"


def test_another_run_needs_overwrite_which_removes_only_its_files(tmp_path, data, tiny_model):
    output = tmp_path / "model"
    first = run_train(train_options(data, tiny_model, output, max_steps=2), quiet=True)
    (output / "notes.txt").write_text("mine")
    other = train_options(data, tiny_model, output, max_steps=2, learning_rate=1e-3)
    with pytest.raises(StageConflict, match="differ in: learning_rate.*--overwrite"):
        run_train(other, quiet=True)
    assert json.loads((output / MANIFEST).read_text())["run_key"] == first.manifest["run_key"]
    second = run_train(other, overwrite=True, quiet=True)
    assert second.manifest["run_key"] != first.manifest["run_key"]
    assert (output / "notes.txt").read_text() == "mine"
    # a LoRA run into the same folder: the full model's weights (listed by the last run) go
    lora = train_options(data, tiny_model, output, max_steps=2, lora=True)
    third = run_train(lora, overwrite=True, quiet=True)
    assert not (output / "model.safetensors").exists()
    assert (output / "adapter_model.safetensors").is_file()
    assert sorted(p.name for p in output.iterdir()) == sorted(
        third.manifest["files"] + ["notes.txt"]
    )


def test_other_data_is_another_run(tmp_path, tiny_model):
    output = tmp_path / "model"
    run_train(
        train_options(write_selection(tmp_path / "a", repeat=1), tiny_model, output, max_steps=1),
        quiet=True,
    )
    with pytest.raises(StageConflict, match="differ in: data"):
        run_train(
            train_options(
                write_selection(tmp_path / "b", repeat=2), tiny_model, output, max_steps=1
            ),
            quiet=True,
        )


def test_outputs_that_are_the_model_or_the_data_are_refused(tmp_path, data, tiny_model):
    with pytest.raises(InputError, match="base model's folder"):
        run_train(train_options(data, tiny_model, tiny_model, max_steps=1), quiet=True)
    with pytest.raises(InputError, match="training data"):
        run_train(train_options(data, tiny_model, data / "model", max_steps=1), quiet=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="is a file"):
        run_train(train_options(data, tiny_model, tmp_path / "file", max_steps=1), quiet=True)


def test_model_refusals_are_clear(tmp_path, data, tiny_model, monkeypatch):
    from curate.testing.tiny_models import write_tiny_training_model

    bare = write_tiny_training_model(tmp_path / "bare", chat_template=None)
    with pytest.raises(InputError, match="has no chat template"):
        run_train(train_options(data, bare, tmp_path / "o1", max_steps=1), quiet=True)
    with pytest.raises(CurateError, match="neither a local directory nor a hub id"):
        run_train(train_options(data, tmp_path / "nope", tmp_path / "o2"), quiet=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(CurateError, match="HF_HUB_OFFLINE=1 and it is not in the local cache"):
        run_train(train_options(data, "no-such-org/no-such-model", tmp_path / "o3"), quiet=True)
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((tiny_model / "config.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
    with pytest.raises(CurateError, match="not safetensors"):
        run_train(train_options(data, pickled, tmp_path / "o4"), quiet=True)
    with pytest.raises(InputError, match="exceeds the 512 positions"):
        run_train(train_options(data, tiny_model, tmp_path / "o5", max_length=1024), quiet=True)
    assert not (tmp_path / "o5").exists()
