"""Batch size and threads per embedder on this machine's CPU (issue 19; results in BENCHMARKS.md).

Usage::

    python benchmarks/bench_embed_batch.py            # ~10 minutes on 2 cores

For each preset (``use-multilingual``, ``e5-small-q4``, ``minilm``), rows/s and peak
RSS of ``curate embed``'s batching (:func:`curate.embed.stage.encode_sorted`: texts
sorted by length, cut into batches; a sentence-transformers model also gets the size
as its own batch) at batch sizes 8 ... 256 with every usable CPU as threads, then at
the fastest batch with one thread (``CURATE_THREADS=1``, as ``curate embed`` reads it).

* **Speed**: one process per preset and thread count loads the model once, warms up,
  then times ``--rounds`` passes over the texts at every batch size, the order of the
  batch sizes reversed each round; a point's rows/s is its best pass (the least
  disturbed). Each pass also records how many cores *other* processes kept busy
  meanwhile (system CPU time minus this process's): on 2 cores a busy neighbour
  skews every number, and an OpenMP pool of 2 threads most of all.
* **Memory**: one fresh process per point embeds the 256 longest texts (at any batch
  size up to 256, the batch of the longest texts is the largest, and the same one as in
  the whole set); its RSS is sampled every 5 ms: the peak, and the peak over the
  loaded model.
* **Vectors**: every batch size's against the smallest's, and one thread's against
  all threads': the largest absolute difference of any coordinate.

Texts: real user turns from ../shared/data, prepared as ``curate embed --text user
--max-chars 400`` does (:func:`curate.embed.text.embedding_texts`, Traditional
Chinese folded): Alpaca-52K instructions with their inputs (en), oasst_zh prompts
(zh-Hans), the Traditional half of prompts_zh_hans_hant (zh-Hant), rulm's Saiga tasks
(ru), shuffled with seed 0. The slower embedders time a prefix of them (same mix;
``TEXTS``) to keep the whole run near ten minutes.

Results go to ``benchmarks/results/embed_batch_cpu.json``, preset by preset as each
finishes: ``--presets minilm`` measures that one again (after a disturbed run, say) and
keeps the others' results; the table printed is the whole file's (``--show``: print
it, measure nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results" / "embed_batch_cpu.json"
PRESETS = ("use-multilingual", "e5-small-q4", "minilm")
BATCHES = (8, 16, 32, 64, 128, 256)
TEXTS = {"use-multilingual": 2000, "e5-small-q4": 200, "minilm": 600}  # timed, per pass
MEMORY_TEXTS = 256  # the longest: the largest batch at any batch size
OLD_DEFAULT = 128  # --batch-size before issue 19


def user_turns() -> list[str]:
    """Real user turns in en, zh-Hans, zh-Hant and ru, shuffled (seed 0)."""
    alpaca = orjson.loads((DATA / "alpaca_52k_en" / "alpaca_data_52k_en.json").read_bytes())
    oasst = orjson.loads((DATA / "oasst_zh" / "oaast_sft_zh.json").read_bytes())
    hant = orjson.loads((DATA / "prompts_zh_hans_hant" / "prompts-zh-TW.json").read_bytes())
    saiga_file = DATA / "rulm_ru" / "tasks__saiga_mistral_7b_answers.jsonl"
    saiga = [orjson.loads(line) for line in saiga_file.read_bytes().splitlines()]

    def joined(r: dict) -> str:
        return r["instruction"] + ("\n\n" + r["input"] if r.get("input") else "")

    texts = [joined(r) for r in alpaca[:1400]]
    texts += [joined(r) for r in oasst[:250]]
    texts += [r["prompt"] for r in hant[:100]]
    texts += [r["instruction"] for r in saiga[:250]]
    random.Random(0).shuffle(texts)
    return texts


def prepared_texts() -> list[str]:
    """The user turns as ``curate embed --text user --max-chars 400`` embeds them."""
    from curate.embed.text import embedding_texts

    conversations = [[{"role": "user", "content": t}] for t in user_turns()]
    return embedding_texts(conversations, "user", 400)[0]


class Watch:
    """Wall seconds of a block, and the cores other processes kept busy during it."""

    def __enter__(self) -> Watch:
        import psutil

        self.me = psutil.Process()
        self.start = (time.perf_counter(), self._busy(), self._mine())
        return self

    def __exit__(self, *_exc) -> None:
        wall, busy, mine = time.perf_counter(), self._busy(), self._mine()
        self.seconds = wall - self.start[0]
        others = (busy - self.start[1]) - (mine - self.start[2])
        self.others = max(0.0, others / self.seconds)

    @staticmethod
    def _busy() -> float:
        import psutil

        t = psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0)

    def _mine(self) -> float:
        t = self.me.cpu_times()
        return t.user + t.system + t.children_user + t.children_system


def peak_rss_during(fn) -> int:
    """The largest RSS (bytes) of this process sampled every 5 ms while ``fn()`` runs."""
    import psutil

    proc, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    fn()
    done.set()
    sampler.join()
    return max(peak[0], proc.memory_info().rss)


def loaded(preset: str, batch: int | None = None):
    """The preset loaded as ``curate embed`` loads it, warmed up."""
    from curate.embed.embedders import resolve

    embedder = resolve(preset, device="cpu", batch_size=batch)
    embedder.load()
    embedder.encode(["warm up", "the weights load lazily", "and the first call sets up"] * 3)
    return embedder


def speed_child(preset: str, batches: list[int], rounds: int, texts_file: str, work: str) -> None:
    """Every batch size, ``rounds`` passes each: one JSON line per pass."""
    from curate.embed.stage import encode_sorted

    texts = json.loads(Path(texts_file).read_text())
    embedder = loaded(preset)
    threads = embedder.runtime()["threads"]
    for round_ in range(rounds):
        for batch in batches if round_ % 2 == 0 else batches[::-1]:
            if hasattr(embedder, "batch_size"):  # sentence-transformers: its own batches too
                embedder.batch_size = batch
            with Watch() as watch:
                vectors = encode_sorted(embedder, texts, batch, None)
            if round_ == 0:
                np.save(Path(work) / f"{preset}-{batch}-{threads}.npy", vectors)
            print(json.dumps({"batch": batch, "threads": threads, "seconds": watch.seconds,
                              "others": watch.others}), flush=True)  # fmt: skip


def memory_child(preset: str, batch: int, texts_file: str) -> None:
    """The peak RSS of one pass over the longest texts: one JSON line."""
    import psutil

    from curate.embed.stage import encode_sorted

    texts = sorted(json.loads(Path(texts_file).read_text()), key=len)[-MEMORY_TEXTS:]
    embedder = loaded(preset, batch)
    before = psutil.Process().memory_info().rss
    peak = peak_rss_during(lambda: encode_sorted(embedder, texts, batch, None))
    print(json.dumps({"rss_loaded_mib": before / 2**20, "peak_rss_mib": peak / 2**20}))


def child_lines(args: list[str], threads: int) -> list[dict]:
    env = {**os.environ, "CURATE_THREADS": str(threads), "TOKENIZERS_PARALLELISM": "false"}
    done = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def speeds(preset, batches, rounds, threads, n, texts_file, work) -> dict[int, dict]:
    """Per batch size: the best pass's rows/s, every pass's, and the others' load then."""
    args = ["--speed-child", preset, ",".join(map(str, batches)), str(rounds), str(texts_file)]
    passes = child_lines([*args, str(work)], threads)
    out = {}
    for batch in batches:
        mine = [p for p in passes if p["batch"] == batch]
        best = min(mine, key=lambda p: p["seconds"])
        out[batch] = {
            "rows_per_s": round(n / best["seconds"], 1),
            "passes_rows_per_s": [round(n / p["seconds"], 1) for p in mine],
            "others_cores": round(best["others"], 2),
            "others_cores_max": round(max(p["others"] for p in mine), 2),
        }
    return out


