"""The options of ``curate train`` and the checks and defaults that need no library.

Kept apart from the run so that the CLI can build its flags from :class:`TrainOptions`
without importing anything heavy (``curate train --help`` never loads torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from curate.errors import InputError
from curate.options import option
from curate.plugins import Requirement

METHODS = ("sft", "dpo")
PRECISIONS = ("auto", "bf16", "bf16-mixed", "fp32")
INSTALL = 'pip install -e ".[train]"'
# learning rates by (method, lora): TRL's defaults for full fine-tuning, the usual ones for LoRA
DEFAULT_LR = {
    ("sft", False): 2e-5,
    ("sft", True): 2e-4,
    ("dpo", False): 1e-6,
    ("dpo", True): 5e-6,
}


@dataclass(frozen=True)
class TrainOptions:
    """Every option of ``curate train`` (the CLI's flags come from these declarations)."""

    data: str = option(None, "Selection or pairs folder, or one .jsonl/.parquet file.", cli=False)
    model: str = option(None, "Base model: a local directory or hub id.", cli=False)
    output: str = option(None, "Model folder to write.", cli=False)
    method: str = option(
        "sft",
        "sft: supervised fine-tuning on the conversations (on pairs: prompt + chosen); "
        "dpo: direct preference optimization on pairs.",
        type=click.Choice(METHODS),
    )
    revision: str | None = option(None, "Hub revision (branch, tag or commit) of --model.")
    lora: bool = option(False, "Train a LoRA adapter (PEFT) instead of every weight.")
    lora_r: int = option(16, "LoRA rank.", type=click.IntRange(min=1))
    lora_alpha: int = option(32, "LoRA alpha (scale = alpha / r).", type=click.IntRange(min=1))
    lora_dropout: float = option(0.05, "LoRA dropout.", type=click.FloatRange(0, 1))
    lora_target_modules: str = option(
        "all-linear", "Modules LoRA adapts: all-linear, or names such as q_proj,v_proj."
    )
    chat_template: str | None = option(
        None,
        "Chat template (a .jinja file or the text) to train with; for SFT it needs "
        "{% generation %} markers [default: the model's, or TRL's training version of it].",
    )
    packing: bool = option(False, "SFT: pack conversations into --max-length rows (TRL's bfd).")
    max_length: int = option(
        1024, "Tokens per sequence (longer ones are cut).", type=click.IntRange(min=8)
    )
    learning_rate: float | None = option(
        None,
        "Peak learning rate [default: sft 2e-5 (LoRA 2e-4), dpo 1e-6 (LoRA 5e-6)].",
        type=click.FloatRange(min=0, min_open=True),
    )
    epochs: float = option(
        1.0, "Passes over the data.", type=click.FloatRange(min=0, min_open=True)
    )
    max_steps: int | None = option(
        None,
        "Stop after this many optimizer steps (overrides --epochs).",
        type=click.IntRange(min=1),
    )
    batch_size: int = option(4, "Rows (or pairs) per device step.", type=click.IntRange(min=1))
    grad_accum: int = option(1, "Gradient accumulation steps.", type=click.IntRange(min=1))
    beta: float = option(
        0.1, "DPO: strength of the pull toward the reference model.", type=click.FloatRange(min=0)
    )
    seed: int = option(42, "Seed for the data order, LoRA initialization and dropout.", type=int)
    save_steps: int = option(
        500,
        "Checkpoint every N steps (0: never; a killed run then starts over).",
        type=click.IntRange(min=0),
    )
    logging_steps: int = option(10, "Log the loss every N steps.", type=click.IntRange(min=1))
    device: str = option("auto", "auto (cuda when available), cuda, cuda:N or cpu.")
    dtype: str = option(
        "auto",
        "bf16: bf16 weights; bf16-mixed: fp32 weights, bf16 compute; fp32 [auto: on a GPU "
        "with bf16, bf16 for LoRA (the frozen base) and bf16-mixed for full fine-tuning; "
        "fp32 on CPU].",
        type=click.Choice(PRECISIONS),
    )
    attention: str = option(
        "auto",
        "Attention kernel [auto: flash_attention_2 on a GPU when flash-attn is installed "
        "(packed rows attend within their own conversation at no extra cost), else sdpa].",
        type=click.Choice(["auto", "sdpa", "flash_attention_2", "eager"]),
    )
    gradient_checkpointing: str = option(
        "auto",
        "Recompute activations in the backward pass (less memory, ~20% slower) "
        "[auto: on a GPU only].",
        type=click.Choice(["auto", "on", "off"]),
    )
    keep_checkpoints: bool = option(
        False, "Keep MODEL_DIR/checkpoints when done (optimizer state included)."
    )


@dataclass
class TrainResult:
    output: Path
    manifest: dict[str, Any]
    already_done: bool = False
    resumed_from: str | None = None


def requirements(options: TrainOptions) -> list[Requirement]:
    reqs = [Requirement(m, INSTALL) for m in ("torch", "transformers", "trl", "datasets")]
    reqs.append(Requirement("accelerate", INSTALL))
    if options.lora:
        reqs.append(Requirement("peft", INSTALL))
    return reqs


def check_options(options: TrainOptions) -> None:
    for name in ("data", "model", "output"):
        if not getattr(options, name):
            raise InputError(f"curate train needs {name}")
    if options.method not in METHODS:
        raise InputError(f"--method {options.method!r}: choose sft or dpo")
    if options.packing and options.method != "sft":
        raise InputError("--packing is for --method sft (DPO keeps each pair whole)")


def resolve_learning_rate(options: TrainOptions) -> float:
    if options.learning_rate is not None:
        return float(options.learning_rate)
    return DEFAULT_LR[(options.method, options.lora)]
