"""Where and how ``curate train`` computes: precision, attention kernel, one GPU, model loading.

The choices that depend on the device and the installed kernels, and the one safe way
the trained model (and DPO's reference) is loaded: safetensors, never remote code.
torch and transformers are imported inside each function, never at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from curate.errors import CurateError, InputError
from curate.train.options import TrainOptions


def resolve_precision(option_value: str, device: str, lora: bool) -> str:
    """``bf16`` (bf16 weights, bf16 compute), ``bf16-mixed`` (fp32 weights updated in fp32,
    bf16 compute: full fine-tuning, whose small updates bf16 weights would round away) or
    ``fp32``."""
    import torch

    gpu = device.startswith("cuda")
    if option_value in ("bf16", "bf16-mixed"):
        if gpu and not torch.cuda.is_bf16_supported():
            raise InputError(
                f"--dtype {option_value}: this GPU does not support bfloat16; use --dtype fp32"
            )
        return option_value
    if option_value == "fp32" or not gpu or not torch.cuda.is_bf16_supported():
        return "fp32"
    return "bf16" if lora else "bf16-mixed"


def resolve_attention(option_value: str, device: str) -> str:
    if option_value != "auto":
        return option_value
    import importlib.util

    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"


def check_one_gpu(device: str) -> None:
    """TRL's trainers run on one GPU per process: several visible ones would be data-parallel."""
    if not device.startswith("cuda") or os.environ.get("WORLD_SIZE"):
        return
    import torch

    count = torch.cuda.device_count()
    if count > 1:
        index = device.partition(":")[2] or "0"
        raise InputError(
            f"{count} GPUs are visible and curate train uses one: run it with "
            f"CUDA_VISIBLE_DEVICES={index} (and --device cuda)"
        )


def weights(precision: str) -> str:
    """The dtype the trained weights are loaded in."""
    return "bf16" if precision == "bf16" else "fp32"


def checkpointing(options: TrainOptions, device: str) -> bool:
    if options.gradient_checkpointing == "auto":
        return device.startswith("cuda")
    return options.gradient_checkpointing == "on"


def load_causal_lm(directory: Path, ref: str, weights: str, attention: str = "sdpa") -> Any:
    """``AutoModelForCausalLM`` from safetensors, never remote code; a clear error otherwise.
    ``weights``: ``bf16`` or ``fp32``."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        return AutoModelForCausalLM.from_pretrained(
            directory,
            dtype=torch.bfloat16 if weights == "bf16" else torch.float32,
            use_safetensors=True,
            trust_remote_code=False,
            attn_implementation=attention,
        )
    except (ValueError, OSError, ImportError) as exc:
        raise CurateError(
            f"cannot load {ref} as a causal language model: {str(exc).splitlines()[0]}"
        ) from None
