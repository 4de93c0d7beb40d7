"""Reward-scoring throughput: curate's ArmoRM scorer against the model card's loop.

Usage::

    python benchmarks/bench_score.py                       # CPU, small random ArmoRM
    python benchmarks/bench_score.py --gpu                 # CUDA, random ArmoRM of the full 8B size, bf16

On a GPU machine without ``../shared/data`` (the lent device), sample here and carry the file::

    python benchmarks/bench_score.py --gpu --dump .bench/conversations.jsonl     # here
    python3 benchmarks/bench_score.py --gpu --conversations .bench/conversations.jsonl  # there

Both sides score the same conversations with the same random weights:

* **naive** (the model card): one conversation at a time,
  ``tokenizer.apply_chat_template(messages, return_tensors="pt")``, ``model(input_ids)``,
  ``.score.item()``: the authors' architecture (:class:`curate.testing.tiny_models.ReferenceArmoRM`);
* **curate**: :class:`scorers.armorm.ArmoRMScorer` on the same weights (``prepare`` +
  ``run``: chat template and tokenizer included, sequentially, no overlap credited):
  length-sorted batches packed to a token budget, SDPA, bf16 on GPU.

Conversations: a seeded sample from ``../shared/data`` (English, Simplified and
Traditional Chinese, Russian; single and multi-turn). The tokenizer is a
Llama-3-style BPE trained on those texts (32,000 pieces, Llama 3's special
tokens and chat template), so token counts come close to Llama 3's; conversations
longer than ``--max-length`` tokens are left out so both sides do the same work.
Tokens/s counts real (unpadded) tokens. The ceiling for the 8B model is about
2 x 7.5e9 FLOPs per token at 790 TFLOP/s: ~52,000 tokens/s on one H100/H200.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = [
    "lima_en/lima.json",
    "oasst_zh/oaast_sft_zh.json",
    "rulm_ru/ru_turbo_alpaca_gen100.jsonl",
    "rulm_ru/saicuna_vs_vicuna.jsonl",
    "zh_tw_bench/TTQA_1.0.0_tw_llama_v1.0.json",
    "medicalgpt_zh/sharegpt_zh_1K_format.jsonl",
    "alpaca_52k_en",
    "moss_sft_zh_en/conversation_without_plugins__helpful_conversations.jsonl",
]
PEAK_FLOPS_BF16 = 790e12
FLOPS_PER_TOKEN_8B = 2 * 7.5e9


def load_conversations(n: int, seed: int) -> list[list[dict]]:
    """A seeded sample with an assistant reply, the same number from each source, through ``curate ingest``."""
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.store import Store

    paths = [str(DATA / s) for s in SOURCES if (DATA / s).exists()]
    if not paths:
        sys.exit(f"no data under {DATA}")
    with tempfile.TemporaryDirectory() as tmp:
        Ingestor(paths, Path(tmp) / "store", IngestOptions(), workers=0).run()
        table = Store.open(Path(tmp) / "store").read(columns=["messages", "flags", "source"])
    by_source: dict[str, list] = {}
    for m, f, src in zip(
        table.column("messages").to_pylist(),
        table.column("flags").to_pylist(),
        table.column("source").to_pylist(),
    ):
        if "no_assistant" not in f and "ends_on_user" not in f and "role_order" not in f:
            by_source.setdefault(src["file"].split("/shared/data/")[-1].split("/")[0], []).append(m)
    rng = random.Random(seed)
    rows = []
    for source in sorted(by_source):
        group = by_source[source]
        rng.shuffle(group)
        rows += group[: 2 * n // len(by_source) + 1]  # some are dropped for length below
    rng.shuffle(rows)
    return rows


def build(size: str, device: str, dtype: torch.dtype, texts: list[str]):
    from curate.testing.tiny_models import build_llama3_tokenizer, build_reference_armorm
    from scorers.armorm import ArmoRMRewardModel

    tokenizer = build_llama3_tokenizer(corpus=texts, vocab_size=32000)
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            reference = build_reference_armorm(
                tokenizer, size=size, gating_hidden_dim=1024 if size == "8b" else 256
            )
    finally:
        torch.set_default_dtype(torch.float32)
    reference.eval()
    # curate's model shares the backbone tensors (assign=True); heads become float32 copies
    with torch.device("meta"):
        ours = ArmoRMRewardModel(reference.config)
    state = reference.state_dict()
    heads = ("regression_layer.", "gating.", "reward_transform_matrix")
    state = {k: (v.float() if k.startswith(heads) else v) for k, v in state.items()}
    ours.load_state_dict(state, strict=True, assign=True)
    from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

    with torch.device(device):
        ours.model.rotary_emb = LlamaRotaryEmbedding(reference.config)
    return tokenizer, reference, ours.eval()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def naive_loop(reference, tokenizer, conversations, device):
    """The model card: one conversation at a time, template + tokenizer + forward + .item()."""
    scores, tokens = [], 0
    sync(device)
    start = time.perf_counter()
    for messages in conversations:
        input_ids = tokenizer.apply_chat_template(messages, return_tensors="pt", return_dict=True)[
            "input_ids"
        ].to(device)
        with torch.no_grad():
            output = reference(input_ids)
        scores.append(output["score"].float().item())
        tokens += input_ids.shape[1]
    sync(device)
    return time.perf_counter() - start, tokens, np.array(scores)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", action="store_true", help="CUDA, full 8B size, bf16")
    parser.add_argument("--size", choices=["tiny", "small", "8b"], default=None)
    parser.add_argument("-n", type=int, default=None, help="conversations for curate")
    parser.add_argument(
        "--naive-n", type=int, default=None, help="conversations for the naive loop"
    )
    parser.add_argument("--max-length", type=int, default=4096)
    parser.add_argument("--token-budget", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")
    parser.add_argument(
        "--dump", type=Path, default=None, help="write the sampled conversations (JSONL) and stop"
    )
    parser.add_argument(
        "--conversations",
        type=Path,
        default=None,
        help="read conversations from a --dump file instead of ../shared/data (a machine without it)",
    )
    args = parser.parse_args()
    device = "cuda" if args.gpu else "cpu"
    size = args.size or ("8b" if args.gpu else "small")
    dtype = torch.bfloat16 if args.gpu else torch.float32
    n = args.n or (4000 if args.gpu else 400)
    naive_n = args.naive_n or (500 if args.gpu else 200)
    torch.manual_seed(args.seed)
    if not args.gpu:
        torch.set_num_threads(max(1, torch.get_num_threads()))

    t0 = time.perf_counter()
    if args.conversations:
        lines = args.conversations.read_text(encoding="utf-8").splitlines()
        pool = [json.loads(line)["messages"] for line in lines if line.strip()]
    else:
        pool = load_conversations(n, args.seed)
    if args.dump:
        args.dump.parent.mkdir(parents=True, exist_ok=True)
        with open(args.dump, "w", encoding="utf-8") as fh:
            for messages in pool:
                fh.write(json.dumps({"messages": messages}, ensure_ascii=False) + "\n")
        print(f"wrote {len(pool):,} conversations to {args.dump}")
        return
    texts = [m["content"] for c in pool[:3000] for m in c]
    tokenizer, reference, ours = build(size, device, dtype, texts)
    print(f"setup {time.perf_counter() - t0:.1f} s", file=sys.stderr)

    from curate.models.batching import padding_fraction, plan_batches
    from scorers.armorm import ArmoRMScorer

    max_length = min(args.max_length, ours.config.max_position_embeddings)
    scorer = ArmoRMScorer(
        "random", key="armorm", max_length=max_length, token_budget=args.token_budget
    )
    scorer.use_loaded(ours, tokenizer, device, dtype)
    encoded = scorer.prepare(pool)
    keep = [i for i, s in enumerate(encoded.status) if s == "ok"][:n]
    conversations = [pool[i] for i in keep]
    lengths = encoded.lengths[keep]

    # warm-up (kernels, allocator) on a few rows, both sides
    scorer.score(conversations[:16])
    naive_loop(reference, tokenizer, conversations[:4], device)

    sync(device)
    start = time.perf_counter()
    prepared = scorer.prepare(conversations)
    prepare_seconds = time.perf_counter() - start
    columns = scorer.run(prepared)
    sync(device)
    curate_seconds = time.perf_counter() - start
    curate_tokens = int(lengths.sum())
    ours_scores = np.asarray(
        columns["armorm_score"].to_numpy(zero_copy_only=False), dtype=np.float64
    )

    naive_seconds, naive_tokens, naive_scores = naive_loop(
        reference, tokenizer, conversations[:naive_n], device
    )
    diff = np.abs(ours_scores[:naive_n] - naive_scores)
    # curate on exactly the naive loop's conversations: the like-for-like ratio
    sync(device)
    start = time.perf_counter()
    scorer.score(conversations[:naive_n])
    sync(device)
    same_seconds = time.perf_counter() - start
    batches = plan_batches(lengths, scorer.token_budget, scorer.max_batch_size)
    curate_tps = curate_tokens / curate_seconds
    naive_tps = naive_tokens / naive_seconds
    result = {
        "device": torch.cuda.get_device_name()
        if args.gpu
        else f"cpu ({torch.get_num_threads()} threads)",
        "model": f"random ArmoRM, {size} ({sum(p.numel() for p in reference.parameters()) / 1e6:,.1f} M parameters), {str(dtype).removeprefix('torch.')}",
        "conversations": len(conversations),
        "tokens": curate_tokens,
        "mean_tokens": round(float(lengths.mean()), 1),
        "max_tokens": int(lengths.max()),
        "token_budget": scorer.token_budget,
        "batches": len(batches),
        "padding_fraction": round(padding_fraction(lengths, batches, scorer.pad_multiple), 4),
        "curate_seconds": round(curate_seconds, 2),
        "curate_prepare_seconds": round(prepare_seconds, 2),
        "curate_tokens_per_s": round(curate_tps, 1),
        "curate_conversations_per_s": round(len(conversations) / curate_seconds, 2),
        "naive_conversations": len(naive_scores),
        "naive_seconds": round(naive_seconds, 2),
        "naive_tokens_per_s": round(naive_tps, 1),
        "curate_on_naive_subset_seconds": round(same_seconds, 2),
        "speedup_same_conversations": round(naive_seconds / same_seconds, 2),
        "speedup_tokens_per_s": round(curate_tps / naive_tps, 2),
        "max_abs_score_diff_vs_naive": float(diff.max()),
    }
    if size == "8b":
        ceiling = PEAK_FLOPS_BF16 / FLOPS_PER_TOKEN_8B
        result["ceiling_tokens_per_s"] = round(ceiling)
        result["share_of_ceiling"] = round(curate_tps / ceiling, 3)
    if args.gpu:
        result["peak_gpu_memory_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
