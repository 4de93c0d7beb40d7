"""Duplicate identification speed, side by side on the same embeddings (results in BENCHMARKS.md).

Usage::

    pip install -e ".[cpu,bench]"
    python benchmarks/bench_dedup.py alpaca          # Alpaca-52K: curate vs semhash vs IndexFlatIP
    python benchmarks/bench_dedup.py synthetic       # 1,000,000 x 384 with planted duplicates
    python benchmarks/bench_dedup.py end-to-end      # `curate embed` + `curate dedup` on Alpaca-52K
    python benchmarks/bench_dedup.py synthetic --gpu # the same on a CUDA machine (faiss-gpu, torch CUDA)

Every method gets the same float32 L2-normalised vectors and the same threshold
(0.9) and returns the set of pairs at or above it; recall is measured against
exact search (complete on Alpaca; on the synthetic set against the planted pairs
and against exact search for a sample of 2,000 queries). Methods:

* curate ``partition`` (the default for more than 20,000 vectors) and ``exact``;
* semhash 0.5 (``SemHash.from_embeddings`` + ``self_deduplicate``: usearch HNSW);
* plain FAISS ``IndexFlatIP.range_search`` over all vectors (exact). On 1M vectors it
  would take hours here, so it runs on a slice of the queries and is extrapolated.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
from _measure import run_measured

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
THRESHOLD = 0.9


def pair_keys(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    return np.unique(np.minimum(i, j).astype(np.int64) * n + np.maximum(i, j))


def run_curate(vectors: np.ndarray, method: str, gpu: bool) -> tuple[float, np.ndarray, dict]:
    from curate.dedup.grouping import greedy_groups
    from curate.dedup.search import near_pairs

    start = time.perf_counter()
    pairs, stats = near_pairs(vectors, THRESHOLD, method=method, use_gpu=gpu, measure_recall=False)
    greedy_groups(len(vectors), pairs, np.arange(len(vectors)))
    return (
        time.perf_counter() - start,
        pairs.i * len(vectors) + pairs.j,
        {
            "train_s": round(stats.train_seconds, 1),
            "cells": stats.cells,
            "nprobe": stats.nprobe,
        },
    )


def run_semhash(vectors: np.ndarray) -> tuple[float, np.ndarray, dict]:
    from semhash import SemHash

    n = len(vectors)
    start = time.perf_counter()
    semhash = SemHash.from_embeddings(vectors, [str(i) for i in range(n)], model=None)
    built = time.perf_counter()
    semhash.self_deduplicate(threshold=THRESHOLD)
    elapsed = time.perf_counter() - start
    # The same neighbour query self_deduplicate runs, to count the pairs it finds.
    keys = []
    for q, (ids, _) in enumerate(semhash.index.query_threshold(vectors, THRESHOLD)):
        ids = np.asarray(ids, dtype=np.int64)
        ids = ids[ids != q]
        keys.append(np.minimum(ids, q) * n + np.maximum(ids, q))
    return elapsed, np.unique(np.concatenate(keys)), {"build_s": round(built - start, 1)}


def run_flat_range(
    vectors: np.ndarray, query_fraction: float = 1.0
) -> tuple[float, np.ndarray, dict]:
    import faiss

    n, d = vectors.shape
    queries = max(1, int(n * query_fraction))
    start = time.perf_counter()
    index = faiss.IndexFlatIP(d)
    index.add(vectors)
    lims, _, ids = index.range_search(vectors[:queries], THRESHOLD)
    elapsed = time.perf_counter() - start
    rows = np.repeat(np.arange(queries), np.diff(lims).astype(np.int64))
    keep = ids != rows
    extrapolated = elapsed / query_fraction
    return (
        extrapolated,
        pair_keys(rows[keep], ids[keep], n),
        {"measured_s": round(elapsed, 1), "queries": queries},
    )


def report(title: str, rows: list[dict]) -> None:
    print(f"\n{title}\n")
    print("| method | time (s) | vs curate | pairs found | recall | notes |")
    print("|---|---:|---:|---:|---:|---|")
    base = next(r["time"] for r in rows if r["method"].startswith("curate partition"))
    for r in rows:
        recall = f"{r['recall']:.4f}" if r.get("recall") is not None else "-"
        print(
            f"| {r['method']} | {r['time']:,.1f} | {r['time'] / base:,.1f}x | {r['pairs']:,} | {recall} | {r.get('notes', '')} |"
        )
    sys.stdout.flush()


def alpaca_vectors() -> np.ndarray:
    """USE vectors of Alpaca-52K, through `curate ingest` + `curate embed` (cached between runs)."""
    cache = Path(tempfile.gettempdir()) / "curate-bench-alpaca"
    from curate.embed.stage import EmbedOptions, run_embed, vectors_of
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.store import Store

    if not (cache / "store.json").exists():
        Ingestor([str(DATA / "alpaca_52k_en")], cache, IngestOptions()).run()
    store = Store.open(cache)
    name = run_embed(store, EmbedOptions()).name
    return np.array(vectors_of(store.read_sidecar(name).column("embedding")))


def bench_alpaca(gpu: bool) -> None:
    vectors = alpaca_vectors()
    n = len(vectors)
    rows = []
    t, exact_keys, _ = run_curate(vectors, "exact", gpu)
    truth = set(exact_keys.tolist())
    t_p, keys, info = run_curate(vectors, "partition", gpu)
    rows.append(
        {
            "method": "curate partition (default)",
            "time": t_p,
            "pairs": len(keys),
            "recall": len(truth & set(keys.tolist())) / max(len(truth), 1),
            "notes": f"{info['cells']} cells, nprobe {info['nprobe']}, k-means {info['train_s']} s",
        }
    )
    rows.append({"method": "curate exact", "time": t, "pairs": len(exact_keys), "recall": 1.0})
    t, keys, info = run_semhash(vectors)
    rows.append(
        {
            "method": "semhash 0.5 (usearch HNSW)",
            "time": t,
            "pairs": len(keys),
            "recall": len(truth & set(keys.tolist())) / max(len(truth), 1),
            "notes": f"index build {info['build_s']} s",
        }
    )
    t, keys, _ = run_flat_range(vectors)
    rows.append(
        {
            "method": "FAISS IndexFlatIP.range_search",
            "time": t,
            "pairs": len(keys),
            "recall": len(truth & set(keys.tolist())) / max(len(truth), 1),
        }
    )
    report(f"Alpaca-52K: {n:,} x {vectors.shape[1]} (USE embeddings), threshold {THRESHOLD}", rows)


def synthetic(
    n: int = 1_000_000, d: int = 384, clusters: int = 5000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered unit vectors (topics; within-topic cosine ~0.55) with planted near-copies.

    About 3.3% of the vectors are sources with one or two noisy copies (cosine
    0.93-0.996 to the source): ~50,000 planted pairs.
    """
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, clusters, n)]
    x += rng.standard_normal((n, d), dtype=np.float32) * np.float32(0.9 / np.sqrt(d))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sources = rng.choice(n, size=int(n * 0.05 / 1.5), replace=False)
    free = np.setdiff1d(np.arange(n), sources)
    rng.shuffle(free)
    copies = rng.integers(1, 3, size=len(sources))
    src = np.repeat(sources, copies)
    dst = free[: len(src)]
    noise = rng.uniform(0.1, 0.35, size=(len(src), 1)).astype(np.float32) / np.float32(np.sqrt(d))
    x[dst] = x[src] + rng.standard_normal((len(src), d), dtype=np.float32) * noise
    x[dst] /= np.linalg.norm(x[dst], axis=1, keepdims=True)
    return x, pair_keys(src, dst, n)


