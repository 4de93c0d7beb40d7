"""Every offline stage on a synthetic pool of up to 1,000,000 conversations: time and
peak memory per stage, and how each grows with the pool.

Usage::

    python benchmarks/bench_million.py                          # 100k, 300k and 1M rows
    python benchmarks/bench_million.py --rows 100000 300000     # some sizes
    python benchmarks/bench_million.py --work DIR               # keep the pools and stores
    python benchmarks/bench_million.py --work DIR --stages tag dedup   # measure some again

**The pool** (``write_pool``), realistic in what the stages care about:

- text: fragments of real text per language (``synthetic_pool.text_banks``), 35% en,
  25% ru, 20% zh-Hans, 20% zh-Hant;
- lengths: a long-tailed number of fragments per answer (geometric, mean ~3; cut at
  4,000 characters); 25% of the conversations have 2-4 turns, some a system prompt;
- prompt groups: 8% of the prompts are asked again with 1-3 other answers (several
  models answering one prompt);
- near-duplicates: 3% are an earlier conversation with one fragment of its answer
  dropped or a word changed; cross-script copies: 1.5% are an earlier zh-Hans
  conversation converted with OpenCC ``s2tw``.

**The stages**, each its own ``curate`` command in its own process (wall time and peak
RSS of the process tree, ``benchmarks/_measure.py``): ``ingest``; ``embed`` of the
conversations and of the user turns (400 characters); ``tag`` (cluster); ``score
--model heuristics``; ``dedup``; ``select --per-tag 500``; ``report``. Embedding 1M rows
with use-multilingual takes ~50 minutes on 2 cores (~350 rows/s), so it is timed on a
sample of 5,000 rows and the stages downstream read vectors of the hashing embedder
(``synthetic_pool.HashEmbedder``: character 2-3-grams, idf-weighted, 512 dimensions,
near-copies near each other), whose own embed time is reported as such.

The **growth exponent** of a stage between two sizes is log(t2 / t1) / log(n2 / n1):
1 is linear, 2 quadratic. Results: ``WORK/million.json`` and BENCHMARKS.md ("Issue 19").
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import run_measured  # noqa: E402
from synthetic_pool import HashEmbedder, register_hash_embedder, text_banks  # noqa: E402

LANGS = ("en", "ru", "zh-Hans", "zh-Hant")
LANG_SHARE = (0.35, 0.25, 0.2, 0.2)
SYSTEM = {
    "en": "You are a helpful assistant.",
    "ru": "Ты полезный ассистент.",
    "zh-Hans": "你是一个乐于助人的助手。",
    "zh-Hant": "你是一個樂於助人的助手。",
}
THANKS = {"en": " Thanks!", "ru": " Спасибо!", "zh-Hans": "谢谢！", "zh-Hant": "謝謝！"}
HASH = HashEmbedder.name
STAGES = {  # name: the curate command's arguments after the store
    "ingest": None,
    "embed": ["embed", "{store}", "--embedder", HASH, "--max-chars", "400"],
    "embed_user": ["embed", "{store}", "--embedder", HASH, "--text", "user", "--max-chars", "400"],
    "tag": ["tag", "{store}", "--tagger", "cluster", "--embeddings", f"embed.{HASH}.user"],
    "score": ["score", "{store}", "--model", "heuristics"],
    "dedup": ["dedup", "{store}", "--embedder", HASH],
    "select": ["select", "{store}", "--per-tag", "500", "-o", "{work}/subset", "--overwrite"],
    "report": ["report", "{store}", "--subset", "{work}/subset", "-o", "{work}/report.html"],
}


# -- the pool ------------------------------------------------------------------------------


def write_pool(path: Path, rows: int, seed: int = 0) -> dict[str, int]:
    """``rows`` conversations (messages layout); returns how many of each kind were planted."""
    import orjson
    from opencc import OpenCC

    banks = text_banks()
    sizes = {lang: len(banks[lang]) for lang in LANGS}
    rng = np.random.default_rng(seed)
    to_hant = OpenCC("s2tw")
    kinds = {"original": 0, "answer_again": 0, "near_duplicate": 0, "cross_script": 0}
    earlier: list[tuple[str, list]] = []  # (lang, messages) of some earlier rows, to copy

    def fragments(lang: str, k: int, cap: int) -> str:
        return "\n\n".join(banks[lang][j] for j in rng.integers(0, sizes[lang], k))[:cap]

    def answer(lang: str) -> str:
        return fragments(lang, int(rng.geometric(1 / 3)), 4000)

    with open(path, "wb") as fh:
        for _ in range(rows):
            roll = rng.random()
            if earlier and roll < 0.08:  # the same prompt, another answer
                lang, messages = earlier[rng.integers(len(earlier))]
                messages = [*messages[:-1], {"role": "assistant", "content": answer(lang)}]
                kinds["answer_again"] += 1
            elif earlier and roll < 0.11:  # a near-duplicate: one edit
                lang, messages = earlier[rng.integers(len(earlier))]
                last = messages[-1]["content"]
                cut = last.rsplit("\n\n", 1)[0] if "\n\n" in last else last + THANKS[lang]
                messages = [*messages[:-1], {"role": "assistant", "content": cut}]
                kinds["near_duplicate"] += 1
            elif earlier and roll < 0.125 and hans_earlier(earlier):
                hans = hans_earlier(earlier)
                messages = [
                    {"role": m["role"], "content": to_hant.convert(m["content"])}
                    for m in hans[rng.integers(len(hans))]
                ]
                kinds["cross_script"] += 1
            else:
                lang = LANGS[rng.choice(4, p=LANG_SHARE)]
                turns = 1 if rng.random() < 0.75 else int(rng.integers(2, 5))
                messages = (
                    [{"role": "system", "content": SYSTEM[lang]}] if rng.random() < 0.1 else []
                )
                for _t in range(turns):
                    messages.append({"role": "user", "content": fragments(lang, 1, 1200)})
                    messages.append({"role": "assistant", "content": answer(lang)})
                kinds["original"] += 1
                if len(earlier) < 20_000:
                    earlier.append((lang, messages))
                else:
                    earlier[rng.integers(len(earlier))] = (lang, messages)
            fh.write(orjson.dumps({"messages": messages}) + b"\n")
    return kinds


def hans_earlier(earlier: list[tuple[str, list]]) -> list[list]:
    """The zh-Hans conversations among the last 200 kept."""
    return [m for lang, m in earlier[-200:] if lang == "zh-Hans"]


# -- the steps -----------------------------------------------------------------------------


def cli_phase(args: list[str]) -> None:
    """One curate command in this process, with the hashing embedder registered."""
    register_hash_embedder()
    from curate.cli import cli

    cli.main(args=[*args, "-q"], prog_name="curate", standalone_mode=True)


def embedder_sample(work: Path, rows: int = 5000) -> dict:
    """use-multilingual's own speed on ``rows`` of the pool (conversations, 400 characters)."""
    store = work / "sample_store"
    if not store.exists():
        lines = (work / "pool.jsonl").open("rb").readlines()[:rows]
        (work / "sample.jsonl").write_bytes(b"".join(lines))
        run_measured([sys.executable, "-m", "curate", "ingest", str(work / "sample.jsonl"),
                      "--store", str(store), "-q"])  # fmt: skip
    wall, peak = run_measured(
        [sys.executable, "-m", "curate", "embed", str(store), "--max-chars", "400", "-q"]
    )
    return {"rows": rows, "wall_s": wall, "rows_per_s": rows / wall, "peak_rss_mib": peak / 2**20}


