"""Speed and output of the heuristic scorer (``curate score STORE --model heuristics``).

Usage::

    python benchmarks/bench_heuristics.py                      # Alpaca-52K, 3 timed runs
    python benchmarks/bench_heuristics.py --data PATH ... --repeats 5
    git show <old commit>:scorers/heuristics.py > /tmp/heuristics_old.py
    python benchmarks/bench_heuristics.py --repeats 5 --baseline /tmp/heuristics_old.py

The input is ingested into a temporary store first (not timed). Each timed run is
``run_score`` over the whole store, its previous sidecar removed first: reading the
base columns, scoring in 4,096-row chunks, writing and checkpointing the sidecar and
the manifest. Then it prints the distribution of the score and of each component on
that data (what the prompts ask for, the boolean detectors), and a few of the rows
flagged as refusals, language mismatches, truncated and role leaks, so a reader can
judge them. How the score agrees with real preferences: ``bench_preference.py``.

``--baseline FILE`` also times another version of the scorer module (an older
``scorers/heuristics.py``), each repeat running the two one after the other, so that a
shared machine's changing load falls on both alike; it prints both medians and their
ratio (the tables below are the current scorer's).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
QUANTILES = (0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", nargs="+", default=[str(DATA / "alpaca_52k_en")])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chunk-rows", type=int, default=4096)
    parser.add_argument("--examples", type=int, default=5, help="refusals to print")
    parser.add_argument("--baseline", help="another scorers/heuristics.py to time alongside")
    args = parser.parse_args()

    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.score.stage import run_score
    from curate.store import Store
    from scorers.heuristics import HeuristicScorer

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        Ingestor(args.data, Path(tmp) / "store", IngestOptions(), workers=0).run()
        store = Store.open(Path(tmp) / "store")
        print(
            f"ingested {store.num_rows():,} conversations from {', '.join(args.data)} "
            f"in {time.perf_counter() - started:.1f} s (not timed below)"
        )
        scorers = {"current": HeuristicScorer}
        if args.baseline:
            spec = importlib.util.spec_from_file_location("heuristics_baseline", args.baseline)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            scorers = {"baseline": module.HeuristicScorer, **scorers}
        walls = {name: [] for name in scorers}
        for _ in range(args.repeats):
            for name, scorer in scorers.items():  # the current one last: its sidecar stays
                # a complete sidecar is not scored again: remove it so that each run works
                store.remove_manifest("sidecar.score.heuristics")
                shutil.rmtree(store.sidecar_dir("score.heuristics"), ignore_errors=True)
                started = time.perf_counter()
                result = run_score(store, scorer(), chunk_rows=args.chunk_rows)
                walls[name].append(time.perf_counter() - started)
        rows = result.rows
        machine = platform.processor() or platform.machine()
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"machine: {machine}, {os.cpu_count()} CPUs, python {platform.python_version()}, "
            f"load average after the runs {load}"
        )
        for name, times in walls.items():
            label = "run_score" if len(walls) == 1 else f"run_score ({name})"
            print(
                f"{label}: {rows:,} conversations, runs {', '.join(f'{w:.2f}' for w in times)} "
                f"s; median {rows / statistics.median(times):,.0f} conversations/s, "
                f"best {rows / min(times):,.0f} conversations/s"
            )
        if len(walls) == 2:
            ratio = statistics.median(walls["current"]) / statistics.median(walls["baseline"])
            print(f"current / baseline median wall time: {ratio:.2f}")
        print(f"status: {result.counts['status']}")
        table = store.read(columns=["messages"], sidecars=["score.heuristics"])
        report(table, args.examples)


def report(table, examples: int) -> None:
    """Markdown tables: quantiles of the numeric columns, shares of the boolean ones."""
    ok = pc.equal(table.column("heuristics_status"), "ok")
    scored = table.filter(ok)
    n = scored.num_rows
    print(f"\nscored rows: {n:,} (of {table.num_rows:,})\n")
    print("| column | " + " | ".join(f"q{q:g}" for q in QUANTILES) + " | mean |")
    print("|---|" + "---:|" * (len(QUANTILES) + 1))
    for name in ("score", "length", "chars", "structure", "relevance", "repetition", "turns"):
        values = scored.column(f"heuristics_{name}").to_numpy().astype(np.float64)
        qs = np.quantile(values, QUANTILES)
        print(f"| {name} | " + " | ".join(f"{q:.3f}" for q in qs) + f" | {values.mean():.3f} |")
    print("\n| component | true | share |")
    print("|---|---:|---:|")
    for name in (
        "lang_match",
        "refusal",
        "template",
        "asks_code",
        "code_block",
        "truncated",
        "role_leak",
    ):
        values = scored.column(f"heuristics_{name}").to_numpy(zero_copy_only=False)
        print(f"| {name} | {int(values.sum()):,} | {values.mean():.2%} |")
    boilerplate = scored.column("heuristics_boilerplate").to_numpy()
    print(
        f"| boilerplate > 0 | {int((boilerplate > 0).sum()):,} | {(boilerplate > 0).mean():.2%} |"
    )
    asks = pc.value_counts(scored.column("heuristics_asks")).to_pylist()
    print("\n| the prompt asks | rows | share |")
    print("|---|---:|---:|")
    for item in sorted(asks, key=lambda x: -x["counts"]):
        print(f"| {item['values']} | {item['counts']:,} | {item['counts'] / n:.2%} |")
    repetition = scored.column("heuristics_repetition").to_numpy()
    print(
        f"\nrepetition > 0.3: {int((repetition > 0.3).sum()):,} rows; "
        f"> 0.5: {int((repetition > 0.5).sum()):,} rows"
    )
    refusals = scored.filter(scored.column("heuristics_refusal"))
    if examples and refusals.num_rows:
        print(f"\nfirst {min(examples, refusals.num_rows)} refusals (last reply, 80 characters):")
        for messages in refusals.column("messages").to_pylist()[:examples]:
            print(f"- {last(messages, 'assistant')[:80]!r}")
    mismatches = scored.filter(pc.invert(scored.column("heuristics_lang_match")))
    if examples and mismatches.num_rows:
        shown = min(examples, mismatches.num_rows)
        print(f"\nfirst {shown} language mismatches (question -> reply, 50 characters each):")
        for messages in mismatches.column("messages").to_pylist()[:examples]:
            print(f"- {last(messages, 'user')[:50]!r} -> {last(messages, 'assistant')[:50]!r}")
    truncated = scored.filter(scored.column("heuristics_truncated"))
    if examples and truncated.num_rows:
        shown = min(examples, truncated.num_rows)
        print(f"\nfirst {shown} truncated replies (their last 60 characters):")
        for messages in truncated.column("messages").to_pylist()[:examples]:
            print(f"- {last(messages, 'assistant')[-60:]!r}")
    leaks = scored.filter(scored.column("heuristics_role_leak"))
    if examples and leaks.num_rows:
        shown = min(examples, leaks.num_rows)
        print(f"\nfirst {shown} role leaks (the reply, 80 characters around the first colon):")
        for messages in leaks.column("messages").to_pylist()[:examples]:
            reply = last(messages, "assistant")
            at = max(reply.find(":"), 0)
            print(f"- {reply[max(0, at - 40) : at + 40]!r}")


def last(messages: list[dict], role: str) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == role), "")


if __name__ == "__main__":
    main()
