"""The offline cluster tagger: agreement with labelled categories, and speed.

Usage::

    python benchmarks/bench_tag_cluster.py quality
    python benchmarks/bench_tag_cluster.py speed STORE     # a store with embeddings (e.g. Alpaca-52K)

``quality``: the labelled questions in ``../shared/data`` in three languages,
mixed into one pool: MT-Bench in English and in Russian (the same 80 questions,
8 categories) and the Traditional Chinese zh_tw_bench (79 questions, 9
Vicuna-style categories). They are embedded with the default embedder (as ``curate
embed`` does: first and later turns, Traditional folded) and clustered with the
tagger's k-means; reported: NMI and purity against the categories, NMI against the
*language* (lower is better: clusters should follow intent, not language), and the
share of English-Russian question pairs that land in the same cluster. Seeds 0-4.

``speed``: ``curate tag`` (k-means + c-TF-IDF naming + writing the sidecar) on a
store whose embeddings exist, timed and with its peak memory.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def labelled() -> tuple[list[str], list[str], list[str]]:
    texts, categories, langs = [], [], []
    for path, lang in (
        ("mtbench_en/question.jsonl", "en"),
        ("mtbench_ru/question_ru.jsonl", "ru"),
        ("zh_tw_bench/question.jsonl", "zh-Hant"),
    ):
        for line in (DATA / path).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            texts.append("\n".join(record["turns"]))
            categories.append(record["category"])
            langs.append(lang)
    return texts, categories, langs


def quality() -> None:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from curate.embed.embedders import resolve
    from curate.embed.text import fold_scripts_batch
    from curate.kmeans import kmeans
    from taggers.cluster import name_clusters, purity

    texts, categories, langs = labelled()
    embedder = resolve(None)
    embedder.load()
    vectors = embedder.encode(fold_scripts_batch(texts))
    n_categories = len(set(categories))
    rows = []
    for k in (n_categories, 2 * n_categories):
        scores = []
        for seed in range(5):
            labels = kmeans(vectors, k, 25, seed).labels
            en_ru = [labels[i] == labels[80 + i] for i in range(80)]
            scores.append(
                (
                    nmi(categories, labels),
                    purity(labels, categories),
                    nmi(langs, labels),
                    float(np.mean(en_ru)),
                )
            )
        med = [statistics.median(s[i] for s in scores) for i in range(4)]
        rows.append((k, *med))
        if k == n_categories:
            names, _ = name_clusters(texts, labels, int(labels.max()) + 1)
    print(f"{len(texts)} questions, {n_categories} categories, languages en/ru/zh-Hant\n")
    print("| clusters | NMI (categories) | purity | NMI (language) | en/ru pairs together |")
    print("|---:|---:|---:|---:|---:|")
    for k, a, b, c, d in rows:
        print(f"| {k} | {a:.3f} | {b:.3f} | {c:.3f} | {d:.1%} |")
    rng = np.random.default_rng(0)
    chance = statistics.median(
        nmi(categories, rng.integers(0, n_categories, len(texts))) for _ in range(20)
    )
    print(f"\nchance NMI with {n_categories} random clusters: {chance:.3f}")
    print("cluster names (seed 4):", "; ".join(names))


def speed(store_path: str) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _measure import run_measured

    from curate.store import Store

    rows = Store.open(store_path).num_rows()
    cmd = [sys.executable, "-m", "curate", "tag", store_path, "--overwrite", "--quiet"]
    wall, peak = run_measured(cmd)
    manifest = Store.open(store_path).manifest("sidecar.tag.cluster")
    print(
        "| store | conversations | clusters | curate tag (s) | conversations/s | peak RSS (MiB) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    print(
        f"| {store_path} | {rows:,} | {manifest['counts']['clusters']:,} | {wall:.1f} | "
        f"{rows / wall:,.0f} | {peak / 2**20:,.0f} |"
    )
    print("largest:", "; ".join(f"{r['tag']} ({r['count']})" for r in manifest["tag_table"][:8]))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("quality", "speed"):
        sys.exit(__doc__)
    if sys.argv[1] == "quality":
        quality()
    else:
        speed(sys.argv[2])
