"""Dedup's search on a shared machine: does it keep its lead over semhash when another
process holds a core? (issue 19)

Usage::

    pip install -e ".[cpu,bench]"
    python benchmarks/bench_dedup_load.py STORE [SIDECAR] [--rows N]

The vectors of ``SIDECAR`` (default ``embed.use-multilingual.user``; the issue-19
measurements used every conversation of ../shared/data, 112,762 USE vectors) are searched
at cosine 0.9, on an idle machine and with one busy-looping process per other core
(``python -c 'while True: pass'``, ended by its PID after each run), by:

- ``partition, cells per thread``: the default (``Products.map``: whole cells per thread,
  torch at one thread each);
- ``partition, threads per product``: the previous behaviour (one cell at a time, each
  product split over the cores by torch);
- ``partition, 1 thread``: the same with torch at one thread;
- ``semhash`` 0.5 (usearch HNSW), as in ``bench_dedup.py``.

Each is timed twice, the faster run kept. Results: a markdown table on stdout and
``benchmarks/results/dedup_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
THRESHOLD = 0.9


class Busy:
    """``count`` busy-looping processes for the duration of a ``with`` block."""

    def __init__(self, count: int):
        self.count = count
        self.procs: list[subprocess.Popen] = []

    def __enter__(self) -> Busy:
        self.procs = [
            subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(self.count)
        ]
        time.sleep(0.5)
        return self

    def __exit__(self, *exc) -> None:
        for proc in self.procs:
            proc.kill()  # only the processes started here, by their handle (PID)
            proc.wait()


def run_partition(vectors, parallel: bool, torch_threads: int | None) -> tuple[float, int]:
    import torch

    from curate.dedup import search

    search.PARALLEL_TASKS = parallel
    before = torch.get_num_threads()
    if torch_threads is not None:
        torch.set_num_threads(torch_threads)
    try:
        started = time.perf_counter()
        pairs, _ = search.near_pairs(vectors, THRESHOLD, method="partition", measure_recall=False)
        return time.perf_counter() - started, len(pairs)
    finally:
        torch.set_num_threads(before)
        search.PARALLEL_TASKS = True


def run_semhash(vectors) -> tuple[float, int]:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_dedup import run_semhash as semhash

    seconds, keys, _ = semhash(vectors)
    return seconds, len(keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("sidecar", nargs="?", default="embed.use-multilingual.user")
    parser.add_argument("--rows", type=int, default=None)
    args = parser.parse_args()
    from curate.embed.stage import read_vectors
    from curate.models.device import cpu_count
    from curate.store import Store

    vectors = read_vectors(Store(args.store), args.sidecar)[: args.rows]
    cores = cpu_count()
    methods = {
        "partition, cells per thread (new default)": lambda v: run_partition(v, True, None),
        "partition, threads per product (before)": lambda v: run_partition(v, False, None),
        "partition, 1 thread": lambda v: run_partition(v, False, 1),
        "semhash 0.5": run_semhash,
    }
    out: dict = {"rows": len(vectors), "cores": cores, "results": {}}
    for load in ("idle", "loaded"):
        for name, fn in methods.items():
            times = []
            for _ in range(2):
                with Busy(cores - 1 if load == "loaded" else 0):
                    seconds, pairs = fn(vectors)
                times.append(seconds)
            out["results"][f"{load} | {name}"] = {"seconds": round(min(times), 2), "pairs": pairs}
            print(load, name, round(min(times), 2), pairs, flush=True)
    print(f"\n{len(vectors):,} vectors, {cores} cores; loaded: {cores - 1} busy process(es)\n")
    print("| method | idle (s) | loaded (s) | slowdown | pairs |")
    print("|---|---:|---:|---:|---:|")
    for name in methods:
        idle, loaded = out["results"][f"idle | {name}"], out["results"][f"loaded | {name}"]
        print(f"| {name} | {idle['seconds']} | {loaded['seconds']} | "
              f"{loaded['seconds'] / idle['seconds']:.2f}x | {idle['pairs']:,} |")  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dedup_load.json").write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
