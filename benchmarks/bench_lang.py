"""Accuracy and speed of language/script detection on labelled sets in ../shared/data.

Usage::

    python benchmarks/bench_lang.py

Labels come from how the sets were made: ``prompts_zh_hans_hant`` is the same 124
prompts in Simplified and Traditional script; ``mtbench_ru`` has the 80 MT-Bench
questions in Russian and in English; DRCD is human-written Traditional Chinese;
Alpaca-52K is English. texts/s is the best of REPEATS runs of ``lang.detect`` on the
whole set.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import orjson

from curate import lang

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
REPEATS = 5


def jsonl(path: Path) -> list[dict]:
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def labelled_sets() -> list[tuple[str, str, list[str]]]:
    pairs = DATA / "prompts_zh_hans_hant"
    drcd = orjson.loads((DATA / "drcd_zh_tw" / "DRCD_dev.json").read_bytes())
    questions = [
        qa["question"] for art in drcd["data"] for p in art["paragraphs"] for qa in p["qas"]
    ]
    contexts = [p["context"] for art in drcd["data"] for p in art["paragraphs"]]
    alpaca = orjson.loads((DATA / "alpaca_52k_en" / "alpaca_data_52k_en.json").read_bytes())
    return [
        (
            "prompts_zh_hans_hant: prompts-zh.json",
            "zh-Hans",
            [r["prompt"] for r in orjson.loads((pairs / "prompts-zh.json").read_bytes())],
        ),
        (
            "prompts_zh_hans_hant: prompts-zh-TW.json",
            "zh-Hant",
            [r["prompt"] for r in orjson.loads((pairs / "prompts-zh-TW.json").read_bytes())],
        ),
        (
            "mtbench_ru: question_ru.jsonl (turn 1)",
            "ru",
            [r["turns"][0] for r in jsonl(DATA / "mtbench_ru" / "question_ru.jsonl")],
        ),
        (
            "mtbench_ru: question_en.jsonl (turn 1)",
            "en",
            [r["turns"][0] for r in jsonl(DATA / "mtbench_ru" / "question_en.jsonl")],
        ),
        ("drcd_zh_tw: DRCD_dev questions", "zh-Hant", questions),
        ("drcd_zh_tw: DRCD_dev passages", "zh-Hant", contexts),
        ("alpaca_52k_en: instructions", "en", [r["instruction"] for r in alpaca]),
        (
            "alpaca_52k_en: outputs (non-empty)",
            "en",
            [r["output"] for r in alpaca if r["output"].strip()],
        ),
    ]


def main() -> None:
    if not DATA.is_dir():
        raise SystemExit(f"needs the shared data at {DATA}")
    lang.class_table()
    print("`python benchmarks/bench_lang.py`\n")
    print(
        "| set | expected | texts | without letters (und) | accuracy on the rest | most common other labels | texts/s |"
    )
    print("|---|---|---:|---:|---:|---|---:|")
    for name, expected, texts in labelled_sets():
        seconds = []
        for _ in range(REPEATS):  # the best of a few runs: this VM's speed drifts
            start = time.perf_counter()
            got, _ = lang.detect(texts)
            seconds.append(time.perf_counter() - start)
        rate = len(texts) / min(seconds)
        undetermined = got.count("und")
        wrong = [g for g in got if g not in (expected, "und")]
        ranked = sorted(set(wrong), key=lambda g: (-wrong.count(g), g))
        others = ", ".join(f"{g} {wrong.count(g)}" for g in ranked[:3])
        accuracy = 100 * (1 - len(wrong) / max(len(texts) - undetermined, 1))
        print(
            f"| {name} | {expected} | {len(texts):,} | {undetermined:,} | {accuracy:.2f}% | {others or '-'} | {rate:,.0f} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
