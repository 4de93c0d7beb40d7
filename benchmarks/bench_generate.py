"""Rejection-sampling throughput: ``curate generate`` at n = 7, against the backend's own sampler.

Usage::

    python benchmarks/bench_generate.py                     # CPU: a small random Llama, transformers
    python benchmarks/bench_generate.py --gpu               # CUDA + vLLM: a random 1.5B Llama, bf16

Prompts are real: the user turns of conversations from ``../shared/data`` (the sample of
``bench_score.py``), cut before their final answer as ``curate generate`` cuts them. The
model has random weights (nothing is downloaded), so replies run to ``--max-new-tokens``:
the worst case for decoding; only the speed is measured.

Three ways to sample ``n`` answers for each prompt, the same prompts and token budget:

* ``curate generate``: the whole stage (prompt table, samples on the stage runner, the new
  store written): one request per sample, each with its own seed (``sample_seed``), so a
  sample does not depend on its batch (transformers: the per-row Gumbel-max sampler);
* ``backend, per-sample seeds``: the same requests straight to the backend (the stage's
  overhead is the difference);
* ``baseline``: the backend's own sampler with one seed for the whole call (transformers:
  ``do_sample`` with torch's global generator; vLLM: ``SamplingParams(n=7)``, which shares
  the prompt's prefill across its samples), which gives no per-sample reproducibility.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def prompts_from_data(count: int, max_chars: int) -> list[list[dict]]:
    """``count`` prompts (everything before the final answer), each at most ``max_chars`` long."""
    from bench_score import load_conversations

    from curate.ids import prompt_end

    out = []
    for messages in load_conversations(count * 2, 0):
        prompt = messages[: prompt_end([m["role"] for m in messages])]  # as generate cuts it
        if (
            prompt
            and prompt[-1]["role"] == "user"
            and sum(len(m["content"]) for m in prompt) <= max_chars
        ):
            out.append(prompt)
        if len(out) == count:
            break
    return out


def write_model(workdir: Path, corpus: list[str], shape: str, device: str) -> Path:
    """A random Llama of a ``tiny_models.LLAMA_SHAPES`` shape, its tokenizer trained on ``corpus``."""
    from curate.testing.tiny_models import build_llama3_tokenizer, llama_config, save_random_llama

    tokenizer = build_llama3_tokenizer(corpus=corpus, vocab_size=32000)
    config = llama_config(tokenizer, shape, initializer_range=0.02)
    save_random_llama(workdir, tokenizer, config, device=device)
    return workdir


def timed(fn) -> tuple[Any, float]:
    started = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - started


def requests_of(prompts, options) -> tuple[list, list[int]]:
    """The stage's requests: each prompt n times, with the stage's per-sample seeds."""
    from curate.generate.sampling import sample_requests
    from curate.ids import conversation_id

    ids = [conversation_id([(m["role"], m["content"]) for m in p]) for p in prompts]
    return sample_requests(ids, prompts, options)


def store_of(prompts, root: Path):
    """A store whose rows are the prompts (prompt-only rows), as ``curate ingest`` makes it."""
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.store import Store

    path = root / "prompts.jsonl"
    path.write_text(
        "".join(json.dumps({"messages": p}, ensure_ascii=False) + "\n" for p in prompts)
    )
    Ingestor([str(path)], root / "store", IngestOptions(), workers=0).run()
    return Store.open(root / "store")


def vllm_native(backend, prompts, n: int, params) -> list[int]:
    """vLLM's own n-sample request (``SamplingParams(n=n)``): completion tokens of every sample."""
    from vllm import SamplingParams

    sampling = SamplingParams(
        n=n,
        temperature=params.temperature,
        top_p=params.top_p,
        max_tokens=params.max_new_tokens,
        seed=0,
    )
    encoded = backend.renderer.encode(prompts)
    outs = backend.llm.generate(
        [{"prompt_token_ids": ids} for ids in encoded], sampling, use_tqdm=False
    )
    return [len(c.token_ids) for o in outs for c in o.outputs]


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", action="store_true", help="vLLM on CUDA with a random 1.5B Llama")
    parser.add_argument("--prompts", type=int, default=None, help="[CPU 16, GPU 512]")
    parser.add_argument("-n", type=int, default=7)
    parser.add_argument("--max-new-tokens", type=int, default=None, help="[CPU 32, GPU 256]")
    parser.add_argument("--out", type=Path, default=None, help="also write the markdown here")
    args = parser.parse_args(argv)

    import torch

    from curate.generate.run import GenerateOptions, run_generate
    from curate.generate.sampling import SamplingOptions
    from curate.llm import resolve_backend

    if args.gpu and (not torch.cuda.is_available() or importlib.util.find_spec("vllm") is None):
        sys.exit("--gpu needs a CUDA GPU and vLLM (pip install -e '.[gpu]')")
    count = args.prompts or (512 if args.gpu else 16)
    max_new = args.max_new_tokens or (256 if args.gpu else 32)
    prompts = prompts_from_data(count, 6000 if args.gpu else 1500)
    workdir = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    corpus = [m["content"] for p in prompts for m in p]
    shape = "1.5b" if args.gpu else "small"
    (_, write_s) = timed(
        lambda: write_model(workdir / "model", corpus, shape, "cuda" if args.gpu else "cpu")
    )
    kind = "vllm" if args.gpu else "transformers"
    options = {} if args.gpu else {"device": "cpu"}
    backend = resolve_backend(kind, str(workdir / "model"), **options)
    (_, load_s) = timed(backend.load)
    sampling = SamplingOptions(
        n=args.n, temperature=0.8, top_p=0.95, max_new_tokens=max_new, seed=0
    )
    params = sampling.params()
    requests, seeds = requests_of(prompts, sampling)
    backend.generate(requests[: 2 * args.n], params, seeds=seeds[: 2 * args.n])  # warm-up
    rows = []

    def add(label: str, tokens: int, seconds: float) -> None:
        rows.append((label, tokens, seconds, tokens / seconds))

    out, s = timed(lambda: backend.generate(requests, params, seeds=seeds))
    add("backend, per-sample seeds", sum(g.completion_tokens for g in out), s)
    if args.gpu:
        native, s = timed(lambda: vllm_native(backend, prompts, args.n, params))
        add(f"baseline: vLLM SamplingParams(n={args.n})", sum(native), s)
    else:
        out, s = timed(lambda: backend.generate(requests, params))
        add("baseline: do_sample, one seed per call", sum(g.completion_tokens for g in out), s)
    store = store_of(prompts, workdir)
    result, s = timed(
        lambda: run_generate(
            store, workdir / "samples", backend, GenerateOptions(sampling, chunk_prompts=64)
        )
    )
    add("curate generate (whole stage)", result.counts["completion_tokens"], s)
    backend.close()

    device = (
        torch.cuda.get_device_name(0) if args.gpu else f"CPU ({torch.get_num_threads()} threads)"
    )
    lines = [
        f"{device}; {kind}; random-weight Llama, shape `{shape}`; {len(prompts)} prompts from "
        f"../shared/data x n = {args.n}; temperature 0.8, top-p 0.95, max_new_tokens {max_new}; "
        f"model written in {write_s:.0f} s, loaded in {load_s:.0f} s.",
        "",
        f"Command: `python benchmarks/bench_generate.py {' '.join(argv if argv is not None else sys.argv[1:])}`",
        "",
        "| sampler | completion tokens | seconds | tokens/s |",
        "|---|---:|---:|---:|",
        *(
            f"| {label} | {tokens:,} | {seconds:.1f} | {rate:,.0f} |"
            for label, tokens, seconds, rate in rows
        ),
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return text


if __name__ == "__main__":
    main()
