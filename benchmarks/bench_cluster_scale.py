"""Which k-means scales: flat, sampled or two-level, by quality at equal speed (issue 19).

Usage::

    curate ingest -s /tmp/real ../shared/data
    curate embed /tmp/real --text user --max-chars 400
    python benchmarks/bench_cluster_scale.py real /tmp/real
    python benchmarks/bench_cluster_scale.py pool STORE [ROWS ...]   # bench_million.py stores

``real``: every conversation of ``../shared/data`` (112k) clustered at the tagger's own
``k`` (one cluster per 200 conversations), with each method of :mod:`curate.kmeans`,
seeds 0-2. Quality: NMI against the labelled categories of the rows that have one,
counted once per distinct prompt: MT-Bench (en, ru) and the Taiwan bench (13 categories,
by the question text), and the hikariming ``supplementary_zh`` files (one category per
file, those with 10+ distinct prompts, at most 200 per category, seeded). The labelled rows are clustered among all the
others, as in a real pool. Also: the mean cosine to the own centroid over all rows, the
NMI between each method's partition and flat's (beside flat's own seed-to-seed NMI, the
noise floor) and the time.

``labelled``: the same labelled prompts alone, at as many clusters as categories and twice
as many, each method forced (auto would pick flat at these sizes).

``pool``: the hashing vectors of a bench_million store (``embed.bench-hash.user``), the
first ROWS rows: time, objective, agreement with flat where flat is affordable.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RESULTS = Path(__file__).resolve().parent / "results"
QUESTION_FILES = (
    "mtbench_ru/question_en.jsonl",
    "mtbench_ru/question_ru.jsonl",
    "zh_tw_bench/question.jsonl",
)
SUPPLEMENTARY = "alpaca_zh_translated_hikariming/supplementary_zh/"


def categories_by_question() -> dict[str, str]:
    out = {}
    for path in QUESTION_FILES:
        for line in (DATA / path).read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            out[record["turns"][0].strip()] = record["category"]
    return out


def labelled_rows(store_path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per labelled set: the row numbers (one per distinct first prompt) and their categories."""
    import pyarrow.compute as pc

    from curate.store import Store

    table = Store(store_path).read(columns=["messages", "source"])
    first = pc.list_element(table.column("messages"), 0).combine_chunks().field("content")
    prompts = [p.strip() for p in first.to_pylist()]
    files = table.column("source").combine_chunks().field("file").to_pylist()
    by_question = categories_by_question()
    sets: dict[str, dict[str, tuple[int, str]]] = defaultdict(dict)
    for row, (prompt, file) in enumerate(zip(prompts, files)):
        if SUPPLEMENTARY in file:
            sets["supplementary_zh"].setdefault(prompt, (row, Path(file).stem))
        elif prompt in by_question:
            sets["mtbench_tw"].setdefault(prompt, (row, by_question[prompt]))
    out = {}
    for name, chosen in sets.items():
        rows, cats = zip(*chosen.values())
        counts = defaultdict(int)
        for c in cats:
            counts[c] += 1
        rng = np.random.default_rng(0)
        keep = []
        for category in sorted(counts):
            if counts[category] >= 10:
                members = [i for i, c in enumerate(cats) if c == category]
                keep.extend(rng.permutation(members)[:200].tolist())
        keep.sort()
        out[name] = (np.asarray(rows)[keep], np.asarray(cats)[keep])
    return out


def run(vectors, k, method, seed, restarts=3):
    from curate.kmeans import kmeans

    started = time.perf_counter()
    result = kmeans(vectors, k, 25, seed, restarts, method)
    return result, time.perf_counter() - started


def recall(vectors, result) -> float:
    """Share of rows whose cluster is their nearest centroid (brute force)."""
    from curate.kmeans import nearest

    return float((nearest(vectors, result.centroids)[0] == result.labels).mean())


#: (label, method, restarts): flat at one restart is flat at about two-level's time
VARIANTS = (
    ("flat", "flat", 3),
    ("flat-1", "flat", 1),
    ("sampled", "sampled", 3),
    ("two-level", "two-level", 3),
)


