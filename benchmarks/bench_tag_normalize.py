"""Speed and correctness of InsTag-style tag normalisation on a planted synthetic pool.

Usage::

    python benchmarks/bench_tag_normalize.py                 # 200K conversations, 1M tags, seed 0
    python benchmarks/bench_tag_normalize.py --seed 1 --conversations 300000 --assignments 1500000

The pool (seeded) has ``--tags`` distinct raw tags over ``--conversations``
conversations, ``--assignments`` tag assignments in all, with Zipf-like
frequencies. Tags are 3-word names over an English vocabulary (no two
vocabulary words share a stem), and we plant:

* spelling variants of a tag (case, ``-``/``_`` separators, full-width letters,
  trailing punctuation, plural of the last word): the rule step should merge them;
* near-synonyms: the same words reordered, or with a filler word added
  ("... task", "... request"): the semantic step should merge them;
* companions: an unrelated tag that only ever occurs in conversations of one
  frequent tag (in 20-70% of them): the association step should merge it.

The embedder is a stand-in, cheap and deterministic: hashed byte trigrams of
" name " (word boundaries included), 256-d, L2-normalised, vectorised with numpy.
It sees spelling, not meaning, so the synonyms planted are ones spelling can
show; the semantic step's recall on real synonyms depends on the real embedder.
Each step is timed on its own with the process's peak RSS sampled during it;
then the whole ``normalize_tags`` call is timed and checked to give the same
mapping, and the semantic step is run once more on all raw tags (~50,000 names,
no rules or frequency filter first) to show how it scales.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psutil

from taggers.normalize import (
    NormalizeParams,
    TagMapping,
    aggregate_association,
    aggregate_rules,
    aggregate_semantic,
    build_table,
    filter_frequency,
    normalize_tags,
    rule_key,
)

WORDS = """
analysis api architecture argument article assessment audio automation backend balance
banking battery behavior benchmark biology blockchain blog brand browser budget business
calculus calendar camera campaign career cartoon chemistry chess circuit citation
classification climate cloud cluster coaching comedy comment community compiler compliance
composition compression configuration conflict contract cooking copywriting cosmology
counseling crypto culture curriculum customer cybersecurity dashboard database debate
deployment design diagnosis dialogue diet diplomacy discount docker documentary drama
drawing economics editing education election electronics email emotion encryption energy
engineering entertainment environment epidemiology equation essay ethics etiquette event
exercise experiment fantasy fashion feedback finance fitness folklore forecasting forum
framework gaming gardening genealogy genetics geography geometry grammar graphics greeting
hardware health history hobby holiday homework hospitality housing humor hygiene immigration
incident inference insurance interview inventory investment journalism keyboard kinematics
kitchen knowledge laboratory landscape language law leadership lesson library linguistics
literature logic logistics lyrics management manufacturing map marketing mathematics
mechanics medicine meditation memory mentoring metaphor microbiology migration mobile model
motivation movie museum music mythology navigation negotiation network neuroscience news
nutrition ocean office onboarding optics optimization painting parenting parsing password
pediatrics performance pharmacy philosophy photography physics planning plot podcast poetry
policy politics portfolio pottery presentation pricing privacy probability productivity
programming pronunciation proofreading psychology publishing puzzle python quantum query
radio reading real recipe recruitment recycling regression religion renovation research
resume retail review riddle robotics romance router safety salary satire scheduling science
sculpture search security sentiment server shopping simulation skincare slogan soccer social
software spreadsheet statistics storytelling strategy streaming summary supply surgery
survey sustainability syntax tax teaching teamwork telescope tennis terminal testing
textbook theater therapy thermodynamics timeline tourism trading traffic training
translation transport travel trigonometry tutorial typography university vaccine vegetable
video violin virtualization vocabulary volcano volunteering voting wallet weather website
wedding welding wellness wildlife wine workflow workout writing yoga zoology algebra anatomy
animation anthropology archaeology astronomy accounting advertising agriculture aviation
baking botany calligraphy carpentry ceramics cinema cognition commerce cryptography
dentistry ecology embroidery evolution fiction fishing forestry geology hiking ideation
illustration irrigation jazz knitting linux marathon meteorology mindfulness mining opera
origami orchestra paleontology pharmacology photosynthesis pilates plumbing quilting
rhetoric sailing sociology surfing tailoring taxonomy topology urbanism veterinary weaving
zoning
""".split()  # noqa: SIM905 (a word list reads better as text)
FILLERS = ["task", "request", "help", "question", "assistance"]


# --------------------------------------------------------------------------- the data


def vocabulary() -> list[str]:
    """WORDS with no two words sharing a stem (so distinct tags never merge by rule)."""
    seen: set[str] = set()
    out = []
    for word in WORDS:
        key = rule_key(word)
        if key not in seen and word not in FILLERS:
            seen.add(key)
            out.append(word)
    return out


def plural(word: str) -> str | None:
    if word.endswith(("is", "ss", "us", "ics", "news")):
        return None
    if word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    return word + "s"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" else c for c in text)


def spelling_variants(words: list[str]) -> list[str]:
    last = plural(words[-1])
    candidates = [
        " ".join(w.capitalize() for w in words),
        "-".join(w.upper() for w in words),
        "_".join(words),
        "-".join(words),
        " ".join(words) + ".",
        fullwidth(words[0]) + " " + " ".join(words[1:]),
        "_".join(w.capitalize() for w in words),
    ]
    if last:
        candidates += [" ".join([*words[:-1], last])] * 2  # plurals are common
    return candidates


class Pool:
    """The planted pool: raw tag names, kinds, concepts, and the conversations' tag lists."""

    def __init__(self, seed: int, n_conversations: int, n_assignments: int, n_tags: int):
        rng = np.random.default_rng(seed)
        vocab = vocabulary()
        names: list[str] = []
        kind: list[str] = []  # base | variant | synonym | companion
        concept: list[int] = []  # index of the base tag whose concept it is
        partner: list[int] = []  # the tag it should merge with (itself for a base)
        weight: list[float] = []
        used_names: set[str] = set()
        used_sets: set[frozenset[str]] = set()

        def new_words() -> list[str]:
            while True:
                words = [vocab[i] for i in rng.choice(len(vocab), 3, replace=False)]
                if frozenset(words) not in used_sets:
                    used_sets.add(frozenset(words))
                    return words

        def add(name: str, k: str, c: int, p: int, w: float) -> bool:
            if name in used_names or len(names) >= n_tags:
                return False
            used_names.add(name)
            names.append(name)
            kind.append(k)
            concept.append(c)
            partner.append(p)
            weight.append(w)
            return True

        rank = 0
        self.companion_of: dict[int, tuple[int, float]] = {}
        while len(names) < n_tags:
            rank += 1
            words = new_words()
            base = len(names)
            w = 1.0 / rank
            add(" ".join(words), "base", base, base, w)
            if rng.random() < 0.35:
                options = spelling_variants(words)
                for j in rng.choice(len(options), rng.integers(1, 4), replace=False):
                    add(options[j], "variant", base, base, w * rng.uniform(0.05, 0.5))
            if rng.random() < 0.12:
                if rng.random() < 0.5:
                    synonym = " ".join([*words[1:], words[0]])
                else:
                    synonym = " ".join(words) + " " + FILLERS[rng.integers(len(FILLERS))]
                add(synonym, "synonym", base, base, w * rng.uniform(0.1, 0.6))
            if rank <= 5000 and rng.random() < 0.06:
                companion = len(names)
                if add(" ".join(new_words()), "companion", base, base, 0.0):
                    self.companion_of[companion] = (base, float(rng.uniform(0.2, 0.7)))
        self.names = np.array(names, dtype=object)
        self.kind = np.array(kind)
        self.concept = np.array(concept)
        self.partner = np.array(partner)

        # Assignments: every ordinary tag once, the rest drawn by weight, conversations uniform;
        # then each companion joins a fraction of its partner's conversations.
        p = np.array(weight) / np.sum(weight)
        ordinary = np.flatnonzero(self.kind != "companion")
        extra = sum(f * p[b] for b, f in self.companion_of.values())
        n_drawn = int((n_assignments - len(ordinary) - len(self.companion_of)) / (1 + extra))
        tags = np.concatenate([ordinary, rng.choice(len(names), n_drawn, p=p)])
        convs = rng.integers(0, n_conversations, len(tags))
        by_tag = np.argsort(tags, kind="stable")
        starts = np.searchsorted(tags[by_tag], np.arange(len(names) + 1))
        extra_tags, extra_convs = [], []
        for companion, (b, fraction) in sorted(self.companion_of.items()):
            carriers = np.unique(convs[by_tag[starts[b] : starts[b + 1]]])
            k = max(1, round(fraction * len(carriers)))
            extra_convs.append(rng.choice(carriers, k, replace=False))
            extra_tags.append(np.full(k, companion))
        tags = np.concatenate([tags, *extra_tags])
        convs = np.concatenate([convs, *extra_convs])
        order = np.lexsort((rng.random(len(tags)), convs))  # conversations in order, tags shuffled
        tags, convs = tags[order], convs[order]
        bounds = np.searchsorted(convs, np.arange(n_conversations + 1))
        tag_names = self.names[tags]
        self.tag_lists = [
            tag_names[bounds[i] : bounds[i + 1]].tolist() for i in range(n_conversations)
        ]
        self.n_assignments = len(tags)


