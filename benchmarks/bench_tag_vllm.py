"""InsTag tagging throughput with vLLM on a random-weight 7B model (GPU only).

Usage (a CUDA machine with vLLM; ``../shared/data`` or a dump from bench_score)::

    python benchmarks/bench_tag_vllm.py
    python benchmarks/bench_tag_vllm.py --conversations .bench/conversations.jsonl -n 2000

Writes a random Llama-2-7B-shaped checkpoint (32 layers, hidden 4,096, bf16,
safetensors) with a Llama-3-style tokenizer trained on the conversations, then
tags ``-n`` conversations through :class:`taggers.instag.InstagTagger` and the
vLLM backend (one prompt per user turn, greedy, guided JSON where the installed
vLLM has it, ``--max-new-tokens`` 384; a sampled retry for replies that fail to
parse). Random weights write garbage, so most replies run to the token limit:
this is the worst case for decoding, and every reply is recorded as a failure.
Reports conversations/s, prompts/s, prompt and generated tokens/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--conversations", type=Path, default=None)
    parser.add_argument("--max-new-tokens", type=int, default=384)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="where the checkpoint is written"
    )
    args = parser.parse_args()

    import torch

    from curate.llm import resolve_backend
    from curate.testing.tiny_models import build_llama3_tokenizer, llama_config, save_random_llama
    from taggers.instag import InstagParams, InstagTagger

    if not torch.cuda.is_available():
        sys.exit("bench_tag_vllm.py needs a CUDA GPU and vLLM")
    if args.conversations:
        lines = args.conversations.read_text(encoding="utf-8").splitlines()
        pool = [json.loads(line)["messages"] for line in lines if line.strip()]
    else:
        from bench_score import load_conversations

        pool = load_conversations(args.n, 0)
    conversations = pool[: args.n]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="rand7b-"))
    started = time.perf_counter()
    tokenizer = build_llama3_tokenizer(
        corpus=[m["content"] for c in pool[:3000] for m in c], vocab_size=32000
    )
    config = llama_config(tokenizer, "7b", initializer_range=0.02)
    save_random_llama(workdir, tokenizer, config)
    setup = time.perf_counter() - started

    backend = resolve_backend("vllm", str(workdir), max_model_len=4096)
    tagger = InstagTagger(backend, InstagParams(max_new_tokens=args.max_new_tokens))
    tagger.load()
    tagger.tag(conversations[:8])  # warm-up
    started = time.perf_counter()
    results = tagger.tag(conversations)
    wall = time.perf_counter() - started
    prompts = sum(r.turns for r in results)
    prompt_tokens = sum(r.prompt_tokens for r in results)
    generated = sum(r.completion_tokens for r in results)
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    print(
        json.dumps(
            {
                "device": torch.cuda.get_device_name(),
                "model": "random Llama-2-7B shape, bf16",
                "setup_seconds": round(setup, 1),
                "conversations": len(results),
                "prompts (user turns, plus retries in tokens)": prompts,
                "seconds": round(wall, 1),
                "conversations_per_s": round(len(results) / wall, 2),
                "prompts_per_s": round(prompts / wall, 2),
                "prompt_tokens_per_s": round(prompt_tokens / wall, 1),
                "generated_tokens_per_s": round(generated / wall, 1),
                "status": statuses,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