def real(store_path: str, seeds=range(5)) -> dict:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from curate.embed.stage import read_vectors
    from curate.store import Store
    from taggers.cluster import auto_clusters

    vectors = read_vectors(Store(store_path), "embed.use-multilingual.user")
    sets = labelled_rows(store_path)
    k = auto_clusters(len(vectors))
    print(f"{len(vectors):,} rows, k={k}; labelled: "
          + ", ".join(f"{n} {len(r)} ({len(set(c))} categories)" for n, (r, c) in sets.items()), flush=True)  # fmt: skip
    out: dict = {"rows": len(vectors), "k": k, "methods": {}}
    partitions = {}
    for label, method, restarts in VARIANTS:
        rows = []
        for seed in seeds:
            result, seconds = run(vectors, k, method, seed, restarts)
            partitions[label, seed] = result.labels
            row = {"seed": seed, "seconds": round(seconds, 2), "objective": round(result.objective(), 4), "k": result.k, "recall": round(recall(vectors, result), 4)}  # fmt: skip
            for name, (idx, cats) in sets.items():
                row[f"nmi_{name}"] = round(nmi(cats, result.labels[idx]), 4)
            rows.append(row)
            print(label, row, flush=True)
        out["methods"][label] = rows
        out["methods"][label + "_vs_flat"] = [
            round(nmi(partitions["flat", s], partitions[label, t]), 4)
            for s in seeds for t in seeds if (label != "flat" or s < t)
        ]  # fmt: skip
    summary = {}
    for label, *_ in VARIANTS:
        rows = out["methods"][label]
        summary[label] = {
            key: round(statistics.mean(r[key] for r in rows), 4)
            for key in rows[0]
            if key not in ("seed", "k")
        }
        summary[label]["nmi_vs_flat"] = round(
            statistics.mean(out["methods"][label + "_vs_flat"]), 4
        )
        print(label, summary[label], flush=True)
    out["summary"] = summary
    return out


def labelled(store_path: str, seeds=range(5), methods=("flat", "sampled", "two-level")) -> dict:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from curate.embed.stage import read_vectors
    from curate.store import Store

    vectors = read_vectors(Store(store_path), "embed.use-multilingual.user")
    out = {}
    for name, (idx, cats) in labelled_rows(store_path).items():
        n_cat = len(set(cats))
        for k in (n_cat, 2 * n_cat):
            for method in methods:
                scores = [nmi(cats, run(vectors[idx], k, method, s)[0].labels) for s in seeds]
                out[f"{name} k={k} {method}"] = round(statistics.median(scores), 4)
                print(name, k, method, out[f"{name} k={k} {method}"], flush=True)
    return out


def pool(store_path: str, sizes: list[int], methods=("flat", "two-level")) -> dict:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from curate.embed.stage import read_vectors
    from curate.store import Store
    from taggers.cluster import auto_clusters

    vectors = read_vectors(Store(store_path), "embed.bench-hash.user")
    out = {}
    for size in sizes or [len(vectors)]:
        v = vectors[:size]
        k = auto_clusters(len(v))
        parts = {}
        for method in methods:
            result, seconds = run(v, k, method, 0)
            parts[method] = result.labels
            out[f"{size} {method}"] = {
                "k": k,
                "seconds": round(seconds, 1),
                "objective": round(result.objective(), 4),
            }
            if method != "flat" and "flat" in parts:
                out[f"{size} {method}"]["nmi_vs_flat"] = round(nmi(parts["flat"], result.labels), 4)
            print(size, method, out[f"{size} {method}"], flush=True)
    return out


def main() -> None:
    mode, store = sys.argv[1], sys.argv[2]
    if mode == "real":
        result = real(store)
    elif mode == "labelled":
        result = labelled(store)
    elif mode == "pool":
        rest = sys.argv[3:]
        methods = ("flat", "two-level")
        if rest and rest[0].startswith("--methods="):
            methods = tuple(rest.pop(0).split("=", 1)[1].split(","))
        result = pool(store, [int(s) for s in rest], methods)
    else:
        raise SystemExit(__doc__)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"cluster_scale_{mode}.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
