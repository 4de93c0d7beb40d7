"""Ingest throughput and peak memory on the shared data (results go to BENCHMARKS.md).

Usage::

    python benchmarks/bench_ingest.py                 # Alpaca-52K and all of ../shared/data
    python benchmarks/bench_ingest.py --repeats 5 --breakdown

Each configuration runs ``curate ingest`` in a fresh subprocess into a fresh
store, ``--repeats`` times; the peak memory is the largest resident set of the
whole process tree (main process plus conversion workers), sampled every 20 ms.
The machine this was written on is a 2-core VM whose speed drifts by up to 2x
over minutes: configurations run interleaved, medians and bests are both
reported, and a fixed pure-Python loop is timed alongside as a speed reference.

``--breakdown`` times the ingest steps one by one in this process on Alpaca-52K
(single core), to show what limits throughput, next to two reference points:
``orjson.loads`` of the file alone (the parse floor) and a naive script
(``json.load``, convert to messages, hash, write JSON Lines).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil
from _measure import run_measured

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def run_ingest(
    inputs: list[Path], workers: str, store: Path, source: Path | None = None
) -> tuple[float, int, int]:
    """Wall seconds, records read, and peak RSS bytes of one `curate ingest` run (of the
    code in ``source``, a checkout of another commit, when given)."""
    shutil.rmtree(store, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "curate",
        "ingest",
        *map(str, inputs),
        "--store",
        str(store),
        "--quiet",
    ]
    if workers != "auto":
        cmd += ["--workers", workers]
    env = None
    if source is not None:
        env = {**os.environ, "PYTHONPATH": str(source)}
    wall, peak = run_measured(cmd, env=env)
    manifest = json.loads((store / "manifests" / "ingest.json").read_text())
    return wall, manifest["counts"]["read"], peak


def cpu_reference() -> float:
    """Seconds for a fixed pure-Python loop: this VM's speed drifts by up to 2x over minutes."""
    start = time.process_time()
    total = 0
    for i in range(5_000_000):
        total += i * i
    return time.process_time() - start


def summarise(name: str, workers: str, runs: list[tuple[float, int, int]]) -> dict:
    records = runs[0][1]
    rates = [records / wall for wall, _, _ in runs]
    return {
        "dataset": name,
        "workers": workers,
        "records": records,
        "median_s": statistics.median(w for w, _, _ in runs),
        "median_rate": statistics.median(rates),
        "best_rate": max(rates),
        "peak_mib": max(p for _, _, p in runs) / 2**20,
    }


def breakdown(path: Path) -> list[tuple[str, float]]:
    """Seconds per ingest step for one file, in one process."""
    import orjson
    import pyarrow.parquet as pq

    from curate import lang
    from curate.ingest import formats
    from curate.ingest.convert import FileSpec, base_table
    from curate.ingest.readers import open_reader
    from curate.ingest.records import prepare

    steps = []

    def timed(label, fn):
        start = time.process_time()
        out = fn()
        steps.append((label, time.process_time() - start))
        return out

    data = path.read_bytes()
    timed("reference: orjson.loads of the whole file", lambda: orjson.loads(data))

    def naive():
        with open(path) as fh:
            records = json.load(fh)
        with open(tempfile.mktemp(suffix=".jsonl"), "w") as out:
            for r in records:
                messages = [
                    {
                        "role": "user",
                        "content": r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""),
                    },
                    {"role": "assistant", "content": r["output"]},
                ]
                key = hashlib.blake2b(json.dumps(messages).encode(), digest_size=16).hexdigest()
                out.write(json.dumps({"id": key, "messages": messages}) + "\n")

    timed("reference: naive script (json, convert, hash, write JSONL)", naive)
    items = timed("read: stream and parse the JSON array", lambda: list(open_reader(path)))
    fmt = formats.detect([it.value for it in items[:64]])
    convert = fmt.converter(formats.FormatContext(path))
    convs = timed("convert: Alpaca record -> messages", lambda: [convert(it.value) for it in items])
    prepared = timed(
        "prepare: checks, flags, id (BLAKE2b)", lambda: [prepare(c, 200_000) for c in convs]
    )
    lang.class_table()
    timed(
        "language and script (vectorised)",
        lambda: lang.detect_conversations(
            [p.user_text for p in prepared], [p.assistant_text for p in prepared]
        ),
    )
    spec = FileSpec(str(path), str(path), fmt.name)
    table = timed(
        "build Arrow table (includes language again)",
        lambda: base_table(spec, list(zip(items, prepared))),
    )
    timed(
        "write Parquet (zstd)",
        lambda: pq.write_table(table, tempfile.mktemp(suffix=".parquet"), compression="zstd"),
    )
    return steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--breakdown", action="store_true", help="also time the steps on Alpaca-52K"
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="CHECKOUT",
        help="also run the code of another checkout (e.g. `git worktree add /tmp/base main~3`), "
        "interleaved with this one, and print both",
    )
    parser.add_argument("--workers", nargs="+", default=["0", "2"], help="worker counts to run")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"needs the shared data at {DATA}")
    alpaca = DATA / "alpaca_52k_en" / "alpaca_data_52k_en.json"
    sources: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.against is not None:
        sources.append((f"{args.against}", args.against.resolve()))
    configs = [
        (f"{name}" + (f" [{label}]" if args.against else ""), inputs, workers, source)
        for name, inputs in (("alpaca_52k_en", [alpaca]), ("all of shared/data", [DATA]))
        for workers in args.workers
        for label, source in sources
    ]
    runs: dict[tuple[str, str], list] = {(name, workers): [] for name, _, workers, _ in configs}
    references = [cpu_reference()]
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):  # interleaved: drift hits every configuration alike
            for name, inputs, workers, source in configs:
                run = run_ingest(inputs, workers, Path(tmp) / "store", source)
                runs[(name, workers)].append(run)
            references.append(cpu_reference())
            print(f"repeat {repeat + 1}/{args.repeats} done", file=sys.stderr)
    rows = [summarise(name, workers, runs[(name, workers)]) for name, _, workers, _ in configs]
    print(
        f"\n`python benchmarks/bench_ingest.py {' '.join(sys.argv[1:])}` ({psutil.cpu_count()} cores, "
        f"Python {sys.version.split()[0]}; CPU reference loop {min(references):.2f}-{max(references):.2f} s "
        "during the runs)\n"
    )
    print(
        "| input | workers | records | median wall (s) | median rec/s | best rec/s | peak RSS (MiB) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['dataset']} | {r['workers']} | {r['records']:,} | {r['median_s']:.2f} | "
            f"{r['median_rate']:,.0f} | {r['best_rate']:,.0f} | {r['peak_mib']:,.0f} |"
        )
    if args.breakdown:
        print(
            f"\nSteps on Alpaca-52K, one process (CPU seconds for {52_002:,} records; "
            f"CPU reference loop {cpu_reference():.2f} s):\n"
        )
        print("| step | CPU s | records/s |")
        print("|---|---:|---:|")
        for label, seconds in breakdown(alpaca):
            print(f"| {label} | {seconds:.2f} | {52_002 / seconds:,.0f} |")


if __name__ == "__main__":
    main()