def bench_synthetic(gpu: bool, n: int, skip_semhash: bool) -> None:
    from curate.dedup.search import sample_recall, undirected

    vectors, planted = synthetic(n)
    rows = []

    def recalls(keys: np.ndarray) -> tuple[float, float | None]:
        planted_recall = float(np.isin(planted, keys).mean())
        i, j = keys // n, keys % n
        sampled, _ = sample_recall(
            vectors, undirected(i, j, np.ones(len(i), np.float32), n), THRESHOLD, seed=0
        )
        return planted_recall, sampled

    t, keys, info = run_curate(vectors, "partition", gpu)
    planted_recall, sampled = recalls(keys)
    rows.append(
        {
            "method": "curate partition (default)",
            "time": t,
            "pairs": len(keys),
            "recall": planted_recall,
            "notes": f"{info['cells']} cells, nprobe {info['nprobe']}, k-means+assign {info['train_s']} s; "
            f"recall vs exact on 2,000 sampled queries {sampled}",
        }
    )
    if not skip_semhash:
        t, keys, info = run_semhash(vectors)
        planted_recall, sampled = recalls(keys)
        rows.append(
            {
                "method": "semhash 0.5 (usearch HNSW)",
                "time": t,
                "pairs": len(keys),
                "recall": planted_recall,
                "notes": f"index build {info['build_s']} s; recall on sampled queries {sampled}",
            }
        )
    fraction = 0.02
    t, keys, info = run_flat_range(vectors, fraction)
    rows.append(
        {
            "method": "FAISS IndexFlatIP.range_search",
            "time": t,
            "pairs": len(keys),
            "recall": None,
            "notes": f"extrapolated from {info['queries']:,} queries in {info['measured_s']} s",
        }
    )
    report(
        f"Synthetic: {n:,} x 384, {len(planted):,} planted pairs, threshold {THRESHOLD} "
        "(recall = planted pairs found)",
        rows,
    )


