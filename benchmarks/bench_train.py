"""`curate train` throughput: SFT tokens/s on CPU (tiny and small random Llamas), and on a GPU
tokens/s and MFU of a random ~1.5B Llama, with and without LoRA.

Every run goes through :func:`curate.train.run.run_train`, the code path of the
command: a random-weight Llama built from a config (no download) is saved as
safetensors with a byte-level BPE tokenizer trained on the benchmark's own texts
(so token counts come near a real tokenizer's), then fine-tuned for a few steps
on a selection folder of real conversations from ``../shared/data``
(``medicalgpt_zh/sharegpt_zh_1K_format.jsonl``: Chinese, English, Russian, multi-turn;
synthetic conversations when that folder is missing). Tokens/s is steady state:
the tokens of the steps after the first ``--warmup`` divided by their time
(the non-padding input tokens, prompts included, as TRL counts them)::

    python benchmarks/bench_train.py                       # CPU: tiny + small, full and LoRA
    python benchmarks/bench_train.py --gpu --out gpu.json  # GPU: ~1.5B, LoRA and full, packed, bf16
    python benchmarks/bench_train.py --gpu --dry-run       # the GPU path on CPU with a tiny config

MFU = 6 N tokens/s / peak, N the parameters that take part in a matmul (all but the
input embedding), peak ``--peak-tflops`` (989: H100/H200 dense bf16). LoRA trains no
base weight, so its backward pass does about 2N instead of 4N per token: ``mfu_4n``
(4 N tokens/s / peak) is its fairer figure. Prints a markdown table; ``--out``
writes the rows as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SHAREGPT = SHARED / "medicalgpt_zh" / "sharegpt_zh_1K_format.jsonl"
ROLES = {"human": "user", "gpt": "assistant", "system": "system"}


def shared_conversations(limit: int) -> list[list[dict]]:
    """Up to ``limit`` multi-turn conversations from the shared ShareGPT file (empty if missing)."""
    if not SHAREGPT.is_file():
        return []
    out = []
    for line in SHAREGPT.read_bytes().splitlines():
        try:
            turns = orjson.loads(line).get("conversations") or []
        except orjson.JSONDecodeError:
            continue
        messages = [
            {"role": ROLES[t.get("from")], "content": t.get("value")}
            for t in turns
            if t.get("from") in ROLES and isinstance(t.get("value"), str) and t["value"].strip()
        ]
        if any(m["role"] == "assistant" for m in messages) and messages[0]["role"] != "assistant":
            out.append(messages)
        if len(out) >= limit:
            break
    return out


def synthetic_conversations(n: int, seed: int = 0) -> list[list[dict]]:
    """Conversations of random words, 100-400 words a reply: for machines without the data."""
    rng = random.Random(seed)
    words = [
        "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9)))
        for _ in range(3000)
    ]

    def text(lo: int, hi: int) -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(lo, hi)))

    return [
        [
            {"role": "user", "content": text(10, 60) + "?"},
            {"role": "assistant", "content": text(100, 400) + "."},
        ]
        for _ in range(n)
    ]


def write_selection(folder: Path, conversations: list[list[dict]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "subset.jsonl").write_bytes(
        b"".join(
            orjson.dumps({"id": f"c{i}", "messages": c}) + b"\n"
            for i, c in enumerate(conversations)
        )
    )
    (folder / "report.json").write_text("{}")
    return folder


def write_model(folder: Path, conversations, shape: str, vocab: int, device: str) -> Path:
    """A random Llama of ``shape`` (a name of ``tiny_models.LLAMA_SHAPES``) with a tokenizer
    trained on the texts, saved as safetensors."""
    import torch

    from curate.testing.tiny_models import build_llama3_tokenizer, llama_config, save_random_llama

    texts = [m["content"] for c in conversations[:2000] for m in c]
    tokenizer = build_llama3_tokenizer(corpus=texts, vocab_size=vocab)
    # the GPU shape keeps a Llama-2-sized output layer (32k) whatever the tokenizer reached
    wide = {"vocab_size": max(32000, len(tokenizer))} if shape == "1.5b" else {}
    config = llama_config(tokenizer, shape, **wide)
    if config.vocab_size < len(tokenizer):
        config.vocab_size = len(tokenizer)
    if device == "cpu":
        from transformers import LlamaForCausalLM

        torch.manual_seed(0)
        LlamaForCausalLM(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        return folder
    return save_random_llama(folder, tokenizer, config, device=device)


def matmul_params(folder: Path) -> int:
    """Parameters that take part in a matmul: all but the input embedding (from the config)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(folder)
    import torch

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    total = sum(p.numel() for p in model.parameters())
    return total - model.get_input_embeddings().weight.numel()


