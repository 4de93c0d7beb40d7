"""Dedup quality on labelled sets in ../shared/data (results in BENCHMARKS.md).

Usage::

    python benchmarks/bench_dedup_quality.py

Everything goes through curate's own stages (ingest, embed with the default
embedder, the dedup search and grouping). Sections:

1. ``fastchat_dummy_sharegpt``: 500 templated identity chats, the positive control.
   Labels: the identity question each chat asks (51 questions), and the 6 intents
   behind them. A drop is correct when the dropped chat and the kept member of its
   group have the same label; precision = correct drops / drops, recall = correct
   drops / (chats - labels).
2. ``gpteacher_en`` ladder: the authors' own dedup at similarity 0.9/0.8/0.7/0.6.
   Their dropped set (dedupe-only minus each level) against ours, keeping the first
   record in file order as they did.
3. Cross-script recall on ``prompts_zh_hans_hant``: the share of the 124 pairs whose
   two prompts are near-duplicates (similarity >= threshold) and end in one group.
4. Partitioned search against exact search on Alpaca-52K: recall of all pairs.
5. ``oasst_zh`` conversation trees: how often a dropped conversation shares its
   opening prompt with its kept member, by text mode.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import opencc
import orjson
import pyarrow.compute as pc

from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD as DEFAULT_CROSS
from curate.dedup.grouping import greedy_groups
from curate.dedup.search import near_pairs
from curate.dedup.stage import DedupOptions, load_vectors, near_duplicate_pairs
from curate.embed.stage import EmbedOptions, run_embed
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
WORK = Path(tempfile.gettempdir()) / "curate-bench-quality"
DEFAULT_T = 0.9


def store_for(name: str, inputs: list[Path], modes: tuple[str, ...] = ("conversation",)) -> Store:
    root = WORK / name
    if not (root / "manifests" / "ingest.json").exists():
        Ingestor([str(p) for p in inputs], root, IngestOptions(), workers=0, overwrite=True).run()
    store = Store.open(root)
    for mode in modes:
        run_embed(store, EmbedOptions(mode=mode))
    return store


def dedup(
    store: Store,
    threshold: float,
    mode: str = "conversation",
    order: np.ndarray | None = None,
    cross_lingual: float | None = DEFAULT_CROSS,
):
    """curate dedup's pair finding and grouping (file order unless ``order``); (groups, pairs, ids)."""
    base = store.read(columns=["id", "lang"])
    vectors, last = load_vectors(store, f"embed.use-multilingual.{mode}")
    options = DedupOptions(threshold=threshold, cross_lingual_threshold=cross_lingual)
    langs = base.column("lang").to_numpy(zero_copy_only=False)
    pairs, _, _ = near_duplicate_pairs(vectors, last, langs, options)
    order = np.arange(len(vectors)) if order is None else order
    return greedy_groups(len(vectors), pairs, order), pairs, base.column("id").to_pylist()


def drop_scores(groups, labels: list[str]) -> tuple[float, float, float]:
    labels_arr = np.array(labels, dtype=object)
    dropped = ~groups.keep
    correct = dropped & (labels_arr == labels_arr[groups.representative])
    ideal = len(labels) - len(set(labels))
    precision = correct.sum() / max(dropped.sum(), 1)
    return float(dropped.mean()), float(precision), float(correct.sum() / max(ideal, 1))


GREETINGS = {"What is up?", "Goodbye", "Have a nice day!"}


def intent(question: str) -> str:
    if question.startswith("Are you based on"):
        return "based-on-model"
    if re.match(r"Are you (created|trained) by", question):
        return "made-by-company"
    if question.startswith("Do you call"):
        return "calls-api"
    if question.startswith("Are you"):
        return "is-model"
    if question.startswith("Who ") and question != "Who are you?":
        return "creator"
    return "identity"


