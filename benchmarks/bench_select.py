"""Speed and memory of the selection algorithms (``curate.select.algorithms``) at scale.

Usage::

    python benchmarks/bench_select.py                     # 1,000,000 rows, 5,000 tags, both runs
    python benchmarks/bench_select.py --runs plain        # without the similarity filter only
    python benchmarks/bench_select.py --rows 100000 --tags 500 --runs plain,tau

Synthetic pool: each row has 1 to 3 tags drawn from a Zipf-like distribution over the
tags (tag i has weight 1/i), two quality scores with 1% NaN each, and 384-d
L2-normalised random vectors, of which 5% are planted near-duplicates (cosine ~0.95)
of other rows, so that the similarity filter has something to reject. Each run is one
child process, so that its peak memory (sampled with psutil every 20 ms, the data
included) is its own. ``plain``: scoring (z-scores within tags, weighted mean) and
selection with ``per_bucket``; ``tau``: the same with the similarity filter at ``--tau``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time

import numpy as np
import psutil

GB = 1024**3


def make_pool(rows: int, tags: int, dim: int | None, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, tags + 1)
    draws = rng.choice(tags, size=(rows, 3), p=weights / weights.sum())
    k = rng.integers(1, 4, size=rows)
    member_row = np.repeat(np.arange(rows), 3)
    member_bucket = draws.ravel()
    keep = (np.tile(np.arange(3), rows) < np.repeat(k, 3)).copy()
    # the same tag drawn twice for a row: keep it once
    pair = member_row * tags + member_bucket
    _, first = np.unique(pair, return_index=True)
    unique = np.zeros(len(pair), dtype=bool)
    unique[first] = True
    keep &= unique
    member_row, member_bucket = member_row[keep], member_bucket[keep].astype(np.int32)
    n_tags = np.bincount(member_row, minlength=rows).astype(np.int32)
    ids = np.array([f"{x:016x}" for x in rng.integers(0, 2**63, size=rows)])
    quality = {name: rng.normal(size=rows) for name in ("reward", "judge")}
    for values in quality.values():
        values[rng.random(rows) < 0.01] = np.nan
    vectors = None if dim is None else planted_vectors(rng, rows, dim)
    return {
        "member_row": member_row,
        "member_bucket": member_bucket,
        "bucket_names": np.array([f"tag{i:05d}" for i in range(tags)]),
        "ids": ids,
        "n_tags": n_tags,
        "quality": quality,
        "vectors": vectors,
    }


def planted_vectors(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    """Random unit vectors; 5% are near-duplicates (cosine ~0.95) of other rows."""
    vectors = rng.standard_normal((rows, dim), dtype=np.float32)
    copies = rng.choice(rows, size=rows // 20, replace=False)
    sources = rng.integers(0, rows, size=len(copies))
    noise = rng.standard_normal((len(copies), dim), dtype=np.float32)
    vectors[copies] = vectors[sources] / np.sqrt(dim) + noise * np.float32(0.3 / np.sqrt(dim))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


class PeakMemory:
    """Peak resident memory of this process, sampled in a thread."""

    def __init__(self, interval: float = 0.02):
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self.process.memory_info().rss)


def child(args: argparse.Namespace) -> dict:
    from curate.select import algorithms
    from curate.select.algorithms import membership_scores, select

    if args.no_bound:
        algorithms._BOUND_MIN_DIM = 10**9
    memory = PeakMemory()
    start = time.perf_counter()
    tau = args.tau if args.child == "tau" else None
    pool = make_pool(args.rows, args.tags, args.dim if tau is not None else None)
    generate_s = time.perf_counter() - start
    data_rss = psutil.Process().memory_info().rss
    n_buckets = len(pool["bucket_names"])
    start = time.perf_counter()
    score = membership_scores(
        pool["quality"], pool["member_row"], pool["member_bucket"], n_buckets, missing="others"
    )
    score_s = time.perf_counter() - start
    start = last = time.perf_counter()

    def progress(selected: int) -> None:
        nonlocal last
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            print(f"  {last - start:.0f} s: {selected:,} selected", file=sys.stderr, flush=True)

    sel = select(
        pool["member_row"],
        pool["member_bucket"],
        pool["bucket_names"],
        score,
        pool["ids"],
        n_tags=pool["n_tags"],
        vectors=pool["vectors"] if tau is not None else None,
        per_bucket=args.per_bucket,
        tau=tau,
        complexity_first=args.complexity_first,
        progress=progress,
    )
    select_s = time.perf_counter() - start
    peak = memory.stop()
    return {
        "run": args.child,
        "rows": args.rows,
        "memberships": len(pool["member_row"]),
        "tags": n_buckets,
        "largest_tag": int(np.bincount(pool["member_bucket"]).max()),
        "selected": len(sel),
        "rejected": sel.rejected,
        "filled": int(sel.buckets.filled.sum()),
        "rounds": sel.rounds,
        "generate_s": round(generate_s, 1),
        "score_s": round(score_s, 2),
        "select_s": round(select_s, 2),
        "data_gb": round(data_rss / GB, 2),
        "peak_gb": round(peak / GB, 2),
        **sel.filter_stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=5_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--per-bucket", type=int, default=500)
    parser.add_argument("--tau", type=float, default=0.9)
    parser.add_argument("--complexity-first", action="store_true")
    parser.add_argument(
        "--no-bound", action="store_true", help="filter without the reduced-dimension bound"
    )
    parser.add_argument("--runs", default="plain,tau", help="comma-separated: plain, tau")
    parser.add_argument("--child", choices=["plain", "tau"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    results = []
    for run in args.runs.split(","):
        cmd = [sys.executable, __file__, "--child", run, *sys.argv[1:]]
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        result = json.loads(out.strip().splitlines()[-1])
        result["wall_s"] = round(time.perf_counter() - start, 1)
        results.append(result)
        print(json.dumps(result), file=sys.stderr)
    print(
        f"\n{args.rows:,} rows, {args.tags:,} tags, per_bucket={args.per_bucket}, "
        f"{args.dim}-d vectors, {os.cpu_count()} CPU cores\n"
    )
    print(
        "| run | memberships | selected | rejected | rounds | scoring | selection | peak RSS (data) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        label = "no filter" if r["run"] == "plain" else f"tau = {args.tau}"
        label += ", complexity first" if args.complexity_first else ""
        label += ", no bound" if args.no_bound and r["run"] == "tau" else ""
        print(
            f"| {label} | {r['memberships']:,} | {r['selected']:,} | {r['rejected']:,} | "
            f"{r['rounds']} | {r['score_s']} s | {r['select_s']} s | "
            f"{r['peak_gb']} GB ({r['data_gb']} GB) |"
        )


if __name__ == "__main__":
    main()
