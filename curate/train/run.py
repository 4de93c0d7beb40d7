"""``curate train``: fine-tune a model on a selection (SFT) or on preference pairs (DPO) with TRL.

The model (a local directory or hub id, safetensors only, never remote code) is
loaded with ``AutoModelForCausalLM`` (:mod:`curate.train.hardware`) and handed to TRL's ``SFTTrainer`` or
``DPOTrainer`` as an object, with its tokenizer as the processing class; LoRA
goes through PEFT (``--lora``). The loss covers the assistant's tokens only
(:mod:`curate.train.templates` picks a chat template with ``{% generation %}``
markers for SFT; DPO loses on the completions by construction). On a GPU with
bf16: LoRA keeps its frozen base in bf16, full fine-tuning keeps fp32 weights and
computes in bf16 (bf16 weights would round its small updates away) and saves the
result in bf16; fp32 on CPU. One GPU per run; sdpa attention, or flash-attn 2 when
installed. TRL never sees a metadata column (:mod:`curate.train.data`), nor prints
(its tqdm and log printer are replaced by a rich bar, :mod:`curate.train.progress`).

``MODEL_DIR`` holds, when done: the model (or the LoRA adapter) with the
tokenizer and the chat template used, loadable with transformers / peft, and
``curate_train.json``: the data fingerprint, the base model's identity, every
parameter, library versions, the loss curve, tokens seen and tokens/s, wall
time, the sessions (and the checkpoint each resumed from), the files it wrote
and ``status`` (``running`` until the model is in place, then ``complete``).

**Rerun, resume, overwrite.** Checkpoints go to ``MODEL_DIR/checkpoints``
(every ``save_steps``, the last one kept). A run is identified by its data
fingerprint, the base model, the chat template and the parameters that change
the model (not the logging or checkpoint cadence, nor the device beyond the
dtype). The same command again: a complete run is a no-op; a killed one resumes
from its last whole checkpoint (``resume_from_checkpoint``), its loss curve and
token count carried over. A folder holding another run needs ``--overwrite``,
which removes only the files that run's manifest lists; a non-empty folder curate
did not write is refused without ``--overwrite``, and with it is written beside
its files, never replacing one. The output is never the base model's folder, the
data's, or the current directory; a lock beside it keeps two runs out
(:mod:`curate.train.output` holds these folder rules).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from curate.errors import CurateError, InputError, StageConflict
from curate.plugins import require
from curate.store import files
from curate.store.manifest import environment, fingerprint, library_versions, now_iso
from curate.train.hardware import (
    check_one_gpu,
    checkpointing,
    load_causal_lm,
    resolve_attention,
    resolve_precision,
    weights,
)
from curate.train.options import (
    TrainOptions,
    TrainResult,
    check_options,
    requirements,
    resolve_learning_rate,
)
from curate.train.output import (
    CHECKPOINTS,
    FORMAT,
    MANIFEST,
    STAGING,
    check_output,
    checkpoint_tokens,
    files_of,
    last_checkpoint,
    model_file_name,
    output_lock,
    read_manifest,
    remove,
)

TRAIN_LIBRARIES = ("trl", "peft", "accelerate", "datasets", "tokenizers", "safetensors")
CURVE_KEYS = (
    "epoch",
    "loss",
    "learning_rate",
    "grad_norm",
    "mean_token_accuracy",
    "entropy",
    "rewards/chosen",
    "rewards/rejected",
    "rewards/accuracies",
    "rewards/margins",
    "logps/chosen",
    "logps/rejected",
    "num_input_tokens_seen",
)


def _differences(previous: dict[str, Any], key_inputs: dict[str, Any]) -> list[str]:
    old = previous.get("key_inputs") or {}
    out = [k for k in ("data", "model", "chat_template", "method") if old.get(k) != key_inputs[k]]
    old_training, new_training = old.get("training") or {}, key_inputs["training"]
    out += sorted(
        k
        for k in set(old_training) | set(new_training)
        if old_training.get(k) != new_training.get(k)
    )
    return out or ["format"]


def _key_inputs(
    options: TrainOptions, data_fp: str, identity: dict, template_sha: str, lr: float, dtype: str
) -> dict[str, Any]:
    """What makes one run's model differ from another's (not the logging, the checkpoint
    cadence or the device beyond the dtype)."""
    training: dict[str, Any] = {
        "learning_rate": lr,
        "epochs": options.epochs,
        "max_steps": options.max_steps,
        "batch_size": options.batch_size,
        "grad_accum": options.grad_accum,
        "max_length": options.max_length,
        "seed": options.seed,
        "dtype": dtype,
        "lora": options.lora,
    }
    if options.lora:
        training |= {
            "lora_r": options.lora_r,
            "lora_alpha": options.lora_alpha,
            "lora_dropout": options.lora_dropout,
            "lora_target_modules": options.lora_target_modules,
        }
    if options.method == "sft":
        training["packing"] = options.packing
    else:
        training["beta"] = options.beta
    return {
        "format": FORMAT,
        "method": options.method,
        "data": data_fp,
        "model": identity,
        "chat_template": template_sha,
        "training": training,
    }


def _target_modules(value: str) -> str | list[str]:
    value = value.strip()
    if value == "all-linear":
        return value
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise InputError(
            "--lora-target-modules: give all-linear or module names, e.g. q_proj,v_proj"
        )
    return names


def _drop_checkpoint_chatter(record: Any) -> bool:
    """transformers warns at every checkpoint rotation that file times may be unreliable."""
    return "mtime may not be reliable" not in record.getMessage()


@contextlib.contextmanager
def _quiet_libraries() -> Iterator[None]:
    """No tqdm bars from datasets / transformers, and no deprecation chatter from them."""
    import datasets
    import transformers

    handlers = transformers.utils.logging._get_library_root_logger().handlers
    for handler in handlers:
        handler.addFilter(_drop_checkpoint_chatter)
    ds_bars = datasets.is_progress_bar_enabled()
    tf_bars = transformers.utils.logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    transformers.utils.logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", message=".*is deprecated.*")
            yield
    finally:
        for handler in handlers:
            handler.removeFilter(_drop_checkpoint_chatter)
        if ds_bars:
            datasets.enable_progress_bars()
        if tf_bars:
            transformers.utils.logging.enable_progress_bar()


def run_train(
    options: TrainOptions,
    overwrite: bool = False,
    quiet: bool = False,
    callbacks: Sequence[Any] = (),
) -> TrainResult:
    """Train ``options.model`` on ``options.data`` into ``options.output`` (see the module
    docstring); ``callbacks``: extra ``TrainerCallback`` objects (tests interrupt with one)."""
    started = time.monotonic()
    check_options(options)
    require(requirements(options), "curate train")
    from transformers import AutoTokenizer

    from curate.models.device import resolve_device
    from curate.models.hub import check_model_directory, model_dir, model_identity, read_config
    from curate.train.data import read_data
    from curate.train.templates import check_template, choose_template

    data = read_data(options.data, options.method)
    directory = model_dir(options.model, options.revision)
    check_model_directory(directory)
    max_positions = read_config(directory).get("max_position_embeddings")
    if isinstance(max_positions, int) and options.max_length > max_positions:
        raise InputError(
            f"--max-length {options.max_length} exceeds the {max_positions} positions of "
            f"{options.model}; use --max-length {max_positions} or less"
        )
    output = check_output(Path(options.output).expanduser(), directory, data.source)
    device = resolve_device(options.device)
    check_one_gpu(device)
    dtype = resolve_precision(options.dtype, device, options.lora)
    attention = resolve_attention(options.attention, device)
    lr = resolve_learning_rate(options)
    with output_lock(output), _quiet_libraries():
        try:
            tokenizer = AutoTokenizer.from_pretrained(directory, trust_remote_code=False)
        except (ValueError, OSError) as exc:
            raise CurateError(
                f"cannot load the tokenizer of {options.model}: {str(exc).splitlines()[0]}"
            ) from None
        template = choose_template(tokenizer, options.method, options.chat_template, options.model)
        check_template(tokenizer, template, options.method)
        identity = model_identity(options.model, directory)
        key_inputs = _key_inputs(options, data.fingerprint, identity, template.sha256, lr, dtype)
        key = fingerprint(key_inputs)

        previous = read_manifest(output)
        ours = files_of(previous)
        present = set(os.listdir(output)) if output.is_dir() else set()
        resume: Path | None = None
        sessions: list[dict[str, Any]] = []
        if previous is not None and previous.get("run_key") == key:
            if previous.get("status") == "complete" and all((output / n).exists() for n in ours):
                return TrainResult(output, previous, already_done=True)
            resume = last_checkpoint(output)
            sessions = list(previous.get("sessions") or []) if resume else []
        elif previous is not None:
            if not overwrite:
                raise StageConflict(
                    f"{output} holds a model that curate train built with other inputs or "
                    f"parameters (they differ in: {', '.join(_differences(previous, key_inputs))}); "
                    "pass --overwrite to replace it (only the files that run wrote), or choose "
                    "another -o"
                )
            remove(output, sorted(ours))
            ours, present = set(), set(os.listdir(output))
        elif present:
            if not overwrite:
                raise InputError(
                    f"-o {output} is not empty and was not written by curate train (no {MANIFEST}): "
                    "choose a new or empty folder, or pass --overwrite to write the model beside "
                    "its files (none of them is removed or replaced)"
                )
            clash = sorted(n for n in present if model_file_name(n))
            if clash:
                raise InputError(
                    f"-o {output} holds {', '.join(clash)}, which curate did not write and a saved "
                    "model would replace; move them away or choose another -o"
                )
        foreign = present - ours
        if resume is None:
            remove(output, [CHECKPOINTS, STAGING])
        else:
            remove(output, [STAGING])

        output.mkdir(parents=True, exist_ok=True)
        session = {
            "started": now_iso(),
            "resumed_from": str(resume.relative_to(output)) if resume else None,
            "start_step": int(resume.name.split("-")[1]) if resume else 0,
        }
        sessions.append(session)
        manifest: dict[str, Any] = {
            "kind": "train",
            "format": FORMAT,
            "status": "running",
            "run_key": key,
            "key_inputs": key_inputs,
            "method": options.method,
            "data": data.describe(),
            "model": identity,
            "chat_template": {"source": template.source, "sha256": template.sha256},
            "options": asdict(options),
            "resolved": {
                "learning_rate": lr,
                "device": device,
                "dtype": dtype,
                "attention": attention,
                "gradient_checkpointing": checkpointing(options, device),
            },
            "environment": environment() | {"train_libraries": library_versions(TRAIN_LIBRARIES)},
            "resumed_from": session["resumed_from"],
            "sessions": sessions,
            "started": (previous or {}).get("started") if resume else now_iso(),
            "files": sorted({MANIFEST, CHECKPOINTS} | (ours & present)),
        }
        files.write_json_atomic(output / MANIFEST, manifest)

        model = load_causal_lm(directory, options.model, weights(dtype), attention)
        tokenizer.chat_template = template.text
        from curate.train.progress import OnSave, TrainProgress

        progress = TrainProgress(options.method, enabled=not quiet)
        session["tokens0"] = checkpoint_tokens(resume)
        clock: dict[str, float] = {}

        def record(state: Any, status: str = "running") -> None:
            now = time.monotonic()
            session["end_step"] = int(state.global_step)
            session["tokens"] = int(state.num_input_tokens_seen or 0) - session["tokens0"]
            if "train" in clock:
                session["train_seconds"] = round(clock.get("trained", now) - clock["train"], 3)
            session["wall_seconds"] = round(now - started, 3)
            manifest.update(_progress_fields(state, sessions))
            manifest["status"] = status
            files.write_json_atomic(output / MANIFEST, manifest)

        trainer = _build_trainer(
            options,
            data,
            tokenizer,
            model,
            directory,
            output,
            device,
            dtype,
            attention,
            lr,
            [progress, OnSave(record), *callbacks],
        )
        clock["train"] = time.monotonic()
        try:
            trainer.train(resume_from_checkpoint=str(resume) if resume else None)
        finally:
            progress.close()
        clock["trained"] = time.monotonic()

        staging = output / STAGING
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        _save_final(trainer, tokenizer, options, directory, staging, dtype)
        new = set(os.listdir(staging))
        clash = sorted(new & foreign)
        if clash:  # checked before training too; the folder changed since
            raise CurateError(
                f"{output} holds {', '.join(clash)}, which curate did not write; move them away "
                "and run the same command again (it resumes from the last checkpoint)"
            )
        manifest["files"] = sorted(set(manifest["files"]) | new | {STAGING})
        record(trainer.state)  # until the swap is done, the manifest names every file of ours
        for name in sorted(new):
            remove(output, [name])
            os.replace(staging / name, output / name)
        staging.rmdir()
        keep = {MANIFEST} | new
        if options.keep_checkpoints and (output / CHECKPOINTS).exists():
            keep.add(CHECKPOINTS)
        remove(output, sorted(set(manifest["files"]) - keep))
        manifest["files"] = sorted(keep)
        manifest["finished"] = session["finished"] = now_iso()
        record(trainer.state, status="complete")
        return TrainResult(output, manifest, resumed_from=session["resumed_from"])


def _progress_fields(state: Any, sessions: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest's record of how far training got: loss curve, tokens, speed, wall time."""
    curve = [
        {"step": int(h["step"]), **{k: h[k] for k in CURVE_KEYS if k in h}}
        for h in state.log_history
        if "loss" in h and "step" in h
    ]
    train_seconds = sum(s.get("train_seconds", 0.0) for s in sessions)
    session_tokens = sum(max(int(s.get("tokens", 0)), 0) for s in sessions)
    return {
        "loss_curve": curve,
        "steps": int(state.global_step),
        "max_steps": int(state.max_steps),
        "epoch": state.epoch,
        "tokens_seen": int(state.num_input_tokens_seen or 0),
        "tokens_per_second": round(session_tokens / train_seconds, 1) if train_seconds else None,
        "wall_seconds": round(sum(s.get("wall_seconds", 0.0) for s in sessions), 3),
    }


