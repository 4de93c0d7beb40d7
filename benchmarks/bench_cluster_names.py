"""Cluster names of the offline tagger: segmenters, names judged by hand, embedded text modes.

Usage::

    python benchmarks/bench_cluster_names.py segmenters          # rjieba against jieba on a Chinese pool
    python benchmarks/bench_cluster_names.py names LANG [--old REV] [--clusters 50]
    python benchmarks/bench_cluster_names.py judged               # share judged meaningful, per file
    python benchmarks/bench_cluster_names.py modes                # NMI/purity per embed text mode

Pools (built from ``../shared/data``, cached under ``$CURATE_BENCH_CACHE`` or
``/tmp/bench_cluster_names``: ingested stores and vectors):

``en``  4,000 Alpaca-52K conversations (seeded sample) and all of LIMA (English rows)
``ru``  every Russian row of ``rulm_ru``, and the 80 MT-Bench questions in Russian with
        ChatGPT's Russian answers (``mtbench_ru``)
``zh``  4,000 rows of the crowd-translated Chinese Alpaca (seeded sample of its Chinese
        rows) and both MedicalGPT SFT files (ShareGPT 1K and medical 1K)
``en-heldout``, ``zh-heldout``  pools the stop words were not written from (25 clusters
        each): Anthropic HH harmless and InstructionWild's English prompts; OpenAssistant
        zh, MOSS (its Chinese rows, with ``<eoh>`` template tokens) and InstructionWild's
        Chinese prompts. The zh one was judged once before the fixes it prompted
        (``cluster_names_zh-heldout-draft.tsv``) and again after them.

``segmenters``: the user turns of every Chinese row of the ``zh`` pool's sources (what
naming reads: the Chinese runs, Traditional folded) cut by rjieba and by jieba (HMM on;
``cut``, and ``tag`` with parts of speech, which the tagger uses): import and first-cut
time, throughput and peak memory, each in a fresh process; and how often the two cut a
text into the same words, and the zh pool's 50 names with each. Needs ``pip install
jieba==0.42.1`` (not a dependency of curate; without it only rjieba's rows are shown).

``names LANG``: the pool embedded as ``curate embed`` does (default embedder,
``conversation`` text, 2,000 characters), clustered once with the tagger's k-means
(``--clusters``, seed 0), and named twice on those same clusters: by the tagger as it was
at git revision ``--old`` (``git show REV:taggers/cluster.py``) and by the current one.
Writes ``benchmarks/results/cluster_names_LANG.tsv`` (version, cluster, size, name,
verdict, note); verdicts already in that file are kept for rows whose version, cluster and
name are unchanged, so a rerun only leaves new names to judge. The verdicts are by hand
(``meaningful`` / ``not meaningful``, the rule in ``RULE``); ``judged`` counts them.

``modes``: two labelled sets, each embedded in every text mode of
:mod:`curate.embed.text` (``conversation``, ``user``, ``first_user``) at 2,000 and at 400
characters (the README's run), clustered with the tagger's k-means at as many clusters as
categories and at twice as many, seeds 0-4; median NMI and purity against the categories. *MT-Bench 3
languages*: the 80 MT-Bench questions in English and in Russian and the 80 Taiwan bench
questions, each with one model's answers (GigaChat's English answers, ChatGPT's Russian
ones, GPT-4's Traditional Chinese ones); two-turn conversations in en/ru. *Chinese
supplementary*: ``alpaca_zh_translated_hikariming/supplementary_zh``, one file per
category (categories with at least 10 distinct instructions, at most 200 per category,
seeded), single-turn.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"
CACHE = Path(os.environ.get("CURATE_BENCH_CACHE", "/tmp/bench_cluster_names"))
RULE = (
    "meaningful: a speaker of the language could guess the cluster's topic or task from the "
    "name alone (checked against five of the cluster's texts); not meaningful: a term is a "
    "fragment of a word, a stop word, markup, or a chat- or prompt-template word, or the terms "
    "point to no topic (two unplaceable terms of three count as none) or to one the texts are "
    "not about; noted but allowed: a word repeated in another form, one unplaceable token"
)
SAMPLE = 4000

# -- pools --------------------------------------------------------------------------------------


def ingested(name: str, inputs: list[Path]) -> list[tuple[str, list[dict], str]]:
    """(source file, messages, lang) of every base row of a store built from ``inputs`` (cached)."""
    from curate.ingest.pipeline import IngestOptions, Ingestor
    from curate.store import Store

    root = CACHE / "stores" / name
    if not (root / "base").is_dir():
        Ingestor([str(p) for p in inputs], root, IngestOptions(), workers=0).run()
    table = Store.open(root).read(columns=["id", "messages", "lang", "source"])
    rows = zip(
        table.column("source").to_pylist(),
        table.column("messages").to_pylist(),
        table.column("lang").to_pylist(),
    )
    return [(Path(s["file"]).name, m, lang) for s, m, lang in rows]


def sample(rows: list, n: int, seed: int = 0) -> list:
    if len(rows) <= n:
        return rows
    keep = np.sort(np.random.default_rng(seed).choice(len(rows), size=n, replace=False))
    return [rows[i] for i in keep]


def mtbench(questions: Path, answers: Path) -> list[tuple[list[dict], str]]:
    """MT-Bench style questions with one model's answers: (messages, category)."""
    answer_turns = {}
    for line in answers.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        answer_turns[record["question_id"]] = record["choices"][0]["turns"]
    out = []
    for line in questions.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        messages = []
        for q, a in zip(record["turns"], answer_turns[record["question_id"]]):
            messages += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        out.append((messages, record["category"]))
    return out