def fastchat() -> None:
    store = store_for("fastchat", [DATA / "fastchat_dummy_sharegpt"])
    messages = store.read(columns=["messages"]).column("messages").to_pylist()
    questions = [
        next(m["content"] for m in ms if m["role"] == "user" and m["content"] not in GREETINGS)
        for ms in messages
    ]
    intents = [intent(q) for q in questions]
    print(
        f"\n### fastchat_dummy_sharegpt ({len(questions)} chats, {len(set(questions))} questions, "
        f"{len(set(intents))} intents)\n"
    )
    print(
        "| threshold | dropped | precision (question) | recall (question) | precision (intent) | recall (intent) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for t in (0.85, 0.9, 0.95):
        groups, _, _ = dedup(store, t)
        drop, pq, rq = drop_scores(groups, questions)
        _, pi, ri = drop_scores(groups, intents)
        print(f"| {t} | {drop:.1%} | {pq:.3f} | {rq:.3f} | {pi:.3f} | {ri:.3f} |")


def gpteacher() -> None:
    folder = DATA / "gpteacher_en"
    store = store_for("gpteacher", [folder / "toolformer-dedupe-only-dataset.json"])
    table = store.read(columns=["id", "source"])
    ids = table.column("id").to_pylist()
    order = np.argsort(pc.struct_field(table.column("source"), "index").to_numpy(), kind="stable")
    levels = {}
    for level in ("0.9", "0.8", "0.7", "0.6"):
        root = WORK / f"gpteacher-{level}"
        Ingestor(
            [str(folder / f"toolformer-similarity-{level}-dataset.json")],
            root,
            IngestOptions(),
            workers=0,
            overwrite=True,
        ).run()
        levels[level] = set(Store.open(root).read(columns=["id"]).column("id").to_pylist())
    sweep = {round(t, 2): dedup(store, t, order=order)[0] for t in np.arange(0.85, 0.995, 0.01)}
    print(f"\n### gpteacher_en toolformer ladder ({len(ids):,} records in dedupe-only)\n")
    print(
        "| authors' level | their drops | ours at 0.9: drops, precision, recall | best agreement: our threshold, drops, F1 |"
    )
    print("|---:|---:|---|---|")
    for level, kept in levels.items():
        theirs = np.array([i not in kept for i in ids])

        def prf(groups, theirs=theirs):
            ours = ~groups.keep
            tp = (ours & theirs).sum()
            p, r = tp / max(ours.sum(), 1), tp / max(theirs.sum(), 1)
            return ours.mean(), p, r, 2 * p * r / max(p + r, 1e-9)

        d9, p9, r9, _ = prf(sweep[0.9])
        best_t, (bd, _, _, bf) = max(((t, prf(g)) for t, g in sweep.items()), key=lambda x: x[1][3])
        print(
            f"| {level} | {theirs.mean():.1%} | {d9:.1%}, {p9:.3f}, {r9:.3f} | {best_t}, {bd:.1%}, {bf:.3f} |"
        )


SETTINGS = (
    (0.9, 0.8),
    (0.9, None),
    (0.85, None),
    (0.8, None),
)  # (threshold, cross-lingual threshold)


def setting(t: float, cross: float | None) -> str:
    return f"{t} / {cross}" if cross is not None else f"{t} / same"


def pair_recall(store: Store, left: list[str], right: list[str]):
    """Rows for one pair set: how many of the (left[k], right[k]) pairs are grouped."""
    messages = store.read(columns=["messages"]).column("messages").to_pylist()
    row_of = {ms[0]["content"]: i for i, ms in enumerate(messages)}
    partners = {(min(row_of[a], row_of[b]), max(row_of[a], row_of[b])) for a, b in zip(left, right)}
    for t, cross in SETTINGS:
        groups, pairs, _ = dedup(store, t, cross_lingual=cross)
        found = set(zip(pairs.i.tolist(), pairs.j.tolist()))
        together = np.mean(
            [groups.representative[a] == groups.representative[b] for a, b in partners]
        )
        yield (
            setting(t, cross),
            len(found & partners) / len(partners),
            together,
            len(found - partners),
        )


def prompts_file(name: str, prompts: list[str]) -> Path:
    path = WORK / "inputs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps({"prompt": t}) + b"\n" for t in prompts))
    return path


def cross_script() -> None:
    folder = DATA / "prompts_zh_hans_hant"
    hans = [r["prompt"] for r in orjson.loads((folder / "prompts-zh.json").read_bytes())]
    hant = [r["prompt"] for r in orjson.loads((folder / "prompts-zh-TW.json").read_bytes())]
    converter = opencc.OpenCC("s2tw")
    converted = [converter.convert(t) for t in hans]
    ru = [
        orjson.loads(line)["turns"][0]
        for line in (DATA / "mtbench_ru" / "question_ru.jsonl").read_bytes().splitlines()
    ]
    en = [
        orjson.loads(line)["turns"][0]
        for line in (DATA / "mtbench_ru" / "question_en.jsonl").read_bytes().splitlines()
    ]
    print("\n### Cross-script and cross-language recall\n")
    print("Thresholds: same-language / cross-language (`same`: one threshold for all pairs).\n")
    print("| pairs | thresholds | pairs found | pairs in one group | other pairs found |")
    print("|---|---|---:|---:|---:|")
    for label, name, inputs, left, right in (
        (
            "zh-Hans / zh-Hant, prompts_zh_hans_hant (124, localised)",
            "zh-pairs",
            [folder],
            hans,
            hant,
        ),
        (
            "zh-Hans / OpenCC s2tw of the same (124)",
            "zh-s2tw",
            [folder / "prompts-zh.json", prompts_file("s2tw.jsonl", converted)],
            hans,
            converted,
        ),
        (
            "ru / en, MT-Bench questions (80)",
            "mtbench",
            [prompts_file("ru.jsonl", ru), prompts_file("en.jsonl", en)],
            ru,
            en,
        ),
    ):
        store = store_for(name, inputs)
        for thresholds, found, together, others in pair_recall(store, left, right):
            print(f"| {label} | {thresholds} | {found:.3f} | {together:.3f} | {others} |")
    alpaca_translations()


def alpaca_translations() -> None:
    """The first Chinese chunk of the crowd translation of Alpaca, against the English original."""
    zh_file = (
        DATA
        / "alpaca_zh_translated_hikariming"
        / "translated_chunks"
        / "alpaca_data-0-3252-zh-done.json"
    )
    zh = orjson.loads(zh_file.read_bytes())
    en = orjson.loads((DATA / "alpaca_52k_en" / "alpaca_data_52k_en.json").read_bytes())[
        : len(zh) + 10
    ]
    en_file = WORK / "inputs" / "alpaca-en-head.json"
    en_file.write_bytes(orjson.dumps(en))
    store = store_for("alpaca-translations", [zh_file, en_file])
    table = store.read(columns=["source"])
    files = pc.struct_field(table.column("source"), "file").to_pylist()
    index = pc.struct_field(table.column("source"), "index").to_numpy()
    is_zh = np.array(["zh-done" in f for f in files])
    print(
        f"\nAlpaca translated to Chinese ({is_zh.sum():,} records of chunk 0-3252) against the English originals; "
        "a Chinese record's partner is an English one within 10 positions of it (the chunk keeps Alpaca's order).\n"
    )
    print(
        "| thresholds | Chinese records paired with their original | paired with another record |"
    )
    print("|---|---:|---:|")
    for t, cross in SETTINGS[:2] + ((0.9, 0.75),):
        _, pairs, _ = dedup(store, t, cross_lingual=cross)
        crossing = is_zh[pairs.i] != is_zh[pairs.j]
        zh_row = np.where(is_zh[pairs.i], pairs.i, pairs.j)[crossing]
        en_row = np.where(is_zh[pairs.i], pairs.j, pairs.i)[crossing]
        aligned = np.abs(index[zh_row] - index[en_row]) <= 10
        found = len(set(zh_row[aligned].tolist()))
        wrong = len(set(zh_row[~aligned].tolist()))
        print(f"| {setting(t, cross)} | {found / is_zh.sum():.3f} | {wrong / is_zh.sum():.3f} |")


def partition_recall() -> None:
    root = Path(tempfile.gettempdir()) / "curate-bench-alpaca"
    if not (root / "manifests" / "ingest.json").exists():
        Ingestor([str(DATA / "alpaca_52k_en")], root, IngestOptions(), overwrite=True).run()
    store = Store.open(root)
    run_embed(store, EmbedOptions())
    vectors, _ = load_vectors(store, "embed.use-multilingual.conversation")
    print("\n### Partitioned search against exact search, Alpaca-52K (USE, 512-d)\n")
    print("| method | threshold | pairs | recall of all exact pairs | seconds |")
    print("|---|---:|---:|---:|---:|")
    for t in (0.85, 0.9):
        start = time.perf_counter()
        exact, _ = near_pairs(vectors, t, method="exact")
        print(f"| exact | {t} | {len(exact):,} | 1.0000 | {time.perf_counter() - start:.1f} |")
        truth = exact.i * len(vectors) + exact.j
        for method, nprobe in (
            ("partition", 2),
            ("partition", 4),
            ("partition", 6),
            ("faiss-ivf", 16),
        ):
            start = time.perf_counter()
            found, stats = near_pairs(
                vectors, t, method=method, nprobe=nprobe, measure_recall=False
            )
            seconds = time.perf_counter() - start
            recall = np.isin(truth, found.i * len(vectors) + found.j).mean()
            print(
                f"| {method} ({stats.cells} cells, nprobe {nprobe}) | {t} | {len(found):,} | {recall:.4f} | {seconds:.1f} |"
            )
        sys.stdout.flush()


def oasst_trees() -> None:
    modes = ("conversation", "user", "first_user")
    store = store_for("oasst", [DATA / "oasst_zh"], modes)
    messages = store.read(columns=["messages"]).column("messages").to_pylist()
    first = [next(m["content"] for m in ms if m["role"] == "user") for ms in messages]
    multi = sum(sum(m["role"] == "user" for m in ms) > 1 for ms in messages)
    print(
        f"\n### oasst_zh conversation trees ({len(messages):,} conversations, {multi:,} multi-turn), threshold {DEFAULT_T}\n"
    )
    print("| text mode | dropped | dropped sharing the opening prompt with their kept member |")
    print("|---|---:|---:|")
    for mode in modes:
        groups, _, _ = dedup(store, DEFAULT_T, mode=mode)
        dropped = np.flatnonzero(~groups.keep)
        shared = sum(first[i] == first[groups.representative[i]] for i in dropped)
        label = mode + (" (+ last-exchange check)" if mode == "conversation" else "")
        print(f"| {label} | {len(dropped):,} | {shared:,} |")


def main() -> None:
    WORK.mkdir(parents=True, exist_ok=True)
    print(
        "`python benchmarks/bench_dedup_quality.py` (default embedder use-multilingual, text mode conversation)"
    )
    for section in (fastchat, gpteacher, cross_script, partition_recall, oasst_trees):
        section()
        sys.stdout.flush()


if __name__ == "__main__":
    main()
