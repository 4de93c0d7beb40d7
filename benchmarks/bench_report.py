"""Time and size of ``curate report`` on a synthetic store of 1,000,000 conversations.

Usage::

    python benchmarks/bench_report.py                  # 1M rows
    python benchmarks/bench_report.py --rows 100000

The store is built first (not timed): 1M short synthetic conversations in four
languages through ``curate ingest``; then, through the stage runner, random 384-d
embeddings, a tag sidecar (60 tags), near-duplicate groups (2% of rows in groups of
2-5) and the real heuristic scores; a selection of 50,000 rows is written as
``curate select`` would (``subset.parquet`` with ids, ``report.json`` that adds up).
Then ``curate report STORE --subset DIR`` is timed, with its peak memory, and the
file's size is printed.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

QUESTIONS = [
    "How do I bake bread, step {i}?",
    "Как испечь хлеб, шаг {i}?",
    "請問麵包怎麼做，第 {i} 步？",
    "如何学习 Python 第 {i} 课？",
]


def build(root: Path, rows: int, seed: int = 0) -> None:
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.runner import Stage, run_stage
    from curate.score.stage import run_score
    from curate.store import Store
    from scorers.heuristics import HeuristicScorer

    with open(root / "in.jsonl", "w", encoding="utf-8") as fh:
        for i in range(rows):
            q = QUESTIONS[i % 4].format(i=i)
            a = f"Answer {i}: " + "mix, knead, rest and bake. " * (1 + i % 9)
            fh.write(json.dumps({"instruction": q, "output": a}, ensure_ascii=False) + "\n")
    t = time.perf_counter()
    Ingestor([str(root / "in.jsonl")], root / "store", IngestOptions(), workers=0).run()
    store = Store.open(root / "store")
    print(f"ingested {store.num_rows():,} rows in {time.perf_counter() - t:.0f} s")
    rng = np.random.default_rng(seed)
    dim, tags = 384, [f"topic {k:02d}" for k in range(60)]

    def vectors(table, _progress):
        v = rng.standard_normal((table.num_rows, dim)).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        column = pa.FixedSizeListArray.from_arrays(pa.array(v.reshape(-1)), dim)
        return {"embedding": column, "embedding_last": column, "embed_truncated": [False] * len(v)}

    run_stage(store, Stage("embed.synthetic.conversation", {"seed": seed}, compute_shard=vectors))

    def tagging(table, _progress):
        k = rng.integers(0, len(tags), table.num_rows)
        return {
            "tags": pa.array([[tags[j]] for j in k], pa.list_(pa.string())),
            "tag_primary": pa.array([tags[j] for j in k], pa.string()),
        }

    run_stage(store, Stage("tag.synthetic", {"seed": seed}, compute_shard=tagging))

    def groups(table, _progress):
        ids = table.column("id").to_pylist()
        group, size, keep = list(ids), [1] * len(ids), [True] * len(ids)
        start = 0
        while start < len(ids):
            n = int(rng.integers(2, 6)) if rng.random() < 0.008 else 1
            for j in range(start, min(start + n, len(ids))):
                group[j], size[j], keep[j] = ids[start], min(n, len(ids) - start), j == start
            start += n
        return {
            "dup_group": group,
            "dup_similarity": [1.0] * len(ids),
            "dup_keep": keep,
            "dup_group_size": pa.array(size, pa.int32()),
        }

    run_stage(store, Stage("dedup", {"seed": seed}, compute_shard=groups))
    t = time.perf_counter()
    run_score(store, HeuristicScorer())
    print(f"heuristic scores in {time.perf_counter() - t:.0f} s")
    ids = store.read(columns=["id"]).column("id")
    picked = min(50_000, len(ids) // 20)
    chosen = np.sort(rng.choice(len(ids), picked, replace=False))
    subset = root / "subset"
    subset.mkdir()
    pq.write_table(pa.table({"id": ids.take(pa.array(chosen))}), subset / "subset.parquet")
    report = {
        "rows": len(ids),
        "selected": picked,
        "excluded": {"dedup": 0, "not_reached_quotas_or_total": len(ids) - picked},
        "languages": {},
        "weights": {"heuristics": 1.0},
    }
    (subset / "report.json").write_text(json.dumps(report))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    from click.testing import CliRunner

    from curate.cli import cli

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.rows)
        out = root / "report.html"
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        result = CliRunner().invoke(
            cli, ["report", str(root / "store"), "--subset", str(root / "subset"), "-o", str(out)]
        )
        wall = time.perf_counter() - t
        assert result.exit_code == 0, result.output
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        print(
            f"curate report on {args.rows:,} rows: {wall:.1f} s, {out.stat().st_size / 1e6:.2f} MB, "
            f"peak RSS {peak / 1024:,.0f} MiB (before the report: {before / 1024:,.0f} MiB)"
        )


if __name__ == "__main__":
    main()