#: the sidecar each stage writes (select and report write files they replace themselves)
SIDECARS = {
    "embed": f"embed.{HASH}.conversation",
    "embed_user": f"embed.{HASH}.user",
    "tag": "tag.cluster",
    "score": "score.heuristics",
    "dedup": "dedup",
}


def forget(store: Path, stage: str) -> None:
    """Remove ``stage``'s sidecar from this benchmark's own store, so that running it again
    measures the work (``--overwrite`` keeps a result whose options are unchanged)."""
    import shutil

    if stage in SIDECARS:
        (store / "manifests" / f"sidecar.{SIDECARS[stage]}.json").unlink(missing_ok=True)
        shutil.rmtree(store / "sidecars" / SIDECARS[stage], ignore_errors=True)


def run_size(root: Path, rows: int, seed: int, stages: list[str], earlier: dict) -> dict:
    """Run ``stages`` on the pool of ``rows`` (written first if missing); a stage the store
    already has is removed first and measured again. ``earlier``: this size's results
    from a previous run, kept for the stages not run now."""
    work = root / f"n{rows}"
    work.mkdir(parents=True, exist_ok=True)
    pool, store = work / "pool.jsonl", work / "store"
    out: dict = {**earlier, "rows": rows}
    if not pool.exists():
        started = time.perf_counter()
        out["planted"] = write_pool(pool, rows, seed)
        print(f"{rows:,}: pool written in {time.perf_counter() - started:.0f} s", flush=True)
    for name in stages:
        args = STAGES[name]
        if name == "ingest":
            cmd = [sys.executable, "-m", "curate", "ingest", str(pool), "--store", str(store), "-q"]
        else:
            filled = [a.format(store=store, work=work) for a in args]
            forget(store, name)  # measured again, from scratch
            cmd = [sys.executable, __file__, "--phase", "cli", "--", *filled]
        wall, peak = run_measured(cmd)
        out[name] = {"wall_s": round(wall, 1), "peak_rss_mib": round(peak / 2**20)}
        print(f"{rows:,} {name}: {wall:.1f} s, peak {peak / 2**20:,.0f} MiB", flush=True)
    return out