def trigram_embed(names: list[str], dim: int = 256) -> np.ndarray:
    """Hashed byte trigrams of " name ", ``dim``-d, L2-normalised rows; vectorised."""
    if not names:
        return np.zeros((0, dim), dtype=np.float32)
    data = np.frombuffer("\x00".join(f" {n} " for n in names).encode("utf-8"), dtype=np.uint8)
    row = np.cumsum(data == 0)[:-2]
    b = data.astype(np.uint64)
    valid = (b[:-2] > 0) & (b[1:-1] > 0) & (b[2:] > 0)
    code = (b[:-2] << np.uint64(16)) | (b[1:-1] << np.uint64(8)) | b[2:]
    bucket = ((code * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)) % np.uint64(dim)
    flat = row[valid].astype(np.int64) * dim + bucket[valid].astype(np.int64)
    vectors = np.bincount(flat, minlength=len(names) * dim).reshape(len(names), dim)
    vectors = vectors.astype(np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


# --------------------------------------------------------------------------- measuring


class PeakRSS:
    """Peak resident memory of this process while the block runs (sampled every 2 ms)."""

    def __enter__(self) -> PeakRSS:
        self._process = psutil.Process()
        self.peak = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._process.memory_info().rss)


def measured(fn: Callable[[], object]) -> tuple[object, float, int]:
    with PeakRSS() as rss:
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
    return result, seconds, rss.peak