def sweep(preset: str, texts: list[str], batches: list[int], rounds: int, cpus: int, work: Path):
    """Every batch size with all CPUs, then the fastest with one thread."""
    n = min(TEXTS[preset], len(texts))
    texts_file = work / f"{preset}.json"
    texts_file.write_text(json.dumps(texts[:n], ensure_ascii=False))
    rows = []
    timed = speeds(preset, batches, rounds, cpus, n, texts_file, work)
    for batch in batches:
        memory = child_lines(["--memory-child", preset, str(batch), str(texts_file)], cpus)[0]
        vectors = np.load(work / f"{preset}-{batch}-{cpus}.npy")
        first = np.load(work / f"{preset}-{batches[0]}-{cpus}.npy")
        rows.append(
            {"preset": preset, "batch": batch, "threads": cpus, "texts": n, **timed[batch],
             "rss_loaded_mib": round(memory["rss_loaded_mib"]),
             "peak_rss_mib": round(memory["peak_rss_mib"]),
             "max_abs_diff": float(np.abs(vectors - first).max()),
             "diff_against": f"batch {batches[0]}"}
        )  # fmt: skip
        print(f"  {preset} batch {batch}: {rows[-1]['rows_per_s']} rows/s", file=sys.stderr)
    best = max(rows, key=lambda r: r["rows_per_s"])
    if cpus > 1:
        one = speeds(preset, [best["batch"]], rounds, 1, n, texts_file, work)[best["batch"]]
        vectors = np.load(work / f"{preset}-{best['batch']}-1.npy")
        mine = np.load(work / f"{preset}-{best['batch']}-{cpus}.npy")
        rows.append(
            {**best, **one, "threads": 1, "max_abs_diff": float(np.abs(vectors - mine).max()),
             "diff_against": f"{cpus} threads", "rss_loaded_mib": None, "peak_rss_mib": None}
        )  # fmt: skip
        print(
            f"  {preset} batch {best['batch']}, 1 thread: {one['rows_per_s']} rows/s",
            file=sys.stderr,
        )
    return rows


