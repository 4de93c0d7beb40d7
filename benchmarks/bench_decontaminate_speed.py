"""Speed of ``curate decontaminate``: 1,000,000 synthetic conversations against 10,000 items.

Usage::

    python benchmarks/bench_decontaminate_speed.py                  # 1M rows, 10,000 items
    python benchmarks/bench_decontaminate_speed.py --rows 100000    # a smaller pool
    python benchmarks/bench_decontaminate_speed.py --work DIR       # keep the stores (reused)

**Benchmark** (real items, 10,000): DRCD dev questions with their answer spans
(zh-Hant), rulm's Russian seed tasks and MT-Bench in Russian (ru), and the first items
of Alpaca-52K (en: instruction and input as the prompt, the output as the reference
answer) up to 10,000 in all.

**Pool** (synthetic): conversations stitched from fragments of *other* real text in the
same language — Alpaca-52K from item 12,000 on, its Chinese translation from item
12,345 on (zh-Hans), DRCD *test* paragraphs (zh-Hant), rulm's Saiga answers (ru) — so
the n-gram and vector statistics are those of real text. Into it are planted 2,500
rows: 1,000 items verbatim, 1,000 quoted inside a longer prompt, 500 zh-Hant items
converted with OpenCC ``tw2s``; each carries ``plant_kind`` / ``plant_item``.

**Timed**, each step in its own process (wall, peak RSS of the process tree):

- ``ingest`` (building the store; not decontamination);
- ``embed``: user turns, 400 characters, with a hashing embedder (character 2-3-grams
  hashed to 16,384 features, projected to 512 dimensions, as many as use-multilingual's)
  — use-multilingual runs at ~350 rows/s on 2 cores, i.e. ~50 minutes for 1M rows,
  which is the embed stage's cost (measured in issue 3), not decontamination's;
- ``decontaminate --methods ngram``;
- ``decontaminate`` (n-grams and embeddings, the k-means cell index);
- ``decontaminate --index exact``: every row against every item (one matrix product per
  chunk), the O(N x M) baseline for the embeddings.

Baselines for the n-grams, in this process on a sample of rows and extrapolated: the
**O(N x M) scan** (each row's n-gram set against each item's), and **the common tool**:
a Python set of the benchmark's lower-cased whitespace 13-grams (GPT-3's
decontamination), which cannot see a Chinese copy. Results go to BENCHMARKS.md
("Issue 18").
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured  # noqa: E402
from synthetic_pool import DATA, HashEmbedder, register_hash_embedder, text_banks  # noqa: E402

ITEMS = 10_000
BENCH_FILES = ("drcd_dev.json", "ru_seed.jsonl", "mtbench_ru.jsonl", "alpaca_items.json")
PLANT = {"exact": 1000, "quoted": 1000, "tw2s": 500}
QUOTE = {  # a framing line and a request around a quoted item, per language
    "en": ("Here is a task from a test I found online:", "Please solve it step by step."),
    "ru": ("Вот задание из теста, которое я нашёл:", "Реши его, пожалуйста, по шагам."),
    "zh-Hans": ("这是我在网上看到的一道题：", "请一步一步地解答。"),
    "zh-Hant": ("這是我在網路上看到的一道題：", "請一步一步地解答。"),
}


def write_benchmark(work: Path) -> list[Path]:
    """The benchmark files: DRCD dev, Russian seed tasks and MT-Bench, Alpaca up to ITEMS."""
    import shutil

    from curate.decontaminate.benchmarks import read_benchmarks

    bench = work / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DATA / "drcd_zh_tw/DRCD_dev.json", bench / "drcd_dev.json")
    shutil.copyfile(DATA / "rulm_ru/ru_alpaca_seed_tasks.jsonl", bench / "ru_seed.jsonl")
    shutil.copyfile(DATA / "mtbench_ru/question_ru.jsonl", bench / "mtbench_ru.jsonl")
    others = read_benchmarks([str(bench / f) for f in BENCH_FILES[:3]], work / "scratch").n_items
    alpaca = json.loads((DATA / "alpaca_52k_en/alpaca_data_52k_en.json").read_text())
    take = ITEMS - others
    while True:  # ingest rejects Alpaca's exact repeats: take more until ITEMS are read
        (bench / "alpaca_items.json").write_text(json.dumps(alpaca[:take], ensure_ascii=False))
        got = read_benchmarks([str(bench / BENCH_FILES[3])], work / "scratch").n_items
        if others + got >= ITEMS:
            break
        take += ITEMS - others - got
    return [bench / f for f in BENCH_FILES]


def plants(files: list[Path], work: Path, seed: int) -> list[tuple[str, str, str, str]]:
    """(kind, item id, lang, prompt text) for every planted row."""
    from opencc import OpenCC

    from curate.decontaminate.benchmarks import read_benchmarks

    bench = read_benchmarks([str(f) for f in files], work / "scratch")
    texts = bench.segment_texts.to_pylist()
    first_prompt = {}
    for seg, (item, part) in enumerate(zip(bench.segment_item, bench.segment_part)):
        if part == 0 and item not in first_prompt:
            first_prompt[int(item)] = texts[seg]
    rng = random.Random(seed)
    items = sorted(first_prompt)
    rng.shuffle(items)
    hant = [i for i in items if bench.item_lang[i] == "zh-Hant"]
    out, used = [], set()
    to_simplified = OpenCC("tw2s")
    for i in hant[: PLANT["tw2s"]]:
        out.append(("tw2s", bench.item_id[i], "zh-Hans", to_simplified.convert(first_prompt[i])))
        used.add(i)
    rest = [i for i in items if i not in used]
    for kind, start in (("exact", 0), ("quoted", PLANT["exact"])):
        for i in rest[start : start + PLANT[kind]]:
            out.append((kind, bench.item_id[i], bench.item_lang[i], first_prompt[i]))
    return out


def write_pool(path: Path, rows: int, banks: dict, planted: list, seed: int) -> None:
    """``rows`` conversations (messages layout), the planted ones at random positions."""
    import orjson

    rng = np.random.default_rng(seed)
    langs = np.array(["en", "zh-Hans", "zh-Hant", "ru"])
    lang_of = rng.choice(4, size=rows, p=[0.4, 0.2, 0.2, 0.2])
    turns = 1 + (rng.random(rows) < 0.2)
    at = dict(zip(rng.choice(rows, size=len(planted), replace=False).tolist(), planted))
    sizes = {lang: len(banks[lang]) for lang in langs}

    def fragment(lang: str, k: int, cap: int) -> str:
        picks = rng.integers(0, sizes[lang], k)
        return "\n".join(banks[lang][j] for j in picks)[:cap]

    with open(path, "wb") as fh:
        for r in range(rows):
            lang = langs[lang_of[r]]
            record = {}
            messages = []
            for t in range(turns[r]):
                user = fragment(lang, 1 + int(rng.random() < 0.3), 600)
                if t == 0 and r in at:
                    kind, item, item_lang, prompt = at[r]
                    lang = item_lang if item_lang in banks else lang
                    if kind == "quoted":
                        intro, ask = QUOTE.get(lang, QUOTE["en"])
                        user = f"{fragment(lang, 1, 300)}\n\n{intro}\n{prompt}\n\n{ask}"
                    else:
                        user = prompt
                    record = {"plant_kind": kind, "plant_item": item}
                messages += [
                    {"role": "user", "content": user},
                    {"role": "assistant", "content": fragment(lang, int(rng.integers(1, 5)), 1500)},
                ]
            fh.write(orjson.dumps({"messages": messages, **record}) + b"\n")


def build(work: Path, rows: int, seed: int) -> dict:
    from curate.ingest.pipeline import IngestOptions, Ingestor  # noqa: F401 (fail early)

    files = write_benchmark(work)
    planted = plants(files, work, seed)
    banks = text_banks()
    started = time.perf_counter()
    write_pool(work / "pool.jsonl", rows, banks, planted, seed)
    print(f"wrote {rows:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    return {"files": [str(f) for f in files], "planted": len(planted)}


# -- the timed steps (each in its own process) ------------------------------------------


def phase(name: str, work: Path) -> None:
    from curate.store import Store

    if name == "ingest":
        from curate.ingest.pipeline import IngestOptions, Ingestor

        Ingestor([str(work / "pool.jsonl")], work / "store", IngestOptions()).run()
        return
    register_hash_embedder()
    store = Store.open(work / "store")
    if name == "embed":
        from curate.embed.stage import EmbedOptions, run_embed

        run_embed(store, EmbedOptions(embedder=HashEmbedder.name, mode="user", max_chars=400))
        return
    from curate.decontaminate.stage import DecontaminateOptions, run_decontaminate

    files = tuple(str(work / "bench" / f) for f in BENCH_FILES)
    options = {
        "ngram": {"methods": "ngram"},
        "both": {"methods": "ngram,embedding", "embedder": HashEmbedder.name},
        "exact": {"methods": "ngram,embedding", "embedder": HashEmbedder.name, "index": "exact"},
    }[name]
    result = run_decontaminate(
        store, DecontaminateOptions(against=files, **options), overwrite=True
    )
    (work / f"result_{name}.json").write_text(json.dumps(outcome(store, result.manifest)))


def outcome(store, manifest: dict) -> dict:
    """Found per planted kind (by its own item), and unplanted rows marked, per method."""
    import orjson

    from curate.names import DECONTAMINATE

    table = store.read(columns=["meta"], sidecars=[DECONTAMINATE])
    item = np.array(table.column("contam_item").to_pylist(), dtype=object)
    method = np.array(table.column("contam_method").to_pylist(), dtype=object)
    flagged = table.column("contaminated").to_numpy(zero_copy_only=False)
    kinds = np.full(len(item), None, dtype=object)
    own = np.full(len(item), None, dtype=object)
    for r, meta in enumerate(table.column("meta").to_pylist()):
        if meta and "plant_kind" in meta:
            fields = orjson.loads(meta)
            kinds[r], own[r] = fields["plant_kind"], fields["plant_item"]
    found = {
        k: [int((item[kinds == k] == own[kinds == k]).sum()), int((kinds == k).sum())]
        for k in PLANT
    }
    unplanted = np.array([k is None for k in kinds]) & flagged
    by_method = dict(zip(*np.unique(method[unplanted].astype(str), return_counts=True)))
    return {
        "found": found,
        "false_positives": [int(unplanted.sum()), int(sum(k is None for k in kinds))],
        "fp_by_method": {k: int(v) for k, v in by_method.items()},
        "embedding_search": manifest.get("embedding_search"),
    }


# -- the n-gram baselines (in process, on a sample) -------------------------------------


def baselines(work: Path, sample: int, rows: int) -> dict:
    """The O(N x M) scan and the common 13-gram set tool, timed on ``sample`` rows."""
    from curate.decontaminate.benchmarks import read_benchmarks
    from curate.store import Store

    bench = read_benchmarks([str(work / "bench" / f) for f in BENCH_FILES], work / "scratch")
    segments = bench.segment_texts.to_pylist()
    store = Store.open(work / "store")
    table = store.read(columns=["messages", "meta"])
    meta = table.column("meta").to_pylist()
    kinds = [json.loads(m)["plant_kind"] if m and "plant_kind" in m else None for m in meta]

    def text_of(r: int) -> str:
        return " ".join(m["content"] for m in table.column("messages")[r].as_py())

    row_texts = [text_of(r) for r in range(min(sample, table.num_rows))]
    planted = [(kinds[r], text_of(r)) for r in range(table.num_rows) if kinds[r]]

    def grams(text: str, n: int) -> set:
        words = text.lower().split()
        return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}

    out = {}
    started = time.perf_counter()
    index = set().union(*(grams(s, 13) for s in segments))
    built = time.perf_counter() - started
    started = time.perf_counter()
    hits = [not index.isdisjoint(grams(t, 13)) for t in row_texts]
    per_row = (time.perf_counter() - started) / len(row_texts)
    found = {k: [0, 0] for k in PLANT}
    for kind, text in planted:  # marked at all (the tool does not say by which item)
        found[kind][0] += not index.isdisjoint(grams(text, 13))
        found[kind][1] += 1
    unplanted = [h for h, r in zip(hits, range(len(hits))) if not kinds[r]]
    out["set13"] = {"index_s": built, "per_row_s": per_row, "found": found,
                    "marked_unplanted_in_sample": [sum(unplanted), len(unplanted)]}  # fmt: skip
    item_sets = [grams(s, 8) for s in segments]
    item_sets = [(s, len(s)) for s in item_sets if s]
    scan = row_texts[: max(sample // 50, 20)]
    started = time.perf_counter()
    for t in scan:
        g = grams(t, 8)
        _ = [len(s & g) >= 0.5 * n for s, n in item_sets]
    out["scan"] = {"per_row_s": (time.perf_counter() - started) / len(scan), "rows": len(scan)}
    for k in out.values():
        k["extrapolated_s"] = k.get("index_s", 0) + k["per_row_s"] * rows
    return out


# -- the report ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", type=Path, default=None, help="keep the stores here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-exact", action="store_true", help="skip the exact-search run")
    parser.add_argument("--phase", help=argparse.SUPPRESS)  # one timed step (internal)
    args = parser.parse_args()
    import tempfile

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-decontam-speed-"))
    if args.phase:
        phase(args.phase, work)
        return
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "pool.jsonl").exists():
        build(work, args.rows, args.seed)
    steps = ["ingest", "embed", "ngram", "both"] + ([] if args.skip_exact else ["exact"])
    timings = {}
    for name in steps:
        if name == "ingest" and (work / "store").exists():
            continue
        cmd = [sys.executable, __file__, "--phase", name, "--work", str(work)]
        wall, peak = run_measured(cmd)
        timings[name] = {"wall_s": wall, "peak_rss_mib": peak / 2**20}
        print(f"{name}: {wall:.1f} s, peak RSS {peak / 2**20:,.0f} MiB", flush=True)
    results = {n: json.loads((work / f"result_{n}.json").read_text()) for n in steps[2:]}
    base = baselines(work, 20_000, args.rows)
    report = {"rows": args.rows, "timings": timings, "results": results, "baselines": base}
    (work / "report.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
