"""SFT on the tiny Llama: assistant-only labels, a falling loss, a model that loads back and generates."""

from __future__ import annotations

import json

import pytest
from transformers import TrainerCallback

from curate.train.output import MANIFEST
from curate.train.run import run_train
from tests.curate.train.conftest import CONVERSATIONS, train_options, write_selection


class Capture(TrainerCallback):
    """Keeps the prepared training rows (input_ids, labels, ...) the trainer starts with."""

    def __init__(self):
        self.rows = None

    def on_train_begin(self, args, state, control, train_dataloader=None, **kwargs):
        self.rows = list(train_dataloader.dataset)


def assistant_text(conversation, eot="<|eot_id|>") -> str:
    return "".join(m["content"] + eot for m in conversation if m["role"] == "assistant")


def masked(row) -> list[int]:
    return [t for t in row["labels"] if t != -100]


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("sft")
    capture = Capture()
    options = train_options(write_selection(root / "sel"), tiny_model, root / "model")
    result = run_train(options, quiet=True, callbacks=[capture])
    return options, result, capture


def test_labels_are_exactly_the_assistant_tokens(sft_run, tiny_model):
    from transformers import AutoTokenizer

    _, _, capture = sft_run
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert len(capture.rows) == len(CONVERSATIONS) * 8
    for row, conversation in zip(capture.rows, CONVERSATIONS * 8):
        ids, labels = row["input_ids"], row["labels"]
        assert len(ids) == len(labels)
        assert all(label in (-100, token) for token, label in zip(ids, labels))
        assert tokenizer.decode(masked(row)) == assistant_text(conversation)
        prompt = tokenizer.decode([t for t, label in zip(ids, labels) if label == -100])
        for message in conversation:
            if message["role"] != "assistant":
                assert message["content"] in prompt


def test_packed_rows_keep_assistant_only_labels(tmp_path, tiny_model):
    from transformers import AutoTokenizer

    capture = Capture()
    options = train_options(
        write_selection(tmp_path / "sel"), tiny_model, tmp_path / "m", packing=True, max_steps=2
    )
    run_train(options, quiet=True, callbacks=[capture])
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    expected = {assistant_text(c) for c in CONVERSATIONS}
    segments = 0
    for row in capture.rows:
        assert len(row["input_ids"]) <= 128 and sum(row["seq_lengths"]) == len(row["input_ids"])
        start = 0
        for length in row["seq_lengths"]:
            piece = {k: row[k][start : start + length] for k in ("input_ids", "labels")}
            assert tokenizer.decode(masked(piece)) in expected
            start += length
            segments += 1
    assert segments == len(CONVERSATIONS) * 8 and len(capture.rows) < segments


def test_the_loss_falls_and_the_manifest_records_the_run(sft_run, tiny_model):
    options, result, _ = sft_run
    manifest = json.loads((result.output / MANIFEST).read_text())
    assert manifest == json.loads(json.dumps(result.manifest))
    assert manifest["status"] == "complete" and manifest["method"] == "sft"
    curve = [point["loss"] for point in manifest["loss_curve"]]
    assert [p["step"] for p in manifest["loss_curve"]] == list(range(1, 31))
    assert sum(curve[-5:]) / 5 < 0.5 * curve[0]
    assert manifest["data"]["rows"] == 24 and len(manifest["data"]["fingerprint"]) == 32
    assert manifest["model"]["model"] == str(tiny_model) and manifest["model"]["safetensors_sha256"]
    assert manifest["options"]["learning_rate"] == 3e-3 and manifest["resolved"]["dtype"] == "fp32"
    assert manifest["chat_template"]["source"] == "trl"
    assert manifest["environment"]["train_libraries"]["trl"]
    assert manifest["tokens_seen"] > 0 and manifest["tokens_per_second"] > 0
    assert manifest["wall_seconds"] > 0 and manifest["steps"] == 30
    assert manifest["resumed_from"] is None
    assert "checkpoints" not in manifest["files"] and not (result.output / "checkpoints").exists()
    assert sorted(p.name for p in result.output.iterdir()) == manifest["files"]


def test_the_saved_model_loads_back_and_generates(sft_run):
    from transformers import AutoModelForCausalLM

    from curate.llm import GenerationParams, resolve_backend
    from curate.train.templates import has_markers

    _, result, _ = sft_run
    model = AutoModelForCausalLM.from_pretrained(result.output, use_safetensors=True)
    assert model.config.num_hidden_layers == 2
    assert has_markers((result.output / "chat_template.jinja").read_text())
    backend = resolve_backend("transformers", str(result.output), device="cpu")
    backend.load()
    prompt = [{"role": "user", "content": "What is the capital of France?"}]
    [reply] = backend.generate([prompt], GenerationParams(max_new_tokens=12))
    assert reply.ok and reply.completion_tokens > 0
    # 30 steps on 24 rows: the tiny model has learnt its answer, and to stop after it (the
    # end-of-turn token was among the labels)
    assert "Paris" in reply.text and reply.finish_reason == "stop"
    backend.close()


def test_the_same_run_again_is_a_no_op(sft_run):
    options, result, _ = sft_run
    before = {p.name: p.stat().st_mtime_ns for p in result.output.iterdir()}
    again = run_train(options, quiet=True)
    assert again.already_done and again.manifest["run_key"] == result.manifest["run_key"]
    assert {p.name: p.stat().st_mtime_ns for p in result.output.iterdir()} == before
