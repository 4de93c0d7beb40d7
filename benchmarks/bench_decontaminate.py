"""Recall per kind and false positives of ``curate decontaminate`` on planted benchmark items.

Usage::

    python benchmarks/bench_decontaminate.py              # the defaults, per kind and method
    python benchmarks/bench_decontaminate.py --grid       # also the n-gram / threshold grids

Two experiments (``curate.testing.contamination``): a pool of unrelated rows from
../shared/data (LIMA, OASST zh, rulm, MedicalGPT, MOSS) plus rows planted from
benchmark items: exact copies, OpenCC s2tw / tw2s conversions, a human Traditional
rewrite, translations, hand-written paraphrases, items quoted inside a longer prompt;
checked against the benchmark files. The pool is embedded as the README's job embeds
(use-multilingual, max 400 characters, conversation and user text).

A planted row is **found** when it is marked contaminated by its own item (the same
item id). A **false positive** is an unrelated row marked contaminated. The grid
reports the items' two halves (even and odd positions) apart: the defaults were chosen
on half 0. Results go to BENCHMARKS.md ("Issue 18").
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
CROSS = "en/ru=0.825,en/zh=0.875,ru/zh=0.825,zh-Hans/zh-Hant=0.8,*=0.875"  # dedup's
KINDS = ("exact", "s2tw", "tw2s", "rewrite_zh_tw", "translation", "paraphrase", "quoted")


def build_pool(planted, root: Path):
    from curate.embed.stage import EmbedOptions, run_embed
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.store import Store

    path = root / f"pool_{planted.name}"
    Ingestor([str(p) for p in planted.pool_files], path, IngestOptions()).run()
    store = Store.open(path)
    for mode in ("conversation", "user"):
        run_embed(store, EmbedOptions(mode=mode, max_chars=400))
    return store


def labels(store):
    table = store.read(columns=["id", "meta", "lang"])
    kinds, items, halves = [], [], []
    for meta in table.column("meta").to_pylist():
        fields = json.loads(meta) if meta else {}
        kinds.append(fields.get("plant_kind"))
        items.append(fields.get("plant_item"))
        halves.append(fields.get("plant_half"))
    return (np.array(kinds, dtype=object), np.array(items, dtype=object),
            np.array(halves, dtype=object), table.column("lang").to_numpy(zero_copy_only=False))  # fmt: skip


def score(found_item: np.ndarray, flagged: np.ndarray, kinds, items, halves, half=None):
    """{kind: (found, planted)} and (false positives, unrelated rows)."""
    out = {}
    for kind in KINDS:
        rows = kinds == kind
        if half is not None:
            rows &= halves == half
        if rows.any():
            out[kind] = (int((found_item[rows] == items[rows]).sum()), int(rows.sum()))
    unrelated = np.array([k is None for k in kinds])
    return out, (int(flagged[unrelated].sum()), int(unrelated.sum()))


def run_stage(store, bench_files, **overrides):
    from curate.decontaminate.stage import DecontaminateOptions, run_decontaminate
    from curate.names import DECONTAMINATE

    options = DecontaminateOptions(against=tuple(map(str, bench_files)), **overrides)
    started = time.perf_counter()
    result = run_decontaminate(store, options, overwrite=True)
    wall = time.perf_counter() - started
    side = store.read(columns=["id"], sidecars=[DECONTAMINATE])
    flagged = side.column("contaminated").to_numpy(zero_copy_only=False)
    item = np.array(side.column("contam_item").to_pylist(), dtype=object)
    method = np.array(side.column("contam_method").to_pylist(), dtype=object)
    return flagged, item, method, wall, result.manifest


def ngram_grid(store, bench_files, lab, root: Path) -> list[dict]:
    """Recall and false positives over n and the overlap threshold (n-grams alone)."""
    from curate.decontaminate.benchmarks import read_benchmarks
    from curate.decontaminate.ngrams import NgramIndex, NgramSpec
    from curate.decontaminate.tokens import message_texts, tokenize

    kinds, items, halves, _ = lab
    bench = read_benchmarks([str(p) for p in bench_files], store.root)
    table = store.read(columns=["messages"])
    texts, rows, n, _ = message_texts(table.column("messages"))
    pool = tokenize(texts, rows, n)
    segments = tokenize(bench.segment_texts)
    out = []
    for word_n, cjk_n in ((5, 6), (8, 10), (10, 13), (13, 16)):
        spec = NgramSpec(word_n, min(word_n, 5), cjk_n, min(cjk_n, 6))
        index = NgramIndex(segments, spec, references=bench.segment_part == 1)
        hits = index.overlaps(pool, 0.05)
        for tau in (0.3, 0.5, 0.7, 0.9):
            keep = hits.overlap >= tau
            found = np.full(n, None, dtype=object)
            flagged = np.zeros(n, dtype=bool)
            flagged[hits.rows[keep]] = True
            correct = bench.item_id[bench.segment_item[hits.segments[keep]]]
            for r, it in zip(hits.rows[keep], correct):
                if it == items[r]:
                    found[r] = it
            for half in (0, 1):
                per_kind, fp = score(found, flagged, kinds, items, halves, half)
                out.append({"word_n": word_n, "cjk_n": cjk_n, "min_overlap": tau, "half": half,
                            "kinds": per_kind, "fp": fp})  # fmt: skip
    return out


def embedding_grid(store, bench_files, lab) -> list[dict]:
    """Recall and false positives of the embeddings alone over text mode, thresholds, margin."""
    kinds, items, halves, _ = lab
    out = []
    for text in ("user",):
        for within, across, margin in (
            (0.9, "0.8", 0), (0.9, "0.85", 0), (0.9, CROSS, 0), (0.9, CROSS, 1.3),
            (0.9, CROSS, 1.35), (0.9, CROSS, 1.4), (0.9, CROSS, 1.45), (0.9, CROSS, 1.5),
            (0.9, CROSS, 1.6),
        ):  # fmt: skip
            flagged, item, _, _, _ = run_stage(
                store, bench_files, methods="embedding", text=text, threshold=within,
                cross_lingual_threshold=across, margin=margin,
            )  # fmt: skip
            found = np.where(item == items, item, None)
            for half in (0, 1):
                per_kind, fp = score(found, flagged, kinds, items, halves, half)
                out.append({"text": text, "within": within, "across": across, "margin": margin,
                            "half": half, "kinds": per_kind, "fp": fp})  # fmt: skip
    return out


def fmt(pair) -> str:
    found, total = pair
    return f"{found}/{total} ({100 * found / max(total, 1):.0f}%)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also the n-gram and threshold grids")
    parser.add_argument("--work", type=Path, default=None, help="keep the stores here")
    args = parser.parse_args()
    from curate.testing.contamination import plant

    work = args.work or Path(tempfile.mkdtemp(prefix="bench-decontam-"))
    planted = plant(DATA, work / "planted")
    for name, experiment in planted.items():
        store = build_pool(experiment, work)
        lab = labels(store)
        kinds, items, halves, _ = lab
        print(f"\n## experiment {name}: {store.num_rows():,} rows, planted {experiment.kinds}")
        print("| methods | " + " | ".join(KINDS) + " | false positives | seconds |")
        print("|---" * (len(KINDS) + 3) + "|")
        for methods in ("ngram", "embedding", "ngram,embedding"):
            flagged, item, method, wall, manifest = run_stage(
                store, experiment.benchmarks, methods=methods
            )
            found = np.where(item == items, item, None)
            per_kind, fp = score(found, flagged, kinds, items, halves)
            cells = [fmt(per_kind[k]) if k in per_kind else "" for k in KINDS]
            print(f"| {methods} | " + " | ".join(cells) + f" | {fmt(fp)} | {wall:.1f} |")
            if methods == "ngram,embedding":
                unrelated = np.array([k is None for k in kinds]) & flagged
                examples = defaultdict(int)
                for m in method[unrelated]:
                    examples[m] += 1
                print(f"false positives by method: {dict(examples)}")
        if args.grid:
            print("\nn-gram grid (word_n, cjk_n, min_overlap, half: recall per kind; fp)")
            for row in ngram_grid(store, experiment.benchmarks, lab, work):
                print(json.dumps(row, ensure_ascii=False))
            print("\nembedding grid (mode, within, across, half: recall per kind; fp)")
            for row in embedding_grid(store, experiment.benchmarks, lab):
                print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