def pool(lang: str) -> list[list[dict]]:
    """The conversations of a language's pool (see the module docstring), in a fixed order."""
    if lang == "en":
        rows = ingested("en", [DATA / "alpaca_52k_en", DATA / "lima_en"])
        alpaca = [m for f, m, la in rows if f.startswith("alpaca") and la == "en"]
        lima = [m for f, m, la in rows if f.startswith("lima") and la == "en"]
        return sample(alpaca, SAMPLE) + lima
    if lang == "ru":
        rows = ingested("ru", [DATA / "rulm_ru"])
        bench = mtbench(
            DATA / "mtbench_ru" / "question_ru.jsonl",
            DATA / "mtbench_ru" / "model_answer" / "mt_bench_ru_chatgpt.jsonl",
        )
        return [m for _, m, la in rows if la == "ru"] + [m for m, _ in bench]
    if lang == "zh":
        chunks = DATA / "alpaca_zh_translated_hikariming" / "translated_chunks"
        medical = DATA / "medicalgpt_zh"
        rows = ingested(
            "zh",
            [
                chunks,
                medical / "sharegpt_zh_1K_format.jsonl",
                medical / "medical_sft_1K_format.jsonl",
            ],
        )
        zh = [(f, m) for f, m, la in rows if la.startswith("zh")]
        alpaca = [m for f, m in zh if f.startswith("alpaca")]
        return sample(alpaca, SAMPLE) + [m for f, m in zh if not f.startswith("alpaca")]
    if lang == "en-heldout":
        wild = DATA / "instructionwild_zh_en"
        rows = ingested(
            "en-heldout",
            [DATA / "hh_rlhf_harmless", wild / "seed_prompts_en.jsonl", wild / "user_2.jsonl"]
            + [wild / "user_3.jsonl"],
        )
        return [m for _, m, la in rows if la == "en"]
    if lang == "zh-heldout":
        rows = ingested(
            "zh-heldout",
            [
                DATA / "oasst_zh",
                DATA / "moss_sft_zh_en",
                DATA / "instructionwild_zh_en" / "seed_prompts_ch.jsonl",
            ],
        )
        return [m for _, m, la in rows if la.startswith("zh")]
    raise SystemExit(f"unknown pool {lang!r}: en, ru, zh, en-heldout or zh-heldout")


def vectors(conversations: list[list[dict]], mode: str = "conversation", max_chars: int = 2000):
    """The default embedder's vectors of ``conversations`` as ``curate embed`` makes them (cached)."""
    from curate.embed.text import embedding_texts

    texts, _ = embedding_texts(conversations, mode, max_chars)
    key = hashlib.sha256("\x00".join(texts).encode()).hexdigest()[:16]
    path = CACHE / "vectors" / f"{key}.npy"
    if path.exists():
        return np.load(path)
    from curate.embed.embedders import resolve

    embedder = resolve(None)
    embedder.load()
    order = np.argsort([len(t) for t in texts], kind="stable")  # batches of similar length
    out = np.empty((len(texts), 0), dtype=np.float32)
    for start in range(0, len(texts), 128):
        block = embedder.encode([texts[i] for i in order[start : start + 128]])
        if out.shape[1] == 0:
            out = np.empty((len(texts), block.shape[1]), dtype=np.float32)
        out[order[start : start + 128]] = block
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, out)
    return out