def cpu_default(preset: str) -> int:
    """The batch size ``curate embed`` uses for ``preset`` on the CPU (not loaded)."""
    from curate.embed.embedders import resolve

    return resolve(preset, device="cpu").default_batch_size()


def table(rows: list[dict], cpus: int) -> str:
    """Bold: the fastest batch size; "default": what ``curate embed`` uses without ``--batch-size``."""
    lines = [
        "| embedder | texts | batch | threads | rows/s (best pass) | vs batch 128 | other processes (cores) | peak RSS (MiB) | over loaded model (MiB) | max abs diff |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for preset in PRESETS:
        mine = [r for r in rows if r["preset"] == preset]
        if not mine:
            continue
        old = next((r for r in mine if r["batch"] == OLD_DEFAULT), mine[0])
        best = max((r for r in mine if r["threads"] == cpus), key=lambda r: r["rows_per_s"])
        default = cpu_default(preset)
        for r in mine:
            rate = f"{r['rows_per_s']:,.1f}"
            rate = f"**{rate}**" if r is best else rate
            peak = "-" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib']:,}"
            over = (
                "-" if r["peak_rss_mib"] is None else f"{r['peak_rss_mib'] - r['rss_loaded_mib']:,}"
            )
            lines.append(
                f"| {preset} | {r['texts']:,} | {r['batch']}"
                f"{' (default)' if r['batch'] == default and r['threads'] == cpus else ''} | "
                f"{r['threads']} | {rate} | "
                f"{r['rows_per_s'] / old['rows_per_s']:.2f}x | {r['others_cores']:.2f} | {peak} | "
                f"{over} | {r['max_abs_diff']:.1e} (vs {r['diff_against']}) |"
            )
    return "\n".join(lines)


def load_results(path: Path) -> dict:
    """The results file so far (one entry per preset), or an empty one."""
    if path.exists():
        return json.loads(path.read_text())
    return {"command": "python benchmarks/bench_embed_batch.py", "presets": {}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=PRESETS)
    parser.add_argument("--batches", nargs="+", type=int, default=list(BATCHES))
    parser.add_argument("--rounds", type=int, default=2, help="timed passes per point")
    parser.add_argument("--limit", type=int, default=None, help="at most this many texts each")
    parser.add_argument("--json", type=Path, default=RESULTS, help="where the results go")
    parser.add_argument(
        "--show", action="store_true", help="print the file's table; measure nothing"
    )
    args = parser.parse_args()
    from curate.models.device import cpu_count

    cpus = cpu_count()
    texts = prepared_texts()[: args.limit]
    lengths = [len(t) for t in texts]
    results = load_results(args.json)
    results |= {"cpus": cpus, "machine": platform.machine(), "texts_chars_mean":
                round(float(np.mean(lengths)), 1), "texts_chars_median": float(np.median(lengths))}  # fmt: skip
    args.json.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-embed-batch-") as work:
        for preset in [] if args.show else args.presets:
            started, load_before = time.perf_counter(), os.getloadavg()[0]
            rows = sweep(preset, texts, sorted(args.batches), args.rounds, cpus, Path(work))
            results["presets"][preset] = {
                "command": " ".join(["python benchmarks/bench_embed_batch.py", *sys.argv[1:]]),
                "wall_s": round(time.perf_counter() - started, 1),
                "loadavg_before": load_before,
                "loadavg_after": os.getloadavg()[0],
                "rows": rows,
            }
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    done = results["presets"]
    print(f"`python benchmarks/bench_embed_batch.py` ({cpus} CPUs, {platform.machine()})\n")
    print(table([r for preset in PRESETS if preset in done for r in done[preset]["rows"]], cpus))
    walls = ", ".join(f"{p} {done[p]['wall_s'] / 60:.1f} min" for p in PRESETS if p in done)
    print(
        f"\nTexts: mean {np.mean(lengths):.0f} characters, median {np.median(lengths):.0f}, "
        f"longest {max(lengths)}. Wall: {walls}."
    )
    if not args.show:
        print(f"\nwrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--speed-child"]:
        speed_child(sys.argv[2], [int(b) for b in sys.argv[3].split(",")], int(sys.argv[4]),
                    sys.argv[5], sys.argv[6])  # fmt: skip
    elif sys.argv[1:2] == ["--memory-child"]:
        memory_child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()