def steady_clock(warmup: int):
    """A TrainerCallback timing the steps after ``warmup`` (tokens and seconds)."""
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def __init__(self):
            self.start = self.tokens0 = None
            self.end = self.tokens1 = None
            self.steps = 0

        def on_step_end(self, args, state, control, **kwargs):
            if state.global_step == warmup:
                _sync()
                self.start, self.tokens0 = time.perf_counter(), state.num_input_tokens_seen
            elif state.global_step > warmup:
                _sync()
                self.end, self.tokens1 = time.perf_counter(), state.num_input_tokens_seen
                self.steps = state.global_step - warmup

        def rate(self) -> float:
            return (self.tokens1 - self.tokens0) / (self.end - self.start)

    return Clock()


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def train_once(data: Path, model: Path, out: Path, label: str, warmup: int, **options) -> dict:
    from curate.train.run import TrainOptions, run_train

    clock = steady_clock(warmup)
    if out.exists():
        import shutil

        shutil.rmtree(out)
    start = time.perf_counter()
    result = run_train(
        TrainOptions(data=str(data), model=str(model), output=str(out), **options),
        quiet=True,
        callbacks=[clock],
    )
    wall = time.perf_counter() - start
    manifest = result.manifest
    curve = manifest["loss_curve"]
    row = {
        "run": label,
        "lora": bool(options.get("lora")),
        "precision": manifest["resolved"]["dtype"],
        "attention": manifest["resolved"]["attention"],
        "gradient_checkpointing": manifest["resolved"]["gradient_checkpointing"],
        "steps": manifest["steps"],
        "timed_steps": clock.steps,
        "tokens_per_step": round((clock.tokens1 - clock.tokens0) / max(clock.steps, 1)),
        "tokens_per_second": round(clock.rate(), 1),
        "loss_first": round(curve[0]["loss"], 4),
        "loss_last": round(curve[-1]["loss"], 4),
        "wall_seconds": round(wall, 1),
    }
    try:
        import torch

        if torch.cuda.is_available():
            row["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
            torch.cuda.reset_peak_memory_stats()
    except ImportError:
        pass
    return row


def cpu_bench(args, root: Path) -> list[dict]:
    conversations = shared_conversations(args.conversations)
    source = f"{len(conversations)} conversations of {SHAREGPT.relative_to(SHARED.parent)}"
    if not conversations:
        conversations = synthetic_conversations(args.conversations)
        source = f"{len(conversations)} synthetic conversations (../shared/data is missing)"
    data = write_selection(root / "data", conversations)
    rows = []
    for name in args.models:
        shape = "tiny" if name == "tiny" else "small"
        model = write_model(root / name, conversations, shape, args.vocab, "cpu")
        n = matmul_params(model)
        for lora in (False, True):
            row = train_once(
                data,
                model,
                root / f"out-{name}-{lora}",
                f"{name} ({n / 1e6:.1f}M)",
                args.warmup,
                device="cpu",
                lora=lora,
                max_steps=args.steps,
                batch_size=args.batch_size,
                max_length=args.max_length,
                logging_steps=1,
                save_steps=0,
                seed=0,
            )
            row["params"] = n
            rows.append(row)
    print(f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores): {source}")
    print(
        f"SFT, batch {args.batch_size}, max length {args.max_length}, {args.steps} steps "
        f"(tokens/s over steps {args.warmup + 1}-{args.steps}), fp32\n"
    )
    print(
        "| model (matmul params) | LoRA | tokens/step | tokens/s | loss first -> last | wall (s) |"
    )
    print("|---|---|---:|---:|---|---:|")
    for r in rows:
        print(
            f"| {r['run']} | {'r=16' if r['lora'] else 'no'} | {r['tokens_per_step']:,} | "
            f"{r['tokens_per_second']:,.0f} | {r['loss_first']:.3f} -> {r['loss_last']:.3f} | "
            f"{r['wall_seconds']:.1f} |"
        )
    return rows


def gpu_bench(args, root: Path) -> list[dict]:
    import importlib.util

    dry = args.dry_run
    device = "cpu" if dry else "cuda"
    shape = "tiny" if dry else "1.5b"
    length = 128 if dry else args.gpu_length
    conversations = shared_conversations(4000) or synthetic_conversations(4000 if not dry else 200)
    data = write_selection(root / "data", conversations)
    model = write_model(root / "model", conversations, shape, args.vocab, device)
    n = matmul_params(model)
    flash = importlib.util.find_spec("flash_attn") is not None and not dry
    # without flash-attn, packed rows of a batch become one row whose sdpa mask is
    # (batch x length)^2: micro-batches of one row keep attention at length^2
    batch = args.gpu_batch or (8 if flash else 1)
    accum = max(1, 8 // batch)
    rows = []
    for lora in (True, False):
        row = train_once(
            data,
            model,
            root / f"out-{lora}",
            f"{n / 1e9:.2f}B" if not dry else f"tiny ({n / 1e6:.2f}M, dry run)",
            2 if dry else args.warmup,
            device=device,
            lora=lora,
            packing=True,
            max_length=length,
            max_steps=4 if dry else args.gpu_steps,
            batch_size=batch,
            grad_accum=accum,
            learning_rate=1e-4 if lora else 1e-5,
            logging_steps=1,
            save_steps=0,
            seed=0,
            dtype="fp32" if dry else "auto",
        )
        row["params"] = n
        row["mfu_6n"] = round(6 * n * row["tokens_per_second"] / (args.peak_tflops * 1e12), 4)
        if lora:
            row["mfu_4n"] = round(4 * n * row["tokens_per_second"] / (args.peak_tflops * 1e12), 4)
        rows.append(row)
    gpu = "CPU (dry run)"
    if not dry:
        import torch

        gpu = torch.cuda.get_device_name()
    print(
        f"{gpu}: SFT, packed (bfd) to {length} tokens, micro-batch {batch} x {accum} accumulation, "
        f"gradient checkpointing {'on' if rows[0]['gradient_checkpointing'] else 'off'}, "
        f"peak {args.peak_tflops:g} TFLOPS\n"
    )
    print(
        "| model | LoRA | precision | attention | tokens/s | MFU (6N) | MFU (4N, LoRA) | peak GiB | loss first -> last |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---|")
    for r in rows:
        mfu_4n = f"{100 * r['mfu_4n']:.1f}%" if "mfu_4n" in r else "-"
        print(
            f"| {r['run']} | {'r=16' if r['lora'] else 'no (full)'} | {r['precision']} | "
            f"{r['attention']} | {r['tokens_per_second']:,.0f} | {100 * r['mfu_6n']:.1f}% | "
            f"{mfu_4n} | "
            f"{r.get('peak_gpu_gib', '-')} | {r['loss_first']:.3f} -> {r['loss_last']:.3f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gpu", action="store_true", help="the ~1.5B GPU benchmark")
    parser.add_argument(
        "--dry-run", action="store_true", help="with --gpu: the same code on CPU, tiny config"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak")
    parser.add_argument("--models", nargs="+", default=["tiny", "small"], choices=["tiny", "small"])
    parser.add_argument("--conversations", type=int, default=300)
    parser.add_argument("--steps", type=int, default=12, help="CPU: steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="steps left out of tokens/s")
    parser.add_argument("--batch-size", type=int, default=4, help="CPU: rows per step")
    parser.add_argument("--max-length", type=int, default=512, help="CPU: tokens per row")
    parser.add_argument("--vocab", type=int, default=8000, help="tokenizer vocabulary to train")
    parser.add_argument("--gpu-steps", type=int, default=30)
    parser.add_argument("--gpu-length", type=int, default=2048)
    parser.add_argument(
        "--gpu-batch", type=int, default=None, help="[default: 8 with flash-attn, else 1]"
    )
    parser.add_argument("--keep", type=Path, default=None, help="work folder to keep")
    args = parser.parse_args()
    if args.dry_run and not args.gpu:
        parser.error("--dry-run goes with --gpu")
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        root = args.keep or Path(tmp)
        rows = gpu_bench(args, root) if args.gpu else cpu_bench(args, root)
    if args.out:
        args.out.write_text(
            json.dumps({"gpu": args.gpu, "dry_run": args.dry_run, "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    main()