def pair_scores(pool: Pool, group: np.ndarray) -> tuple[float | None, float]:
    """Pair precision and recall of ``group`` (per raw tag, -1 dropped) against the concepts.

    Only raw tags that are still there count: a pair one of whose tags was
    dropped by frequency is neither predicted nor expected.
    """
    alive = group >= 0
    g, c = group[alive], pool.concept[alive]

    def pairs(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    _, both = np.unique(g * (c.max() + 1) + c, return_counts=True)
    true_pos = pairs(both)
    predicted = pairs(np.unique(g, return_counts=True)[1])
    expected = pairs(np.unique(c, return_counts=True)[1])
    return (true_pos / predicted if predicted else None), true_pos / max(expected, 1)


def raw_groups(pool: Pool, table) -> np.ndarray:
    """The table's group per raw tag, indexed like ``pool.names``."""
    index = {name: i for i, name in enumerate(table.raw)}
    return table.group[[index[name] for name in pool.names]]


def planted_recall(
    pool: Pool, mapping: TagMapping, min_support: int
) -> list[tuple[str, str, int, int, int, int]]:
    """Per planted kind: pairs that can merge, pairs merged, and merged with the expected step.

    A pair can merge when both tags survived the frequency filter, and for a
    companion also when it reaches ``min_support``. The step recorded is the
    last one that changed a tag, so a variant whose whole group was later merged
    semantically shows "semantic".
    """
    expected_step = {"variant": "rule", "synonym": "semantic", "companion": "association"}
    rows = []
    for kind, step in expected_step.items():
        members = np.flatnonzero(pool.kind == kind)
        eligible = merged = by_step = 0
        for i in members.tolist():
            name = pool.names[i]
            mine = mapping.canonical[name]
            theirs = mapping.canonical[pool.names[pool.partner[i]]]
            if mine is None or theirs is None:
                continue
            if kind == "companion" and mapping.counts[name] < min_support:
                continue
            eligible += 1
            if mine == theirs:
                merged += 1
                by_step += mapping.steps[name] == step
        rows.append((kind, step, len(members), eligible, merged, by_step))
    return rows


def mib(n: int) -> str:
    return f"{n / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--tags", type=int, default=50_000)
    parser.add_argument(
        "--skip-scaling", action="store_true", help="skip the 50K-name semantic run"
    )
    args = parser.parse_args()

    start = time.perf_counter()
    pool = Pool(args.seed, args.conversations, args.assignments, args.tags)
    kinds = {k: int((pool.kind == k).sum()) for k in ("base", "variant", "synonym", "companion")}
    print(
        f"pool (seed {args.seed}, generated in {time.perf_counter() - start:.1f} s): "
        f"{len(pool.tag_lists):,} conversations, {pool.n_assignments:,} assignments, "
        f"{len(pool.names):,} distinct raw tags {kinds}"
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"numpy {np.__version__}; embed: hashed byte trigrams, 256-d"
    )

    params = NormalizeParams()
    resolved = params.resolve(len(pool.tag_lists))
    steps = [
        ("index (build_table)", lambda t: build_table(pool.tag_lists)),
        ("1 rules (aggregate_rules)", aggregate_rules),
        ("2 frequency (filter_frequency)", lambda t: filter_frequency(t, resolved["min_count"])),
        ("3 semantic (aggregate_semantic)", lambda t: aggregate_semantic(t, trigram_embed)),
        (
            "4 association (aggregate_association)",
            lambda t: aggregate_association(t, resolved["min_support"], resolved["min_confidence"]),
        ),
    ]
    rows = []
    table = None
    total = 0.0
    print(f"RSS before the steps (pool in memory): {mib(psutil.Process().memory_info().rss)} MiB")
    for label, step in steps:
        table, seconds, peak = measured(lambda step=step, table=table: step(table))
        total += seconds
        entry = table.report[-1]
        precision, recall = pair_scores(pool, raw_groups(pool, table))
        rows.append((label, seconds, entry["tags_in"], entry["tags_out"], peak, precision, recall))
    mapping, to_mapping_s, peak = measured(lambda: table.to_mapping(params))
    total += to_mapping_s
    rows.append(
        ("mapping (to_mapping)", to_mapping_s, None, len(mapping.canonical), peak, None, None)
    )

    print(
        f"\nparams: {params}; resolved min_count={resolved['min_count']}, "
        f"min_support={resolved['min_support']}\n"
    )
    print("| step | seconds | tags in | tags out | peak RSS (MiB) | pair precision | pair recall |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, seconds, tags_in, tags_out, peak, precision, recall in rows:
        cells = [
            label,
            f"{seconds:.2f}",
            f"{tags_in:,}" if tags_in is not None else "",
            f"{tags_out:,}",
            mib(peak),
            "" if recall is None else "n/a" if precision is None else f"{precision:.4f}",
            f"{recall:.4f}" if recall is not None else "",
        ]
        print("| " + " | ".join(cells) + " |")
    print(f"| **sum of steps** | **{total:.2f}** | | | | | |")
    semantic = next(e for e in table.report if e["step"] == "semantic")
    print(
        f"\nsemantic: embed {semantic['embed_seconds']:.2f} s of {semantic['seconds']:.2f} s, "
        f"block_rows {semantic['block_rows']}; association: {table.report[-1]['rules']} rules"
    )

    end_to_end, seconds, peak = measured(
        lambda: normalize_tags(pool.tag_lists, params, embed=trigram_embed)
    )
    assert end_to_end == mapping, "normalize_tags differs from the step-by-step run"
    print(f"normalize_tags end to end: {seconds:.2f} s, peak RSS {mib(peak)} MiB (same mapping)")

    applied, apply_s, _ = measured(lambda: mapping.apply(pool.tag_lists))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mapping.tsv"
        _, save_s, _ = measured(lambda: mapping.save(path))
        loaded, load_s, _ = measured(lambda: TagMapping.load(path))
        size = path.stat().st_size
    assert loaded == mapping
    n_applied = sum(map(len, applied))
    print(
        f"apply: {apply_s:.2f} s ({pool.n_assignments:,} raw -> {n_applied:,} canonical "
        f"assignments); save {save_s:.2f} s, load {load_s:.2f} s, TSV {size / 2**20:.1f} MiB"
    )

    print("\n| planted | expected step | planted | can merge | merged | recorded step = expected |")
    print("|---|---|---:|---:|---:|---:|")
    for kind, step, planted, eligible, merged, by_step in planted_recall(
        pool, mapping, resolved["min_support"]
    ):
        share = f" ({merged / eligible:.1%})" if eligible else ""
        print(f"| {kind} | {step} | {planted:,} | {eligible:,} | {merged:,}{share} | {by_step:,} |")

    if not args.skip_scaling:
        everything = build_table(pool.tag_lists)
        scaled, seconds, peak = measured(lambda: aggregate_semantic(everything, trigram_embed))
        entry = scaled.report[-1]
        precision, recall = pair_scores(pool, raw_groups(pool, scaled))
        print(
            f"\nscaling: semantic step alone on all {entry['tags_in']:,} raw tags "
            f"(no rules, no frequency filter): {seconds:.2f} s (embed {entry['embed_seconds']:.2f} s), "
            f"{entry['tags_out']:,} out, block_rows {entry['block_rows']}, peak RSS {mib(peak)} MiB, "
            f"pair precision {precision:.4f}, recall {recall:.4f}"
        )


if __name__ == "__main__":
    main()
