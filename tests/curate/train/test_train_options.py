"""Precision, attention and device choices of curate train (GPU rules checked with a stand-in)."""

from __future__ import annotations

import pytest

from curate.errors import InputError
from curate.train.hardware import check_one_gpu, resolve_attention, resolve_precision
from curate.train.options import TrainOptions, resolve_learning_rate


@pytest.fixture
def bf16_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    return torch


def test_precision_fp32_on_cpu_bf16_on_gpu(bf16_gpu):
    assert resolve_precision("auto", "cpu", lora=False) == "fp32"
    assert resolve_precision("auto", "cpu", lora=True) == "fp32"
    # LoRA: the frozen base in bf16; full fine-tuning: fp32 weights whose small updates
    # bf16 would round away, computed in bf16
    assert resolve_precision("auto", "cuda", lora=True) == "bf16"
    assert resolve_precision("auto", "cuda", lora=False) == "bf16-mixed"
    assert resolve_precision("bf16", "cuda", lora=False) == "bf16"
    assert resolve_precision("fp32", "cuda", lora=True) == "fp32"
    bf16_gpu.cuda.is_bf16_supported = lambda *a, **k: False
    assert resolve_precision("auto", "cuda", lora=True) == "fp32"
    with pytest.raises(InputError, match="does not support bfloat16"):
        resolve_precision("bf16", "cuda", lora=True)


def test_attention_and_one_gpu(bf16_gpu, monkeypatch):
    import importlib.util

    assert resolve_attention("auto", "cpu") == "sdpa"
    assert resolve_attention("eager", "cpu") == "eager"
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: object() if name == "flash_attn" else real(name, *a),
    )
    assert resolve_attention("auto", "cuda") == "flash_attention_2"
    check_one_gpu("cuda")
    bf16_gpu.cuda.device_count = lambda: 4
    with pytest.raises(InputError, match="4 GPUs are visible.*CUDA_VISIBLE_DEVICES=2"):
        check_one_gpu("cuda:2")
    check_one_gpu("cpu")


def test_default_learning_rates():
    assert resolve_learning_rate(TrainOptions(method="sft")) == 2e-5
    assert resolve_learning_rate(TrainOptions(method="sft", lora=True)) == 2e-4
    assert resolve_learning_rate(TrainOptions(method="dpo")) == 1e-6
    assert resolve_learning_rate(TrainOptions(method="dpo", learning_rate=3e-4)) == 3e-4
