"""DPO with LoRA on the tiny Llama: ln 2 at the start, a falling loss, an adapter peft loads back."""

from __future__ import annotations

import json
import math

import pytest

from curate.train.output import MANIFEST
from curate.train.run import run_train
from tests.curate.train.conftest import PAIRS, train_options, write_pairs


@pytest.fixture(scope="module")
def dpo_run(tmp_path_factory, tiny_model):
    root = tmp_path_factory.mktemp("dpo")
    options = train_options(
        write_pairs(root / "pairs"),
        tiny_model,
        root / "adapter",
        method="dpo",
        lora=True,
        lora_r=8,
        lora_alpha=16,
        lora_dropout=0.0,
        learning_rate=5e-3,
        max_steps=12,
        batch_size=4,
    )
    return options, run_train(options, quiet=True)


def test_the_first_loss_is_ln2_and_the_loss_falls(dpo_run):
    _, result = dpo_run
    manifest = json.loads((result.output / MANIFEST).read_text())
    curve = manifest["loss_curve"]
    assert [p["step"] for p in curve] == list(range(1, 13))
    # LoRA starts as the identity: the policy is the reference, every margin 0
    assert abs(curve[0]["loss"] - math.log(2)) < 1e-3
    assert curve[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-4)
    assert sum(p["loss"] for p in curve[-3:]) / 3 < 0.5 * math.log(2)
    assert curve[-1]["rewards/accuracies"] > 0.5 and curve[-1]["rewards/margins"] > 0
    assert manifest["method"] == "dpo" and manifest["options"]["lora"] is True
    assert manifest["data"]["kind"] == "pairs" and manifest["data"]["rows"] == len(PAIRS) * 4
    assert manifest["key_inputs"]["training"]["beta"] == 0.1
    assert "adapter_model.safetensors" in manifest["files"]
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in manifest["files"])


def test_the_adapter_loads_back_with_peft_and_generates(dpo_run, tiny_model):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    _, result = dpo_run
    config = json.loads((result.output / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["base_model_name_or_path"] == str(tiny_model)
    base = AutoModelForCausalLM.from_pretrained(tiny_model, use_safetensors=True)
    model = PeftModel.from_pretrained(base, result.output).eval()
    tokenizer = AutoTokenizer.from_pretrained(result.output)
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": PAIRS[0][0]}],
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=8, do_sample=False)
    assert out.shape[1] > prompt["input_ids"].shape[1]
    # the adapter changed the model: its log-probabilities differ from the base's
    with torch.no_grad():
        tuned = model(**prompt).logits
        with model.disable_adapter():
            plain = model(**prompt).logits
    assert (tuned - plain).abs().max() > 1e-3


def test_sft_on_pairs_trains_on_prompt_and_chosen(tmp_path, tiny_model):
    options = train_options(
        write_pairs(tmp_path / "pairs"), tiny_model, tmp_path / "m", max_steps=3
    )
    result = run_train(options, quiet=True)
    assert result.manifest["data"]["kind"] == "pairs" and result.manifest["method"] == "sft"
    assert (result.output / "model.safetensors").is_file()


def test_full_dpo_uses_a_frozen_copy_as_reference(tmp_path, tiny_model):
    from safetensors.torch import load_file

    options = train_options(
        write_pairs(tmp_path / "pairs"),
        tiny_model,
        tmp_path / "m",
        method="dpo",
        max_steps=3,
        learning_rate=1e-3,
    )
    result = run_train(options, quiet=True)
    curve = result.manifest["loss_curve"]
    assert abs(curve[0]["loss"] - math.log(2)) < 1e-3 and curve[-1]["loss"] < curve[0]["loss"]
    tuned, base = (
        load_file(result.output / "model.safetensors"),
        load_file(tiny_model / "model.safetensors"),
    )
    assert tuned.keys() == base.keys()
    assert any((tuned[k] - base[k]).abs().max() > 1e-4 for k in tuned)
