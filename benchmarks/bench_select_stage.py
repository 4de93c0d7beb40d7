"""``curate select`` end to end on a synthetic store of 1,000,000 conversations.

Usage::

    python benchmarks/bench_select_stage.py                       # build the store, then both runs
    python benchmarks/bench_select_stage.py --runs plain          # without the similarity filter
    python benchmarks/bench_select_stage.py --rows 100000 --tags 500

Where ``bench_select.py`` times the algorithms on arrays in memory, this times the
stage a user runs: :func:`curate.select.stage.run_select` reading the store (tags,
two score sidecars, the dedup marks, for ``tau`` the 384-d embeddings), scoring,
selecting, building the report, and writing ``subset.jsonl``, ``subset.parquet`` and
``report.json`` of every selected conversation.

The store: ``--rows`` short distinct conversations written as JSONL and ingested
(shards of 100,000 rows), then sidecars written with :class:`curate.store.SidecarWriter`
from the same synthetic pool as ``bench_select.py`` (tags drawn with weight 1/rank, 1-3
per row; scores with 1% failures; planted near-duplicate vectors), plus a ``dedup``
sidecar that drops 2% of the rows. Building it is not timed. Each run is one child
process so that its peak memory (psutil, every 20 ms) is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_select import GB, PeakMemory, make_pool  # noqa: E402

EMBEDDINGS = "embed.synthetic.conversation"


def build_store(root: Path, rows: int, tags: int, dim: int) -> None:
    """Ingest ``rows`` conversations into ``root`` and add tag, score, dedup and embedding sidecars."""
    import orjson

    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.store import SidecarWriter, Store

    root.parent.mkdir(parents=True, exist_ok=True)
    source = root.parent / f"{root.name}.jsonl"
    with open(source, "wb") as fh:
        for i in range(rows):
            fh.write(
                orjson.dumps(
                    {
                        "instruction": f"Question number {i}: explain topic {i % 977}.",
                        "output": f"Answer {i}. " + "Some explanation of the topic. " * (1 + i % 7),
                    }
                )
                + b"\n"
            )
    Ingestor([str(source)], root, IngestOptions(shard_size=100_000), workers=0).run()
    source.unlink()
    store = Store.open(root)
    assert store.num_rows() == rows, "every synthetic conversation must be distinct"
    pool = make_pool(rows, tags, dim)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(pool["member_row"], minlength=rows))])
    names = pool["bucket_names"][pool["member_bucket"]]
    tag_lists = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(names))
    primary = pa.array(pool["bucket_names"][pool["member_bucket"][offsets[:-1]]])
    keep = np.random.default_rng(1).random(rows) >= 0.02
    vectors = pool["vectors"]
    writers = {
        "tag.synthetic": SidecarWriter(store, "tag.synthetic", {"synthetic": tags}),
        "score.reward": SidecarWriter(store, "score.reward", {"synthetic": 1}),
        "score.judge": SidecarWriter(store, "score.judge", {"synthetic": 2}),
        "dedup": SidecarWriter(store, "dedup", {"synthetic": 0.02}),
        EMBEDDINGS: SidecarWriter(store, EMBEDDINGS, {"synthetic": dim}),
    }
    start = 0
    for index in range(store.num_shards):
        ids = store.read_shard(index, columns=["id"]).column("id")
        part = slice(start, start + len(ids))
        start += len(ids)
        columns = {
            "tag.synthetic": {"tags": tag_lists[part], "tag_primary": primary[part]},
            "dedup": {"dup_keep": pa.array(keep[part])},
            EMBEDDINGS: {
                "embedding": pa.FixedSizeListArray.from_arrays(pa.array(vectors[part].ravel()), dim)
            },
        }
        for key in ("reward", "judge"):
            values = pool["quality"][key][part].astype(np.float32)
            failed = np.isnan(values)
            columns[f"score.{key}"] = {
                f"{key}_score": pa.array(values, mask=failed),
                f"{key}_status": pa.array(np.where(failed, "too_long", "ok")),
            }
        for name, writer in writers.items():
            writer.write(index, pa.table({"id": ids, **columns[name]}))
    for writer in writers.values():
        writer.finish()


def child(args: argparse.Namespace) -> dict:
    from curate.select.stage import SelectOptions, run_select
    from curate.store import Store

    memory = PeakMemory()
    output = Path(args.store).parent / f"subset-{args.child}"
    shutil.rmtree(output, ignore_errors=True)
    options = SelectOptions(
        per_tag=args.per_tag,
        tau=args.tau if args.child == "tau" else None,
        embeddings=EMBEDDINGS if args.child == "tau" else None,
    )
    start = time.perf_counter()
    result = run_select(Store.open(args.store), options, output)
    wall = time.perf_counter() - start
    peak = memory.stop()
    report = result.report
    return {
        "run": args.child,
        "rows": report["rows"],
        "tags": report["tags"]["total"],
        "selected": result.selected,
        "excluded": report["excluded"],
        "wall_s": round(wall, 1),
        "peak_gb": round(peak / GB, 2),
        "subset_jsonl_mb": round((output / "subset.jsonl").stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=5_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--per-tag", type=int, default=500)
    parser.add_argument("--tau", type=float, default=0.9)
    parser.add_argument("--runs", default="plain,tau", help="comma-separated: plain, tau")
    parser.add_argument("--store", help="where the synthetic store goes (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the store for another run")
    parser.add_argument("--child", choices=["plain", "tau"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    import tempfile

    root = Path(args.store or tempfile.mkdtemp(prefix="bench-select-")) / "store"
    if not (root / "store.json").exists():
        start = time.perf_counter()
        build_store(root, args.rows, args.tags, args.dim)
        print(
            f"built {root} ({args.rows:,} rows) in {time.perf_counter() - start:.0f} s (not timed)"
        )
    print(
        f"machine: {psutil.cpu_count()} CPUs, load average {', '.join(f'{x:.1f}' for x in psutil.getloadavg())}"
    )
    for run in args.runs.split(","):
        argv = [sys.executable, __file__, "--child", run, "--store", str(root)]
        argv += ["--per-tag", str(args.per_tag), "--tau", str(args.tau)]
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        print(json.dumps(json.loads(out.strip().splitlines()[-1])))
    if not args.keep and not args.store:
        shutil.rmtree(root.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
