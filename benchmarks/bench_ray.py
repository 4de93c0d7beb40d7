"""The Ray engine against the local one: the overhead, the speedup, and the same bytes.

Usage::

    python benchmarks/bench_ray.py                 # CPU: Alpaca-52K, score --model heuristics and embed
    python benchmarks/bench_ray.py --gpu           # CUDA: random ArmoRM of the 8B size, bf16

On a GPU machine without ``../shared/data`` (the lent device), sample here and carry the file::

    python benchmarks/bench_score.py --gpu --dump .bench/conversations.jsonl       # here
    python3 benchmarks/bench_ray.py --gpu --conversations .bench/conversations.jsonl  # there
    python benchmarks/bench_ray.py --gpu --size tiny --device cpu -n 200       # the script's smoke test

CPU: the data is ingested into a temporary store (not timed); then each stage runs
on ``local`` and on a local Ray cluster with 1 and 2 workers (``--cpus-per-worker
1``), its sidecar removed before each run. *wall* is the whole ``run_score`` /
``run_embed`` call: for Ray it includes starting the cluster and each worker loading
its model (*startup*), the stage's own work (*work*: the manifest's wall time, from
taking the lock to writing the manifest) and stopping the workers and the cluster
(*shutdown*, the rest). Every Ray sidecar is checked byte for byte
against the local one.

GPU: a random ArmoRM of the full 8B size is saved as a checkpoint (safetensors,
bf16) and scored through the real loading code, locally on ``cuda`` and through Ray
with one GPU worker (``--engine ray --num-gpus-per-worker 1``), on the same
conversations: the throughput should be the same (the driver only reads and
writes). On a machine with several GPUs it also runs one worker per GPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def digests(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*.parquet"))
    }


def timed(store, name: str, run) -> tuple[float, dict]:
    """Run one stage (its sidecar and manifest removed first): (wall seconds, manifest)."""
    shutil.rmtree(store.sidecar_dir(name), ignore_errors=True)
    manifest = store.root / "manifests" / f"sidecar.{name}.json"
    manifest.unlink(missing_ok=True)
    started = time.perf_counter()
    result = run()
    return time.perf_counter() - started, result.manifest


def compare(store, name: str, runs: dict[str, object]) -> list[dict]:
    """Each engine's run of one stage; every sidecar against the first (local) one."""
    rows, reference = [], None
    for label, run in runs.items():
        wall, manifest = timed(store, name, run)
        files = digests(store.sidecar_dir(name))
        reference = reference or files
        engine = manifest.get("engine", {})
        rows.append(
            {
                "stage": name,
                "engine": label,
                "rows": manifest["rows"],
                "wall_s": round(wall, 2),
                "startup_s": engine.get("startup_seconds", 0.0),
                # the stage itself (lock to manifest): wall less start-up and shutting down
                "work_s": manifest.get("wall_seconds"),
                "rows_per_s": round(manifest["rows"] / wall, 1),
                "tokens": manifest.get("counts", {}).get("tokens", 0),
                "identical": files == reference,
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr)
    return rows


def cpu(args) -> list[dict]:
    from curate import plugins
    from curate.embed.embedders import resolve
    from curate.embed.stage import EmbedOptions, run_embed, sidecar_name
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.runner import EngineOptions
    from curate.score.stage import run_score
    from curate.store import Store

    engines = {
        "local": None,
        "ray, 1 worker": EngineOptions(engine="ray", workers=1),
        "ray, 2 workers": EngineOptions(engine="ray", workers=2),
    }
    with tempfile.TemporaryDirectory() as tmp:
        Ingestor(args.data, Path(tmp) / "store", IngestOptions(), workers=0).run()
        store = Store.open(Path(tmp) / "store")
        print(f"{store.num_rows():,} rows in {store.num_shards} shards", file=sys.stderr)
        rows = compare(
            store,
            "score.heuristics",
            {
                label: (
                    lambda e=e: run_score(store, plugins.resolve("scorers", "heuristics"), engine=e)
                )
                for label, e in engines.items()
            },
        )
        embed = EmbedOptions()
        rows += compare(
            store,
            sidecar_name(resolve(embed.embedder).key, embed.mode),
            {
                label: (lambda e=e: run_embed(store, embed, engine=e))
                for label, e in engines.items()
            },
        )
    return rows


def gpu(args) -> list[dict]:
    sys.path.insert(0, str(Path(__file__).parent))
    import torch
    from bench_score import build, load_conversations

    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.runner import EngineOptions
    from curate.score.stage import run_score
    from curate.store import Store
    from scorers.armorm import ArmoRMScorer

    if args.conversations:
        lines = args.conversations.read_text(encoding="utf-8").splitlines()
        pool = [json.loads(line)["messages"] for line in lines if line.strip()]
    else:
        pool = load_conversations(args.n, 0)
    pool = pool[: args.n]
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        t0 = time.perf_counter()
        texts = [m["content"] for c in pool[:3000] for m in c]
        dtype = torch.bfloat16 if args.device == "cuda" else torch.float32
        tokenizer, reference, _ = build(args.size, args.device, dtype, texts)
        model = Path(tmp) / f"ArmoRM-random-{args.size}"
        reference.config.architectures = ["LlamaForRewardModelWithGating"]
        reference.save_pretrained(model, safe_serialization=True)
        tokenizer.save_pretrained(model)
        del reference
        torch.cuda.empty_cache()
        print(f"checkpoint written in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
        with open(Path(tmp) / "in.jsonl", "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps({"messages": m}, ensure_ascii=False) + "\n" for m in pool)
        Ingestor(
            [str(Path(tmp) / "in.jsonl")], Path(tmp) / "store", IngestOptions(), workers=0
        ).run()
        store = Store.open(Path(tmp) / "store")

        def scorer():
            return ArmoRMScorer(
                str(model), key="armorm", device=args.device, max_length=args.max_length
            )

        gpus = torch.cuda.device_count() if args.device == "cuda" else 0
        one = EngineOptions(
            engine="ray", workers=1, num_gpus_per_worker=1 if gpus else 0, cpus_per_worker=args.cpus
        )
        runs = {
            f"local ({args.device})": lambda: run_score(store, scorer()),
            "ray, 1 GPU worker" if gpus else "ray, 1 CPU worker": lambda: run_score(
                store, scorer(), engine=one
            ),
        }
        if gpus > 1:
            every = EngineOptions(engine="ray", num_gpus_per_worker=1)  # one worker per GPU
            runs[f"ray, {gpus} GPU workers"] = lambda: run_score(store, scorer(), engine=every)
        rows = compare(store, "score.armorm", runs)
        for row in rows:
            compute = row["wall_s"] - row["startup_s"]
            row["tokens_per_s_after_startup"] = round(row["tokens"] / compute) if compute else None
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--data", nargs="+", default=[str(DATA / "alpaca_52k_en")])
    parser.add_argument("--conversations", type=Path, default=None)
    parser.add_argument("-n", type=int, default=4000, help="GPU: conversations")
    parser.add_argument("--max-length", type=int, default=4096)
    parser.add_argument(
        "--cpus", type=float, default=1.0, help="GPU: --cpus-per-worker of the Ray worker"
    )
    parser.add_argument(
        "--size", default="8b", help="GPU: the random ArmoRM's size (tiny: a smoke test)"
    )
    parser.add_argument(
        "--device", default="cuda", help="GPU: cuda (cpu: a smoke test of the script)"
    )
    parser.add_argument("--tmp", default=None, help="where the 16 GB checkpoint goes (GPU)")
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")
    args = parser.parse_args()
    rows = gpu(args) if args.gpu else cpu(args)
    print(f"\nmachine: {platform.platform()}, {os.cpu_count()} CPUs")
    print(
        "| stage | engine | rows | wall s | startup s | work s | shutdown s | rows/s | same bytes |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        shutdown = r["wall_s"] - r["startup_s"] - r["work_s"]
        print(
            f"| {r['stage']} | {r['engine']} | {r['rows']:,} | {r['wall_s']:.1f} | "
            f"{r['startup_s']:.1f} | {r['work_s']:.1f} | {shutdown:.1f} | {r['rows_per_s']:,.0f} | "
            f"{'yes' if r['identical'] else 'NO'} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