def _build_trainer(
    options: TrainOptions,
    data: Any,
    tokenizer: Any,
    model: Any,
    directory: Path,
    output: Path,
    device: str,
    dtype: str,
    attention: str,
    lr: float,
    callbacks: list[Any],
) -> Any:
    """TRL's SFTTrainer or DPOTrainer over the data's trainer columns, with our callbacks only."""
    import torch
    from datasets import Dataset
    from transformers import PrinterCallback

    if device.startswith("cuda:"):
        torch.cuda.set_device(device)
    common: dict[str, Any] = dict(
        output_dir=str(output / CHECKPOINTS),
        per_device_train_batch_size=options.batch_size,
        gradient_accumulation_steps=options.grad_accum,
        learning_rate=lr,
        num_train_epochs=options.epochs,
        max_steps=options.max_steps or -1,
        logging_steps=options.logging_steps,
        logging_first_step=True,
        save_strategy="steps" if options.save_steps else "no",
        save_steps=options.save_steps or 500,
        save_total_limit=1,
        report_to="none",
        disable_tqdm=True,
        seed=options.seed,
        data_seed=options.seed,
        bf16=dtype in ("bf16", "bf16-mixed"),
        fp16=False,
        use_cpu=device == "cpu",
        activation_checkpointing=checkpointing(options, device),
        max_length=options.max_length,
        include_num_input_tokens_seen="non_padding",
        dataloader_num_workers=0,
        trust_remote_code=False,
    )
    peft_config = None
    if options.lora:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=options.lora_r,
            lora_alpha=options.lora_alpha,
            lora_dropout=options.lora_dropout,
            target_modules=_target_modules(options.lora_target_modules),
            task_type="CAUSAL_LM",
        )
    dataset = Dataset.from_list(data.rows)
    if options.method == "sft":
        from trl import SFTConfig, SFTTrainer

        args = SFTConfig(
            **common,
            assistant_only_loss=True,
            packing=options.packing,
            packing_strategy="bfd",
        )
        trainer = SFTTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    else:
        from trl import DPOConfig, DPOTrainer

        ref_model = None
        if not options.lora:  # the frozen reference: the same weights, loaded the same safe way
            # frozen: bf16 weights whenever the compute is bf16
            ref_model = load_causal_lm(
                directory, options.model, "fp32" if dtype == "fp32" else "bf16", attention
            )
        args = DPOConfig(**common, beta=options.beta)
        trainer = DPOTrainer(
            model=model,
            ref_model=ref_model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
            callbacks=callbacks,
        )
    trainer.remove_callback(PrinterCallback)  # it prints every log dict; the bar shows the loss
    return trainer


def _save_final(
    trainer: Any,
    tokenizer: Any,
    options: TrainOptions,
    directory: Path,
    staging: Path,
    precision: str,
) -> None:
    """The trained model (or adapter), the tokenizer and its chat template, as safetensors;
    bf16-mixed weights are saved in bf16, the precision they were computed in."""
    model = trainer.model
    if options.lora:
        base = options.model if not Path(options.model).expanduser().is_dir() else str(directory)
        for config in model.peft_config.values():
            config.base_model_name_or_path = base
        model.save_pretrained(staging, safe_serialization=True)
    else:
        if precision == "bf16-mixed":
            import torch

            model = model.to(torch.bfloat16)
        model.config.use_cache = True
        model.save_pretrained(staging, safe_serialization=True)
    tokenizer.save_pretrained(staging)