def bench_end_to_end() -> None:
    """`curate ingest` (not timed), then `curate embed` and `curate dedup` as subprocesses."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "curate",
                "ingest",
                str(DATA / "alpaca_52k_en"),
                "--store",
                str(store),
                "-q",
            ],
            check=True,
        )
        print("\nEnd to end on Alpaca-52K (52,002 conversations)\n")
        print("| command | wall (s) | conversations/s | peak RSS (MiB) |")
        print("|---|---:|---:|---:|")
        for args in (["embed", str(store)], ["dedup", str(store)]):
            wall, peak = run_measured([sys.executable, "-m", "curate", *args, "-q"])
            print(
                f"| `curate {args[0]}` | {wall:,.1f} | {52_002 / wall:,.0f} | {peak / 2**20:,.0f} |"
            )
        manifest = json.loads((store / "manifests" / "sidecar.dedup.json").read_text())
        print(f"\ndedup: {manifest['counts']}, search: {manifest['search']}")
        shutil.rmtree(store, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("what", choices=["alpaca", "synthetic", "end-to-end", "all"])
    parser.add_argument("--n", type=int, default=1_000_000, help="synthetic vectors")
    parser.add_argument(
        "--gpu", action="store_true", help="run curate's search on the GPU (faiss-gpu, torch CUDA)"
    )
    parser.add_argument("--skip-semhash", action="store_true")
    args = parser.parse_args()
    print(
        f"`python benchmarks/bench_dedup.py {' '.join(sys.argv[1:])}` on {psutil.cpu_count()} cores"
        f"{' + GPU' if args.gpu else ''}; threads: {os.environ.get('OMP_NUM_THREADS', 'all')}"
    )
    if args.what in ("alpaca", "all"):
        bench_alpaca(args.gpu)
    if args.what in ("synthetic", "all"):
        bench_synthetic(args.gpu, args.n, args.skip_semhash)
    if args.what in ("end-to-end", "all"):
        bench_end_to_end()


if __name__ == "__main__":
    main()