# -- names ----------------------------------------------------------------------------------------


def old_module(rev: str) -> types.ModuleType:
    """``taggers/cluster.py`` as it was at git revision ``rev`` (read with ``git show``)."""
    source = subprocess.run(
        ["git", "show", f"{rev}:taggers/cluster.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = types.ModuleType(f"cluster_at_{rev}")
    module.__file__ = f"{rev}:taggers/cluster.py"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def names(lang: str, rev: str, clusters: int) -> None:
    from curate.kmeans import kmeans
    from taggers import cluster as new

    conversations = pool(lang)
    labels = kmeans(vectors(conversations), clusters, 25, seed=0).labels
    k = int(labels.max()) + 1
    sizes = np.bincount(labels, minlength=k)
    texts = [new.user_text(m) for m in conversations]
    old = old_module(rev)
    start = time.perf_counter()
    old_names, _ = old.name_clusters(texts, labels, k)
    old_s = time.perf_counter() - start
    start = time.perf_counter()
    new_names, _ = new.name_clusters(texts, labels, k)
    new_s = time.perf_counter() - start
    path = RESULTS / f"cluster_names_{lang}.tsv"
    kept = {}
    if path.exists():
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(
                filter(lambda line: not line.startswith("#"), f), delimiter="\t"
            ):
                kept[(row["version"], row["cluster"], row["name"])] = (row["verdict"], row["note"])
    RESULTS.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write(
            f"# {lang} pool: {len(conversations)} conversations, {k} clusters (k-means seed 0)\n"
        )
        f.write(f"# old: taggers/cluster.py at {rev}; new: the working tree\n")
        f.write(f"# rule: {RULE}\n")
        more = "" if clusters == 50 else f" --clusters {clusters}"
        f.write(
            f"# command: python benchmarks/bench_cluster_names.py names {lang} --old {rev}{more}\n"
        )
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["version", "cluster", "size", "name", "verdict", "note"])
        for version, named in (("old", old_names), ("new", new_names)):
            for c in range(k):
                verdict, note = kept.get((version, str(c), named[c]), ("", ""))
                writer.writerow([version, c, int(sizes[c]), named[c], verdict, note])
    print(f"{lang}: {len(conversations)} conversations, {k} clusters -> {path}")
    print(f"naming: old {old_s:.2f} s, new {new_s:.2f} s")
    for c in np.argsort(-sizes, kind="stable"):
        print(f"{c:3d} {sizes[c]:5d}  {old_names[c]:40s}  {new_names[c]}")


# -- segmenters ----------------------------------------------------------------------------------

SEGMENT = r"""
import json, pickle, re, sys, time
which, path = sys.argv[1], sys.argv[2]
texts = pickle.load(open(path, "rb"))
start = time.perf_counter()
if which.startswith("rjieba"):
    import rjieba
    cut = rjieba.cut if which == "rjieba" else lambda s: [w for w, _ in rjieba.tag(s)]
else:
    import logging, jieba, jieba.posseg
    jieba.setLogLevel(logging.WARNING)
    cut = jieba.lcut if which == "jieba" else lambda s: [p.word for p in jieba.posseg.lcut(s)]
cut("推荐一些书")
ready = time.perf_counter()
words = [cut(t) for t in texts]
done = time.perf_counter()
peak = next(  # this process's own peak (ru_maxrss would count the forking parent's pages)
    int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM")
)
pickle.dump(words, open(path + "." + which, "wb"))
print(json.dumps({"ready": ready - start, "cut": done - ready, "peak": peak}))
"""


def segmenters() -> None:
    import pickle
    import re
    import tempfile

    from curate.embed.text import fold_scripts_batch
    from taggers.cluster import HAN_RUN, user_text

    pool("zh")  # builds the store
    rows = ingested("zh", [])  # every Chinese row of the store, not only the pool's sample
    texts = fold_scripts_batch([user_text(m) for _, m, lang in rows if lang.startswith("zh")])
    han = [" ".join(HAN_RUN.findall(t)) for t in texts]  # what the tagger hands the segmenter
    chars = sum(len(re.sub(" ", "", t)) for t in han)
    print(
        f"every Chinese row of the zh pool's sources: {len(texts):,} texts, {chars:,} Chinese "
        "characters in their user turns\n"
    )
    print("| segmenter | import + first cut (s) | cut the pool (s) | M chars/s | peak RSS (MiB) |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/han.pkl"
        with open(path, "wb") as f:
            pickle.dump(han, f)
        cuts = {}
        for which in ("rjieba", "rjieba-pos", "jieba", "jieba-pos"):
            runs = []
            for _ in range(3):
                out = subprocess.run(
                    [sys.executable, "-c", SEGMENT, which, path], capture_output=True, text=True
                )
                if out.returncode != 0:
                    error = (out.stderr.strip().splitlines() or ["?"])[-1]
                    print(f"| {which} | failed: {error} | | | |")
                    break
                runs.append(json.loads(out.stdout))
            if not runs:
                continue
            ready = statistics.median(r["ready"] for r in runs)
            cut = statistics.median(r["cut"] for r in runs)
            peak = max(r["peak"] for r in runs)
            print(
                f"| {which} (`{'tag' if 'pos' in which else 'cut'}`) | {ready:.2f} | {cut:.2f} | "
                f"{chars / cut / 1e6:.2f} | {peak / 2**20:.0f} |"
            )
            with open(f"{path}.{which}", "rb") as f:
                cuts[which] = pickle.load(f)
    print("\nmedians of 3 fresh processes each; jieba loads its dictionary cache from the temp dir")
    for a, b in (("rjieba", "jieba"), ("rjieba-pos", "jieba-pos")):
        if a in cuts and b in cuts:
            same = sum(x == y for x, y in zip(cuts[a], cuts[b]))
            print(f"{a} and {b} cut {same:,} of {len(han):,} texts identically")
    if "jieba-pos" in cuts:
        compare_names()


class JiebaAsRjieba:
    """jieba behind rjieba's two calls the tagger makes (``tag``, ``has_word``)."""

    def __init__(self) -> None:
        import logging

        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        self.posseg, self.freq = jieba.posseg, jieba.dt.FREQ

    def tag(self, text: str) -> list[tuple[str, str]]:
        return [(p.word, p.flag) for p in self.posseg.lcut(text)]

    def has_word(self, word: str) -> bool:
        return self.freq.get(word, 0) > 0


def compare_names() -> None:
    """The zh pool's 50 cluster names with rjieba and with jieba behind the tagger."""
    from curate.kmeans import kmeans
    from taggers import cluster

    conversations = pool("zh")
    labels = kmeans(vectors(conversations), 50, 25, seed=0).labels
    texts = [cluster.user_text(m) for m in conversations]
    loader = cluster._segmenter
    jieba = JiebaAsRjieba()
    named = {}
    try:
        for which, segmenter in (("rjieba", loader), ("jieba", lambda: jieba)):
            cluster._segmenter = segmenter  # the module's lazy loader, replaced for the run
            cluster.in_dictionary.cache_clear()
            cluster.name_clusters(texts[:200], labels[:200], 50)  # warm: imports, stemmers
            start = time.perf_counter()
            named[which], _ = cluster.name_clusters(texts, labels, 50)
            print(
                f"zh pool ({len(texts):,} texts) named with {which}: {time.perf_counter() - start:.2f} s"
            )
    finally:
        cluster._segmenter = loader
        cluster.in_dictionary.cache_clear()
    differ = [(a, b) for a, b in zip(named["rjieba"], named["jieba"]) if a != b]
    print(f"{len(differ)} of 50 names differ" + (":" if differ else ""))
    for a, b in differ:
        print(f"  rjieba {a}  |  jieba {b}")


# -- text modes -----------------------------------------------------------------------------------


def labelled_sets() -> dict[str, tuple[list[list[dict]], list[str]]]:
    bench = (
        mtbench(
            DATA / "mtbench_ru" / "question_en.jsonl",
            DATA / "mtbench_ru" / "model_answer" / "mt_bench_en_gigachat.jsonl",
        )
        + mtbench(
            DATA / "mtbench_ru" / "question_ru.jsonl",
            DATA / "mtbench_ru" / "model_answer" / "mt_bench_ru_chatgpt.jsonl",
        )
        + mtbench(
            DATA / "zh_tw_bench" / "question.jsonl",
            DATA / "zh_tw_bench" / "model_answer" / "gpt-4.jsonl",
        )
    )
    supplementary = []
    folder = DATA / "alpaca_zh_translated_hikariming" / "supplementary_zh"
    for path in sorted(folder.glob("*.json")):
        records, seen = [], set()
        for r in json.loads(path.read_text(encoding="utf-8")):
            prompt = "\n".join(p for p in (r["instruction"], r.get("input") or "") if p.strip())
            if prompt and r.get("output") and prompt not in seen:
                seen.add(prompt)
                records.append(
                    [
                        {"role": "user", "content": prompt},
                        {"role": "assistant", "content": r["output"]},
                    ]
                )
        if len(records) >= 10:
            supplementary += [(m, path.stem) for m in sample(records, 200)]
    return {
        "MT-Bench en/ru + Taiwan bench": ([m for m, _ in bench], [c for _, c in bench]),
        "Chinese supplementary": ([m for m, _ in supplementary], [c for _, c in supplementary]),
    }


def modes() -> None:
    from sklearn.metrics import normalized_mutual_info_score as nmi

    from curate.embed.text import MODES
    from curate.kmeans import kmeans
    from taggers.cluster import purity

    for title, (conversations, categories) in labelled_sets().items():
        k = len(set(categories))
        print(f"\n{title}: {len(conversations)} conversations, {k} categories\n")
        print(f"| text | max chars | NMI, {k} clusters | purity | NMI, {2 * k} clusters | purity |")
        print("|---|---:|---:|---:|---:|---:|")
        for max_chars in (2000, 400):
            for mode in MODES:
                v = vectors(conversations, mode, max_chars)
                cells = []
                for clusters in (k, 2 * k):
                    scores = []
                    for seed in range(5):
                        labels = kmeans(v, clusters, 25, seed).labels
                        scores.append((nmi(categories, labels), purity(labels, categories)))
                    cells.append(statistics.median(s[0] for s in scores))
                    cells.append(statistics.median(s[1] for s in scores))
                print(f"| `{mode}` | {max_chars} | " + " | ".join(f"{x:.3f}" for x in cells) + " |")
    print("\nmedians over k-means seeds 0-4 (3 restarts each, as the tagger)")


def judged() -> None:
    """Share of names judged meaningful per file and version, and the defects the notes name."""
    print(
        "| pool | clusters | old: meaningful | new: meaningful | old: fragment / stop, template "
        "or markup word | new: fragment / stop, template or markup word |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for path in sorted(RESULTS.glob("cluster_names_*.tsv")):
        with path.open(encoding="utf-8") as f:
            rows = list(
                csv.DictReader(filter(lambda line: not line.startswith("#"), f), delimiter="\t")
            )
        share, defects = {}, {}
        for version in ("old", "new"):
            mine = [r for r in rows if r["version"] == version]
            good = sum(r["verdict"] == "meaningful" for r in mine)
            share[version] = f"{good}/{len(mine)} ({good / max(len(mine), 1):.0%})"
            fragment = sum("fragment" in r["note"] for r in mine)
            word = sum(any(w in r["note"] for w in ("stop", "template", "markup")) for r in mine)
            defects[version] = f"{fragment} / {word}"
        unjudged = sum(r["verdict"] not in ("meaningful", "not meaningful") for r in rows)
        pool_name = path.stem.split("_", 2)[-1]
        print(
            f"| {pool_name} | {len(rows) // 2} | {share['old']} | {share['new']} | "
            f"{defects['old']} | {defects['new']} |" + (f" {unjudged} unjudged" if unjudged else "")
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("segmenters")
    p = sub.add_parser("names")
    p.add_argument("lang", choices=["en", "ru", "zh", "en-heldout", "zh-heldout"])
    p.add_argument("--old", default="3a93365")
    p.add_argument("--clusters", type=int, default=50)
    sub.add_parser("judged")
    sub.add_parser("modes")
    args = parser.parse_args()
    if args.command == "names":
        names(args.lang, args.old, args.clusters)
    elif args.command == "judged":
        judged()
    elif args.command == "segmenters":
        segmenters()
    else:
        modes()
