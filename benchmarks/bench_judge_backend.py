"""The OpenAI-compatible backend against a slow scripted judge: requests/s by concurrency.

A hosted or self-served judge answers one request in a second or more; what the
client can do is keep many in flight. This serves the scripted judge of
:mod:`curate.testing.judges` (a rating ``[[n]]`` after a short rationale) through curate's own chat-completions server on
127.0.0.1, each request lingering ``--delay`` seconds as a slow endpoint would, and
sends ``--requests`` judge prompts through :class:`curate.llm.openai_backend.OpenAIBackend`
at each concurrency::

    python benchmarks/bench_judge_backend.py [--delay 0.2] [--requests 256] [--concurrency 1 16 64]

Printed: wall seconds, requests/s, the most requests the server saw in flight, and
the ideal (concurrency / delay, capped by the request count) for comparison.
"""

from __future__ import annotations

import argparse
import time

from curate.llm.base import GenerationParams, Prompt
from curate.llm.openai_backend import OpenAIBackend
from curate.testing.chat_server import serve_chat_completions
from curate.testing.judges import ScriptedJudge


def judge_prompts(n: int) -> list[Prompt]:
    return [
        [
            {"role": "system", "content": "You are a strict judge. End with [[rating]]."},
            {"role": "user", "content": f"Question {i}: how do I bake bread?\nAnswer: knead it."},
        ]
        for i in range(n)
    ]


def run(delay: float, requests: int, concurrency: int) -> dict:
    judge = ScriptedJudge(lambda answer: 3 + len(answer) % 7, noise=1.0)
    with serve_chat_completions(judge, model="judge", delay=delay) as server:
        backend = OpenAIBackend("judge", api_base=server.api_base, max_concurrency=concurrency)
        backend.load()
        try:
            start = time.perf_counter()
            results = backend.generate(judge_prompts(requests), GenerationParams(max_new_tokens=64))
            wall = time.perf_counter() - start
        finally:
            backend.close()
        failed = sum(not r.ok for r in results)
        return {
            "concurrency": concurrency,
            "wall": wall,
            "rps": requests / wall,
            "in_flight": server.max_in_flight,
            "ideal": min(concurrency, requests) / delay,
            "failed": failed,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--delay", type=float, default=0.2, help="seconds each request lingers")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    args = parser.parse_args()
    print(f"{args.requests} judge requests, each lingering {args.delay:g} s at the server")
    print("| concurrency | wall (s) | requests/s | ideal requests/s | most in flight | failed |")
    print("|---:|---:|---:|---:|---:|---:|")
    for c in args.concurrency:
        r = run(args.delay, args.requests, c)
        print(
            f"| {c} | {r['wall']:.2f} | {r['rps']:.1f} | {r['ideal']:.1f} | {r['in_flight']} | "
            f"{r['failed']} |"
        )


if __name__ == "__main__":
    main()