def growth(results: list[dict]) -> dict[str, list[float]]:
    """Per stage, the exponent between each pair of consecutive sizes."""
    out = {}
    for name in STAGES:
        pairs = zip(results, results[1:])
        out[name] = [
            round(
                math.log(b[name]["wall_s"] / a[name]["wall_s"]) / math.log(b["rows"] / a["rows"]), 2
            )
            for a, b in pairs
            if a[name]["wall_s"] > 0
        ]
    return out


def main() -> None:
    if "--phase" in sys.argv:
        at = sys.argv.index("--")
        cli_phase(sys.argv[at + 1 :])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    parser.add_argument("--work", type=Path, default=None, help="keep the pools and stores here")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--stages", nargs="+", choices=list(STAGES), default=list(STAGES),
        help="run only these (a stage the store has is removed and run again)",
    )  # fmt: skip
    parser.add_argument("--no-sample", action="store_true", help="skip use-multilingual's sample")
    args = parser.parse_args()
    import tempfile

    root = args.work or Path(tempfile.mkdtemp(prefix="bench-million-"))
    root.mkdir(parents=True, exist_ok=True)
    saved = root / "million.json"
    report = json.loads(saved.read_text()) if saved.exists() else {"sizes": []}
    by_rows = {r["rows"]: r for r in report["sizes"]}
    for n in sorted(args.rows):
        by_rows[n] = run_size(root, n, args.seed, args.stages, by_rows.get(n, {}))
        report["sizes"] = [by_rows[r] for r in sorted(by_rows)]
        saved.write_text(json.dumps(report, indent=1))  # after each size: a long run keeps its part
    results = report["sizes"]
    report["growth"] = growth([r for r in results if all(s in r for s in STAGES)])
    if not args.no_sample:
        report["use_multilingual_sample"] = embedder_sample(root / f"n{min(args.rows)}")
    saved.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
