"""LLM-judge throughput with vLLM on a random-weight 8B model, and the funnel's GPU-hours (GPU only).

Usage (a CUDA machine with vLLM and ``../shared/data``)::

    python benchmarks/bench_judge_vllm.py                  # prints the table, writes /tmp/bench_judge_vllm.md
    python benchmarks/bench_judge_vllm.py -n 500 --max-new-tokens 128 --out other.md

Writes a random Llama-3-8B-shaped checkpoint (32 layers, hidden 4,096, 8 KV heads,
bf16, safetensors) with a Llama-3-style tokenizer trained on the conversations to
Llama-3's vocabulary size (128,256 entries, so the output layer has the real shape;
trained on the texts it then encodes, it packs more characters into a token than the
real one, about 4.2 against 3.5 for a 32k-entry one: the table shows the ratio). Then it renders
``-n`` pointwise judge prompts (preset ``pointwise``, one conversation each) and ``-n``
pairwise ones (preset ``pairwise``: a conversation's final answer against another
conversation's final answer under the first one's question; only the lengths matter),
drops those that leave less than ``--max-new-tokens`` of the 8,192-token context, and
generates through curate's vLLM backend: pointwise greedy with the 20 top logprobs per
token (what the judge's expected rating needs), pairwise greedy without. Random
weights never write the end-of-text token, so every reply runs to ``--max-new-tokens``:
the worst case for decoding. Reports prompts/s, prompt and generated tokens/s per kind
(after a warm-up), and the GPU-hours of the judge funnel on 1,000,000 conversations in
5,000 clusters, the pool of ``bench_judge_plan.py`` (lognormal sizes, sigma 1, seed 0;
quota 5 %, top-K = 2 x quota pointwise, ceil(quota / 2) items near the cut x 6
opponents x 2 orders): pointwise calls / pointwise prompts/s + pairwise calls /
pairwise prompts/s, over 3,600.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_judge_plan import cluster_sizes  # noqa: E402

from curate.errors import CurateError  # noqa: E402
from curate.judge.design import CallPlan, plan_calls  # noqa: E402
from curate.judge.templates import conversation_fields, language_name, load_template  # noqa: E402

CONTEXT = 8192  # the model's context (max_model_len) and the checkpoint's max positions
VOCAB = 128256  # Llama-3's vocabulary, before our [PAD] entry
WARM_UP = 16  # prompts of each kind generated before timing


def judgeable(conversations: list[list[dict]]) -> list[list[dict]]:
    """The conversations that end with a user turn and an assistant reply (what the judge rates)."""
    out = []
    for messages in conversations:
        try:
            conversation_fields(messages)
        except CurateError:
            continue
        out.append(messages)
    return out


def pointwise_prompts(conversations: list[list[dict]]) -> list[list[dict]]:
    """One judge prompt per conversation with the ``pointwise`` preset, as the judge stage sends it."""
    template = load_template("pointwise")
    language = language_name(None)  # the sample has no language column; the judge's fallback
    return [
        [{"role": "user", "content": template.render(**conversation_fields(c), language=language)}]
        for c in conversations
    ]


def pairwise_prompts(conversations: list[list[dict]]) -> list[list[dict]]:
    """Pairwise prompts: conversation i's final answer (A) against conversation i+1's (B).

    B answers another question, but only the prompts' lengths matter here: two answers
    under one conversation's history and question, as a real pairwise call holds.
    """
    template = load_template("pairwise")
    language = language_name(None)
    prompts = []
    for i, messages in enumerate(conversations):
        fields = conversation_fields(messages)
        other = conversation_fields(conversations[(i + 1) % len(conversations)])
        text = template.render(
            history=fields["history"],
            question=fields["question"],
            answer_a=fields["answer"],
            answer_b=other["answer"],
            language=language,
        )
        prompts.append([{"role": "user", "content": text}])
    return prompts


def fitting(prompts: list[list[dict]], tokenizer: Any, limit: int) -> list[list[dict]]:
    """The prompts that the vLLM backend encodes (chat template) to at most ``limit`` token ids."""
    from curate.llm.templates import PromptRenderer

    encoded = PromptRenderer(tokenizer, "auto", "the benchmark model").encode(prompts)
    return [p for p, ids in zip(prompts, encoded) if not isinstance(ids, str) and len(ids) <= limit]


def funnel_plan(
    total: int = 1_000_000, clusters: int = 5_000, select: float = 0.05, m: int = 6, rounds: int = 3
) -> CallPlan:
    """The funnel's calls on ``bench_judge_plan.py``'s pool (same sizes, quota, top-K, near cut)."""
    sizes = cluster_sizes(total, clusters)
    quota = np.ceil(select * sizes).astype(np.int64)
    return plan_calls(
        sizes,
        quota,
        top_k=np.minimum(sizes, 2 * quota),
        near_cut=np.ceil(quota / 2).astype(np.int64),
        m=m,
        conv_tokens=600,  # bench_judge_plan's defaults; only the call counts are used here
        template_tokens=300,
        answer_tokens=150,
        rounds=rounds,
    )


def gpu_hours(
    pointwise_calls: int, pointwise_rate: float, pairwise_calls: int, pairwise_rate: float
) -> tuple[float, float, float]:
    """(pointwise, pairwise, total) GPU-hours: calls / (prompts per second) / 3600 for each."""
    pointwise = pointwise_calls / pointwise_rate / 3600
    pairwise = pairwise_calls / pairwise_rate / 3600
    return pointwise, pairwise, pointwise + pairwise


def measure(backend: Any, prompts: list[list[dict]], params: Any) -> dict[str, float]:
    """Generate ``prompts`` once (after a warm-up on a few): counts, seconds and rates."""
    backend.generate(prompts[:WARM_UP], params)
    started = time.perf_counter()
    results = backend.generate(prompts, params)
    seconds = time.perf_counter() - started
    done = [r for r in results if r.ok]
    prompt_tokens = sum(r.prompt_tokens for r in done)
    generated = sum(r.completion_tokens for r in done)
    chars = sum(len(p[0]["content"]) for p, r in zip(prompts, results) if r.ok)
    return {
        "prompts": len(done),
        "failed": len(results) - len(done),
        "with_logprobs": sum(r.tokens is not None for r in done),
        "seconds": seconds,
        "mean_prompt_tokens": prompt_tokens / max(len(done), 1),
        "mean_generated_tokens": generated / max(len(done), 1),
        "chars_per_token": chars / max(prompt_tokens, 1),
        "prompts_per_s": len(done) / seconds,
        "prompt_tokens_per_s": prompt_tokens / seconds,
        "generated_tokens_per_s": generated / seconds,
    }


def report(
    runs: dict[str, dict[str, float]], plan: CallPlan, setup: dict[str, Any], command: str
) -> str:
    """The markdown: throughput per kind, then the funnel's GPU-hours at those rates."""
    point, pair = runs["pointwise"], runs["pairwise"]
    pairwise_calls = plan.funnel_pairwise.calls + plan.funnel_adaptive.calls  # at most
    hours = gpu_hours(
        plan.funnel_pointwise.calls,
        point["prompts_per_s"],
        pairwise_calls,
        pair["prompts_per_s"],
    )
    lines = [
        f"{setup['device']}, vLLM {setup['vllm']}, random-weight Llama-3-8B shape (bf16, "
        f"vocabulary {setup['vocab']:,}), context {CONTEXT:,}, greedy, max_new_tokens "
        f"{setup['max_new_tokens']} (random weights: every reply runs to the limit); "
        f"checkpoint written in {setup['write_s']:.0f} s, vLLM loaded in {setup['load_s']:.0f} s.",
        "",
        f"Command: `{command}`",
        "",
        "| kind | prompts | failed | mean prompt tokens | chars / prompt token | "
        "mean generated tokens | seconds | prompts/s | prompt tokens/s | generated tokens/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, r in runs.items():
        label = kind + (" (20 top logprobs)" if kind == "pointwise" else "")
        lines.append(
            f"| {label} | {r['prompts']:,} | {r['failed']} | {r['mean_prompt_tokens']:.0f} "
            f"| {r['chars_per_token']:.2f} | {r['mean_generated_tokens']:.0f} | {r['seconds']:.1f} "
            f"| {r['prompts_per_s']:.2f} | {r['prompt_tokens_per_s']:,.0f} "
            f"| {r['generated_tokens_per_s']:,.0f} |"
        )
    lines += [
        "",
        "Funnel on 1,000,000 conversations in 5,000 clusters (the pool of "
        "`bench_judge_plan.py`), at these rates on this one GPU:",
        "",
        "| funnel part | LLM calls | prompts/s | GPU-hours |",
        "|---|---:|---:|---:|",
        f"| pointwise top-K | {plan.funnel_pointwise.calls:,} | {point['prompts_per_s']:.2f} "
        f"| {hours[0]:.2f} |",
        f"| pairwise near the cut, 3 rounds at most | {pairwise_calls:,} "
        f"| {pair['prompts_per_s']:.2f} | {hours[1]:.2f} |",
        f"| **total, at most** | {plan.funnel.calls:,} | | **{hours[2]:.2f}** |",
        "",
        f"Pointwise replies that came back with their logprobs: {point['with_logprobs']:,} of "
        f"{point['prompts']:,}.",
    ]
    return "\n".join(lines) + "\n"


def write_checkpoint(workdir: Path, corpus: list[str]) -> tuple[Any, float]:
    """A random Llama-3-8B-shaped model and its tokenizer saved to ``workdir``; (tokenizer, seconds)."""
    from curate.testing.tiny_models import build_llama3_tokenizer, llama_config, save_random_llama

    started = time.perf_counter()
    tokenizer = build_llama3_tokenizer(corpus=corpus, vocab_size=VOCAB)
    config = llama_config(
        tokenizer,
        "8b",
        vocab_size=len(tokenizer),
        max_position_embeddings=CONTEXT,
        initializer_range=0.02,
    )
    save_random_llama(workdir, tokenizer, config)
    return tokenizer, time.perf_counter() - started


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="conversations (prompts of each kind)")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the checkpoint is written"
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/bench_judge_vllm.md"))
    args = parser.parse_args(argv)

    import torch

    if not torch.cuda.is_available() or importlib.util.find_spec("vllm") is None:
        sys.exit("bench_judge_vllm.py needs a CUDA GPU and vLLM (pip install vllm)")
    from bench_score import load_conversations

    from curate.llm import GenerationParams, resolve_backend

    pool = judgeable(load_conversations(args.n, 0))
    conversations = pool[: args.n]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rand8b-"))
    corpus = [m["content"] for c in pool[:3000] for m in c]
    tokenizer, write_s = write_checkpoint(workdir, corpus)
    limit = CONTEXT - args.max_new_tokens
    kinds = {
        "pointwise": fitting(pointwise_prompts(conversations), tokenizer, limit),
        "pairwise": fitting(pairwise_prompts(conversations), tokenizer, limit),
    }
    if not all(kinds.values()):
        sys.exit(f"no judge prompt fits in {limit} tokens: lower --max-new-tokens or raise -n")
    params = {
        "pointwise": GenerationParams(max_new_tokens=args.max_new_tokens, top_logprobs=20),
        "pairwise": GenerationParams(max_new_tokens=args.max_new_tokens),
    }

    started = time.perf_counter()
    backend = resolve_backend("vllm", str(workdir), max_model_len=CONTEXT)
    backend.load()
    load_s = time.perf_counter() - started
    runs = {kind: measure(backend, prompts, params[kind]) for kind, prompts in kinds.items()}
    version = backend.identity()["vllm"]
    backend.close()

    setup = {
        "device": torch.cuda.get_device_name(),
        "vllm": version,
        "vocab": len(tokenizer),
        "max_new_tokens": args.max_new_tokens,
        "write_s": write_s,
        "load_s": load_s,
    }
    command = (
        "python benchmarks/bench_judge_vllm.py"
        + (f" -n {args.n}" if args.n != 2000 else "")
        + (f" --max-new-tokens {args.max_new_tokens}" if args.max_new_tokens != 256 else "")
    )
    text = report(runs, funnel_plan(), setup, command)
    print(text)
    args.out.write_text(text, encoding="utf-8")
    return text


if __name__ == "__main__":
    main()
