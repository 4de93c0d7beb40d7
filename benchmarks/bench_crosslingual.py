"""Calibrate dedup's ``--cross-lingual-threshold`` on every translation-pair set in ../shared/data.

Usage::

    python benchmarks/bench_crosslingual.py            # curves (Markdown) and the choice
    python benchmarks/bench_crosslingual.py --check    # exit 1 unless the shipped default is the choice

Everything goes through curate's own path: one store holding every set and the
distractors (``curate ingest``), the default embedder in the default text mode
(``curate embed``: multilingual USE, ``conversation``), and dedup's own rule for
which pairs cross languages or scripts (:func:`curate.dedup.stage.pair_thresholds`).
The store is cached in the temp dir (``curate-bench-quality/crosslingual-<hash>``,
the hash of the inputs), so a rerun only reads the vectors back.

**Labelled sets** (translation pairs; a set's partner pairs are its positives):

* ``mtbench`` ru/en: MT-Bench first turns, ``question_ru.jsonl`` against
  ``question_en.jsonl`` by ``question_id`` (80).
* ``rulm-seeds`` ru/en: the self-instruct seed tasks translated to Russian
  (``rulm_ru/ru_alpaca_seed_tasks.jsonl``), ``instruction`` against ``orig_instruction``.
* ``vicuna`` ru/zh-Hant: the 80 Vicuna questions in Russian (``rulm_ru/saicuna_vs_vicuna``,
  ``task_N_0``) against Traditional Chinese (``zh_tw_bench/question.jsonl``, ``index`` N).
* ``alpaca`` zh/en: the crowd translation of Alpaca (``alpaca_zh_translated_hikariming/
  translated_chunks``, all 7 chunks, the malformed one as far as ingest salvages it)
  against ``alpaca_52k_en``, whole conversations. A chunk named ``a-b`` translates Alpaca
  records a..b-1 in their order, but leaves some out (``UNFINISHED`` ones many) and
  keeps some untranslated. Partners come from an order-preserving alignment of each
  chunk to its range (:func:`align_monotone`), so a label comes from the order, not from
  the record's own similarity alone. (``bench_dedup_quality.py`` accepts any English
  record within 10 positions of a Chinese one, on the first chunk only.)
* ``prompts-zh`` zh-Hans/zh-Hant: ``prompts_zh_hans_hant``, line-aligned (124).
* ``instructionwild`` zh/en: ``seed_prompts_ch.jsonl`` against ``seed_prompts_en.jsonl``:
  429 lines each, but a few stretches are shifted by a line, so they are aligned like the
  Alpaca chunks. (``user_1.jsonl`` is ``seed_prompts_en`` again with a type column;
  ``user_2``/``user_3`` have no Chinese side and serve as distractors.)

A few prompts are the same in two sets (Vicuna and MT-Bench share two questions; four of
MT-Bench's role-play questions rewrite prompts that ``prompts_zh_hans_hant`` translates):
:data:`SAME_PROMPT`, checked by hand. Their links are never false merges.

**Distractors** (unlabelled records in the same store): the rest of Alpaca-52K;
Chinese conversations (``alpaca_zh_translated_hikariming/supplementary_zh``, COIG-CQIA
sample); English prompts (InstructionWild user_2/user_3, LIMA, HH-RLHF harmless first
turns); Chinese prompts (MOSS user prompts, OpenAssistant zh, MedicalGPT's medical SFT);
Traditional Chinese prompts (DRCD questions); Russian prompts (rulm's turbo-alpaca
generations, Saiga user tasks, the arena prompts of the Saiga answers). Sources that hold
unlabelled translations of a labelled set are left out (rulm's Alpaca and Vicuna tasks,
``training.json``, LlamaFactory's alpaca_zh_demo), and so are the distractor prompts that
ask to "act as" someone (:data:`ROLE_PROMPT`): they are the English originals of
``prompts_zh_hans_hant``.

**Measures**, per set and threshold t. Candidates: every pair of rows whose languages
or scripts differ by dedup's rule (the pairs the cross-lingual threshold decides) and
that touches a labelled record of the set. A partner pair at or above t is a true
positive; any other candidate at or above t is a false merge, unless it only repeats a
same-language near-duplicate (the other record is within ``DEFAULT_THRESHOLD`` (0.9) of
the partner, in the same language: dedup links those anyway). So precision measures how
often a cross-language link agrees with what dedup decides within one language. Recall =
partner pairs found / partner pairs that cross languages (partners detected as the same
language, e.g. untranslated Alpaca records, are the within-language threshold's
business). The pooled curve counts each pair once over all sets. The choice:
:func:`curate.dedup.calibration.choose_threshold`.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dedup_quality import DATA, WORK, prompts_file, store_for  # noqa: E402

from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD, DEFAULT_THRESHOLD  # noqa: E402
from curate.dedup.calibration import GRID, f1_of, precision_of  # noqa: E402
from curate.dedup.languages import CrossLingual  # noqa: E402
from curate.dedup.search import Pairs, Products  # noqa: E402
from curate.dedup.stage import load_vectors, pair_thresholds  # noqa: E402
from curate.lang import UNKNOWN_LANGS  # noqa: E402
from curate.store import Store  # noqa: E402

EMBEDDINGS = "embed.use-multilingual.conversation"
FLOOR = 0.5  # cross-language pairs below this similarity are never candidates on the grid


# ---------------------------------------------------------------------------------------
# Inputs


def jsonl(path: Path) -> list[dict | None]:
    """One record per line; a line that does not parse is None (keeps line numbers)."""
    out: list[dict | None] = []
    for line in path.read_bytes().splitlines():
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            out.append(None)
    return out


def prompt(record: dict, key: str = "instruction") -> str:
    """An Alpaca-style record's prompt: instruction, then its input if any."""
    extra = (record.get("input") or "").strip()
    return record[key].strip() + (f"\n\n{extra}" if extra else "")


@dataclass
class PairSet:
    """A labelled set: rows of ``left`` and ``right`` that are translations of each other."""

    name: str
    languages: str  # the language pair, as dedup's lang codes ("ru-en")
    label: str  # for the tables
    left: list[Path]
    right: list[Path]
    # (left file, left record index, right file, right record index); for a set with
    # ``ranges``, filled by :func:`align` once the vectors exist
    partners: list[tuple[Path, int, Path, int]] = field(default_factory=list)
    keys: list = field(default_factory=list)  # the source's key of each partner pair
    # (left file, right file, start, end): partners found by aligning the left file's
    # records to the right file's records start..end-1 (:func:`align_monotone`)
    ranges: list[tuple[Path, Path, int, int]] = field(default_factory=list)


def aligned_set(name: str, languages: str, label: str, pairs: list[tuple]) -> PairSet:
    """A set given as aligned (key, left text, right text): one prompt file per side."""
    pairs = [(k, a.strip(), b.strip()) for k, a, b in pairs if a and b and a.strip() and b.strip()]
    left = prompts_file(f"xl-{name}-left.jsonl", [a for _, a, _ in pairs])
    right = prompts_file(f"xl-{name}-right.jsonl", [b for _, _, b in pairs])
    return PairSet(
        name,
        languages,
        label,
        [left],
        [right],
        [(left, k, right, k) for k in range(len(pairs))],
        [k for k, _, _ in pairs],
    )


def mtbench() -> PairSet:
    folder = DATA / "mtbench_ru"
    ru = {q["question_id"]: q["turns"][0] for q in jsonl(folder / "question_ru.jsonl")}
    en = {q["question_id"]: q["turns"][0] for q in jsonl(folder / "question_en.jsonl")}
    pairs = [(k, ru[k], en[k]) for k in sorted(ru.keys() & en.keys())]
    return aligned_set("mtbench", "ru-en", "MT-Bench questions", pairs)


def rulm_seeds() -> PairSet:
    records = jsonl(DATA / "rulm_ru" / "ru_alpaca_seed_tasks.jsonl")
    pairs = [(r["id"], r["instruction"], r.get("orig_instruction") or "") for r in records if r]
    return aligned_set("rulm-seeds", "ru-en", "self-instruct seed tasks (rulm)", pairs)


def vicuna() -> PairSet:
    ru = {
        r["id"]: r["instruction"] for r in jsonl(DATA / "rulm_ru" / "saicuna_vs_vicuna.jsonl") if r
    }
    zh = jsonl(DATA / "zh_tw_bench" / "question.jsonl")
    pairs = [(q["index"], ru.get(f"task_{q['index']}_0", ""), q["turns"][0]) for q in zh if q]
    return aligned_set("vicuna", "ru-zh-Hant", "Vicuna questions", pairs)


def prompts_zh() -> PairSet:
    folder = DATA / "prompts_zh_hans_hant"
    hans = [r["prompt"] for r in orjson.loads((folder / "prompts-zh.json").read_bytes())]
    hant = [r["prompt"] for r in orjson.loads((folder / "prompts-zh-TW.json").read_bytes())]
    pairs = [(k, a, b) for k, (a, b) in enumerate(zip(hans, hant, strict=True))]
    return aligned_set("prompts-zh", "zh-Hans-zh-Hant", "prompts_zh_hans_hant", pairs)


def instructionwild() -> PairSet:
    """The two seed files have the same number of lines, but a few stretches are shifted
    against each other: partners come from aligning them (:func:`align_monotone`)."""
    folder = DATA / "instructionwild_zh_en"
    zh = [r["instruction"].strip() for r in jsonl(folder / "seed_prompts_ch.jsonl") if r]
    en = [r["instruction"].strip() for r in jsonl(folder / "seed_prompts_en.jsonl") if r]
    left = prompts_file("xl-instructionwild-left.jsonl", zh)
    right = prompts_file("xl-instructionwild-right.jsonl", en)
    return PairSet(
        "instructionwild",
        "zh-Hans-en",
        "InstructionWild seed prompts",
        [left],
        [right],
        ranges=[(left, right, 0, len(en))],
    )


ALPACA_EN = DATA / "alpaca_52k_en" / "alpaca_data_52k_en.json"
ALPACA_ZH = DATA / "alpaca_zh_translated_hikariming" / "translated_chunks"
CHUNK_RE = re.compile(r"alpaca_data-(\d+)-(\d+)-zh")


def alpaca() -> PairSet:
    """Partners are filled in by :func:`align` once the vectors exist."""
    chunks = sorted(ALPACA_ZH.glob("alpaca_data-*.json"), key=lambda p: chunk_range(p)[0])
    return PairSet(
        "alpaca",
        "zh-Hans-en",
        "Alpaca, crowd zh translation",
        chunks,
        [ALPACA_EN],
        ranges=[(c, ALPACA_EN, *chunk_range(c)) for c in chunks],
    )


def chunk_range(path: Path) -> tuple[int, int]:
    match = CHUNK_RE.match(path.name)
    assert match, path
    return int(match.group(1)), int(match.group(2))


# The same prompt in two sets, read and checked by hand: (set, key, set, key). Their
# links (either side of one against either side of the other) are translations too:
# never false merges, though no set counts them among its positives.
SAME_PROMPT = [
    ("vicuna", 66, "mtbench", 130),  # the common elements of two arrays
    ("vicuna", 76, "mtbench", 81),  # a travel blog post on Hawaii
    # MT-Bench's role-play questions rewrite awesome-chatgpt-prompts, which
    # prompts_zh_hans_hant translates: the doctor, relationship coach, English
    # translator and math teacher
    ("mtbench", 93, "prompts-zh", 47),
    ("mtbench", 94, "prompts-zh", 23),
    ("mtbench", 95, "prompts-zh", 2),
    ("mtbench", 97, "prompts-zh", 29),
]


def cross_set_links(sets: list[PairSet]) -> list[tuple[Path, int, Path, int]]:
    by_name = {s.name: s for s in sets}
    out = []
    for name_a, key_a, name_b, key_b in SAME_PROMPT:
        a, b = by_name[name_a], by_name[name_b]
        i, j = a.keys.index(key_a), b.keys.index(key_b)
        for fa in (*a.left, *a.right):
            for fb in (*b.left, *b.right):
                out.append((fa, i, fb, j))
    return out


def pair_sets() -> list[PairSet]:
    return [mtbench(), rulm_seeds(), vicuna(), alpaca(), prompts_zh(), instructionwild()]


HUMAN_RE = re.compile(r"\n\nHuman: (.*?)\n\nAssistant:", re.S)


def distractors() -> list[Path]:
    """Unlabelled records of every language: written as prompt files, or whole files."""
    import gzip

    wild = DATA / "instructionwild_zh_en"
    en = [r["instruction"] for f in ("user_2.jsonl", "user_3.jsonl") for r in jsonl(wild / f) if r]
    en += [prompt(r) for r in orjson.loads((DATA / "lima_en" / "lima.json").read_bytes())]
    hh = gzip.decompress((DATA / "hh_rlhf_harmless" / "harmless-base_test.jsonl.gz").read_bytes())
    for line in hh.splitlines():
        match = HUMAN_RE.match(orjson.loads(line)["chosen"])
        if match:
            en.append(match.group(1))
    zh = [
        r["user_prompt"]
        for f in sorted((DATA / "moss_sft_zh_en" / "user_prompts").glob("*.jsonl"))
        for r in jsonl(f)
        if r
    ]
    zh += [prompt(r) for r in orjson.loads((DATA / "oasst_zh" / "oaast_sft_zh.json").read_bytes())]
    zh += [
        r["conversations"][0]["value"]
        for r in jsonl(DATA / "medicalgpt_zh" / "medical_sft_1K_format.jsonl")
        if r
    ]
    hant = [
        qa["question"]
        for f in ("DRCD_dev.json", "DRCD_test.json")
        for article in orjson.loads((DATA / "drcd_zh_tw" / f).read_bytes())["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]
    rulm = DATA / "rulm_ru"
    ru = [prompt(r) for r in jsonl(rulm / "ru_turbo_alpaca_gen100.jsonl") if r]
    ru += [prompt(r) for r in jsonl(rulm / "user_saiga13b_answers.jsonl") if r]
    ru += [
        prompt(r)
        for r in jsonl(rulm / "tasks__saiga_mistral_7b_answers.jsonl")
        if r and r["source"] == "arena"  # its alpaca and vicuna tasks translate labelled texts
    ]
    supplementary = sorted(
        (DATA / "alpaca_zh_translated_hikariming" / "supplementary_zh").glob("*.json")
    )
    return [
        prompts_file("xl-distractors-en.jsonl", en),
        prompts_file("xl-distractors-zh.jsonl", zh),
        prompts_file("xl-distractors-zh-hant.jsonl", hant),
        prompts_file("xl-distractors-ru.jsonl", ru),
        *supplementary,
        DATA / "alpaca_zh_translated_hikariming" / "COIG-CQIA-sample.json",
    ]


# Role-play prompts ("I want you to act as ...") in the distractors are the English
# originals (awesome-chatgpt-prompts) that prompts_zh_hans_hant translates, unlabelled:
# such distractor records are left out of the candidates (found by this pattern, not by
# the embedder).
ROLE_PROMPT = re.compile(r"\bact (as|like)\b", re.I)


def left_out(files: list[Path], rows: dict[tuple[str, int], int]) -> set[int]:
    """Rows of distractor prompt files that match :data:`ROLE_PROMPT`."""
    out = set()
    for path in files:
        if path.parent != WORK / "inputs":
            continue
        for k, line in enumerate(path.read_bytes().splitlines()):
            row = rows.get((str(path), k))  # None: rejected by ingest
            if row is not None and ROLE_PROMPT.search(orjson.loads(line)["prompt"]):
                out.add(row)
    return out


def inputs_digest(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path).encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def build(sets: list[PairSet]) -> Store:
    """The store of every set and distractor, ingested and embedded once (cached)."""
    inputs: list[Path] = []
    for s in sets:
        for path in (*s.left, *s.right):
            if path not in inputs:
                inputs.append(path)
    inputs += distractors()
    return store_for(f"crosslingual-{inputs_digest(inputs)}", inputs)


# ---------------------------------------------------------------------------------------
# Labels


def rows_by_source(store: Store) -> dict[tuple[str, int], int]:
    """(input file, record index) -> base row, exact duplicates included (their base row)."""
    base = store.read(columns=["id", "source"])
    ids = base.column("id").to_pylist()
    files = pc.struct_field(base.column("source"), "file").to_pylist()
    index = pc.struct_field(base.column("source"), "index").to_pylist()
    out = {(f, i): k for k, (f, i) in enumerate(zip(files, index, strict=True))}
    position = {x: k for k, x in enumerate(ids)}
    dups = store.duplicates(columns=["id", "source"])
    for x, f, i in zip(
        dups.column("id").to_pylist(),
        pc.struct_field(dups.column("source"), "file").to_pylist(),
        pc.struct_field(dups.column("source"), "index").to_pylist(),
        strict=True,
    ):
        out[(f, i)] = position[x]
    return out


def align_monotone(sims: np.ndarray) -> np.ndarray:
    """Align a translated chunk to its original, both in file order.

    ``sims[i, j]``: similarity of translated record i to original record j. Returns,
    for every i, the original j it is matched with (or -1): the order-preserving
    matching (i < i' implies j < j') with the largest total similarity, so records
    may be left out on either side. A label comes from the order: a poor translation
    between two good ones still gets the original between theirs. Ties go to the
    earliest original.
    """
    n, m = sims.shape
    weight = np.maximum(np.asarray(sims, dtype=np.float64), 0.0)
    dp = np.zeros((n + 1, m + 1))  # dp[i, j]: best total of the first i and the first j
    for i in range(n):
        step = np.maximum(dp[i, 1:], dp[i, :-1] + weight[i])
        dp[i + 1, 1:] = np.maximum.accumulate(step)
    out = np.full(n, -1, dtype=np.int64)
    i, j = n, m
    while i > 0 and j > 0:
        if dp[i, j] == dp[i, j - 1]:
            j -= 1
        elif dp[i, j] == dp[i - 1, j]:
            i -= 1
        else:
            out[i - 1] = j - 1
            i, j = i - 1, j - 1
    return out


@dataclass
class Alignment:
    records: int  # translated records with a row and a matched original
    unmatched: int  # translated records the alignment left without an original
    nearest: int  # matched records whose original is also their nearest in the range


def align(
    s: PairSet, rows: dict[tuple[str, int], int], vectors: np.ndarray
) -> dict[str, Alignment]:
    """Fill a set's partners from its ``ranges``: each left file aligned to its range."""
    out = {}
    for left, right, start, end in s.ranges:
        n = 1 + max(i for f, i in rows if f == str(left))
        left_rows = np.array([rows.get((str(left), i), -1) for i in range(n)])
        right_rows = np.array([rows.get((str(right), j), -1) for j in range(start, end)])
        sims = vectors[np.maximum(left_rows, 0)] @ vectors[np.maximum(right_rows, 0)].T
        sims[left_rows < 0] = 0.0
        sims[:, right_rows < 0] = 0.0
        partner = align_monotone(sims)
        valid = (left_rows >= 0) & (partner >= 0)
        valid[valid] &= right_rows[partner[valid]] >= 0
        for i in np.flatnonzero(valid):
            s.partners.append((left, int(i), right, start + int(partner[i])))
        nearest = np.argmax(sims, axis=1)
        out[left.name] = Alignment(
            int(valid.sum()),
            int(((left_rows >= 0) & ~valid).sum()),
            int((nearest == partner)[valid].sum()),
        )
    return out


# ---------------------------------------------------------------------------------------
# Pairs and curves


def crossing(pairs: Pairs, langs: np.ndarray) -> np.ndarray:
    """Which pairs dedup judges by the cross-lingual threshold (its own rule)."""
    return pair_thresholds(pairs, langs, 1.0, 0.5) < 0.75


def cross_pairs(vectors: np.ndarray, langs: np.ndarray, floor: float = FLOOR) -> Pairs:
    """Every pair (i < j) at or above ``floor`` that crosses languages or scripts.

    Only rows of two different known languages are compared (no same-language
    product is needed); what crosses is then decided by :func:`crossing`.
    """
    products = Products(use_gpu=False)
    codes = sorted(set(langs.tolist()) - set(UNKNOWN_LANGS))
    groups = {c: np.flatnonzero(langs == c) for c in codes}
    found_i, found_j, found_s = [], [], []
    for a_index, a in enumerate(codes):
        for b in codes[a_index + 1 :]:
            ra, rb = groups[a], groups[b]
            if len(ra) > len(rb):
                ra, rb = rb, ra
            items = products.tensor(vectors[rb])
            for lo in range(0, len(ra), 1024):
                q = ra[lo : lo + 1024]
                rows, cols, sims = products.above(products.tensor(vectors[q]), items, floor)
                found_i.append(q[rows])
                found_j.append(rb[cols])
                found_s.append(sims)
    i, j = np.concatenate(found_i), np.concatenate(found_j)
    s = np.concatenate(found_s).astype(np.float32)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    order = np.lexsort((hi, lo))
    pairs = Pairs(lo[order], hi[order], s[order])
    keep = crossing(pairs, langs)
    return Pairs(pairs.i[keep], pairs.j[keep], pairs.sim[keep])


@dataclass
class Curve:
    """Counts along the threshold grid for one set (or a union of sets)."""

    name: str
    partners: int  # partner pairs that cross languages (the positives)
    found: np.ndarray  # partner pairs at or above each threshold
    false: np.ndarray  # false merges at or above each threshold
    tolerated: np.ndarray  # links that only repeat a same-language near-duplicate
    excluded: int = 0  # partner pairs detected as one language
    missing: int = 0  # partner records without a row (rejected by ingest)

    @property
    def precision(self) -> np.ndarray:
        return precision_of(self.found, self.false)

    @property
    def recall(self) -> np.ndarray:
        return self.found / max(self.partners, 1)

    @property
    def f1(self) -> np.ndarray:
        return f1_of(self.precision, self.recall)


def at_or_above(sims: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """How many of ``sims`` are >= each grid threshold (float32, as dedup compares)."""
    sims = np.sort(np.asarray(sims, dtype=np.float32))
    return len(sims) - np.searchsorted(sims, grid.astype(np.float32), side="left")


@dataclass
class Measured:
    sets: list[PairSet]
    curves: dict[str, Curve]  # per set, per language pair ("ru-en") and "pooled"
    rows: int
    langs: dict[str, int]  # rows per detected language
    candidates: int  # crossing pairs >= FLOOR touching a labelled record
    alignment: dict[str, Alignment]  # per aligned file
    nearest: dict[str, float]  # share of partner pairs where the partner is the nearest row
    seconds: float
    false_pairs: Pairs  # the false merges at or above the grid's lowest threshold


def measure(grid: np.ndarray = GRID) -> Measured:
    start = time.perf_counter()
    sets = pair_sets()
    store = build(sets)
    base = store.read(columns=["id", "lang"])
    vectors, _ = load_vectors(store, EMBEDDINGS)
    langs = base.column("lang").to_numpy(zero_copy_only=False)
    n = len(vectors)
    rows = rows_by_source(store)
    alignment = {}
    for s in sets:
        if s.ranges:
            alignment.update(align(s, rows, vectors))
    extra = [(rows[(str(lf), li)], rows[(str(rf), ri)]) for lf, li, rf, ri in cross_set_links(sets)]

    # Partner pairs of each set as rows (left record, right record): the crossing ones.
    oriented: dict[str, np.ndarray] = {}
    set_pairs: dict[str, np.ndarray] = {}  # the same, as (i < j)
    excluded: dict[str, int] = {}
    missing: dict[str, int] = {}
    for s in sets:
        found = [
            (rows.get((str(lf), li)), rows.get((str(rf), ri))) for lf, li, rf, ri in s.partners
        ]
        missing[s.name] = sum(a is None or b is None for a, b in found)
        pairs = np.array(
            list(dict.fromkeys((a, b) for a, b in found if a is not None and b is not None)),
            dtype=np.int64,
        ).reshape(-1, 2)
        ordered = np.sort(pairs, axis=1)
        crosses = crossing(Pairs(ordered[:, 0], ordered[:, 1], np.ones(len(pairs))), langs)
        crosses &= ordered[:, 0] != ordered[:, 1]
        excluded[s.name] = int((~crosses).sum())
        oriented[s.name] = pairs[crosses]
        set_pairs[s.name] = ordered[crosses]
    partner_of: dict[int, list[int]] = {}
    for pairs in set_pairs.values():
        for a, b in pairs.tolist():
            partner_of.setdefault(a, []).append(b)
            partner_of.setdefault(b, []).append(a)
    for a, b in extra:
        partner_of.setdefault(a, []).append(b)
        partner_of.setdefault(b, []).append(a)
    extra_keys = [min(a, b) * n + max(a, b) for a, b in extra]
    partner_keys = np.unique(
        np.concatenate([p[:, 0] * n + p[:, 1] for p in set_pairs.values()] + [extra_keys])
    )

    candidates = cross_pairs(vectors, langs)
    labelled = np.zeros(n, dtype=bool)
    labelled[list(partner_of)] = True
    dropped = np.zeros(n, dtype=bool)
    dropped[list(left_out(distractors(), rows))] = True
    dropped &= ~labelled
    touching = (labelled[candidates.i] | labelled[candidates.j]) & ~(
        dropped[candidates.i] | dropped[candidates.j]
    )
    cand = Pairs(candidates.i[touching], candidates.j[touching], candidates.sim[touching])
    is_partner = np.isin(cand.i * n + cand.j, partner_keys)

    # A link (a, b) that is no partner pair only repeats a same-language near-duplicate
    # when b is within DEFAULT_THRESHOLD of a partner of a, in the same language (or a
    # of a partner of b): dedup links those two anyway.
    low = float(grid.min())
    todo = np.flatnonzero(~is_partner & (cand.sim >= low))
    tolerated = np.zeros(len(cand), dtype=bool)
    for x, y in ((cand.i, cand.j), (cand.j, cand.i)):
        which, partner = [], []
        for k in todo[np.isin(x[todo], list(partner_of))]:
            for p in partner_of[int(x[k])]:
                which.append(k)
                partner.append(p)
        if not which:
            continue
        which, partner = np.array(which), np.array(partner)
        other = y[which]
        same = ~crossing(Pairs(partner, other, np.ones(len(which))), langs)
        near = np.einsum("ij,ij->i", vectors[partner], vectors[other]) >= DEFAULT_THRESHOLD
        tolerated[which[same & near]] = True
    false = ~is_partner & ~tolerated

    def curve(name: str, members: list[PairSet]) -> Curve:
        pairs = np.unique(np.concatenate([set_pairs[s.name] for s in members]), axis=0)
        mine = np.zeros(n, dtype=bool)
        mine[pairs.ravel()] = True
        touch = mine[cand.i] | mine[cand.j]
        sims = np.einsum("ij,ij->i", vectors[pairs[:, 0]], vectors[pairs[:, 1]])
        return Curve(
            name,
            len(pairs),
            at_or_above(sims, grid),
            at_or_above(cand.sim[touch & false], grid),
            at_or_above(cand.sim[touch & tolerated], grid),
            sum(excluded[s.name] for s in members),
            sum(missing[s.name] for s in members),
        )

    shown = false & (cand.sim >= low)
    curves = {s.name: curve(s.name, [s]) for s in sets}
    for languages in dict.fromkeys(s.languages for s in sets):
        curves[languages] = curve(languages, [s for s in sets if s.languages == languages])
    curves["pooled"] = curve("pooled", sets)

    nearest = {}
    for s in sets:
        left, right = oriented[s.name][:, 0], oriented[s.name][:, 1]
        others = np.unique(right)
        best = others[np.argmax(vectors[left] @ vectors[others].T, axis=1)]
        nearest[s.name] = float(np.mean(best == right))
    counts = dict(zip(*np.unique(langs.astype(str), return_counts=True), strict=True))
    return Measured(
        sets,
        curves,
        n,
        {k: int(v) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])},
        len(cand),
        alignment,
        nearest,
        time.perf_counter() - start,
        Pairs(cand.i[shown], cand.j[shown], cand.sim[shown]),
    )


# ---------------------------------------------------------------------------------------
# The choice and the report


@dataclass
class Choice:
    threshold: float  # the default: one threshold for every language pair
    binding: list[str]  # the sets that fail the precision floor just below it
    per_pair: dict[str, float]  # what the rule gives each measured language pair alone
    max_pooled_f1: float  # for comparison: the threshold of the highest pooled F1


def choose(m: Measured, grid: np.ndarray = GRID) -> Choice:
    from curate.dedup.calibration import MIN_PRECISION, choose_threshold

    precision = {s.name: m.curves[s.name].precision for s in m.sets}
    overall = choose_threshold(grid, precision)
    k = int(np.flatnonzero(np.isclose(grid, overall))[0])
    binding = [n for n, p in precision.items() if k > 0 and p[k - 1] < MIN_PRECISION]
    per_pair = {
        languages: choose_threshold(
            grid, {s.name: precision[s.name] for s in m.sets if s.languages == languages}
        )
        for languages in dict.fromkeys(s.languages for s in m.sets)
    }
    best_f1 = float(grid[int(np.argmax(m.curves["pooled"].f1))])
    return Choice(overall, binding, per_pair, best_f1)


def at(curve: Curve, grid: np.ndarray, t: float) -> tuple[float, float, float]:
    k = int(np.argmin(np.abs(grid - t)))
    assert abs(grid[k] - t) < 1e-9, f"{t} is not on the grid"
    return float(curve.precision[k]), float(curve.recall[k]), float(curve.f1[k])


def curve_table(curve: Curve, grid: np.ndarray, marks: dict[float, str]) -> list[str]:
    lines = [
        "| threshold | partner pairs found | false merges | precision | recall | F1 | "
        "links that repeat a same-language duplicate |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for k, t in enumerate(grid):
        mark = marks.get(round(float(t), 3), "")
        bold = "**" if mark else ""
        lines.append(
            f"| {bold}{t:.3f}{bold}{mark} | {curve.found[k]:,} | {curve.false[k]:,} | "
            f"{curve.precision[k]:.3f} | {curve.recall[k]:.3f} | {curve.f1[k]:.3f} | "
            f"{curve.tolerated[k]:,} |"
        )
    return lines


COMMAND = "python benchmarks/bench_crosslingual.py --out /tmp/bench_crosslingual.md"


def report(m: Measured, choice: Choice, old: float, grid: np.ndarray = GRID) -> str:
    from curate.dedup.calibration import MIN_PRECISION

    new = choice.threshold
    pooled = m.curves["pooled"]
    mt = m.curves["mtbench"]
    k07 = int(np.argmin(np.abs(grid - 0.7)))
    out = [
        "## Cross-lingual threshold (issue 12)",
        "",
        f"Command: `{COMMAND}` (`--check` exits 1 unless the shipped default is the one the "
        "curves choose; the first run ingests and embeds the store, about 10 minutes on 2 "
        "cores; it is cached, so a rerun takes about a minute). Default "
        "embedder (use-multilingual), `conversation` text, and dedup's own rule for which "
        "pairs cross languages or scripts (`pair_thresholds`). One store of "
        f"{m.rows:,} conversations: every translation-pair set in ../shared/data and "
        "unlabelled distractors of each language ("
        + ", ".join(f"{k} {v:,}" for k, v in m.langs.items())
        + "; the distractors are the rest of Alpaca-52K, Alpaca's hand-made Chinese "
        "supplements and COIG-CQIA, and prompts from InstructionWild user_2/3, LIMA, "
        "HH-RLHF, MOSS, OpenAssistant zh, MedicalGPT, DRCD and rulm; sources that hold "
        "unlabelled translations of a labelled set are left out, and so are distractor "
        'prompts that ask to "act as" someone, the English originals of '
        "prompts_zh_hans_hant).",
        "",
        "Every cross-language pair that touches a labelled record is a candidate "
        f"({m.candidates:,} at cosine >= {FLOOR}). At a threshold, a partner pair (the two "
        "sides of one translation) at or above it is found, and any other candidate at or "
        "above it is a **false merge**, unless it only repeats a same-language near-duplicate "
        f"(the other record is within {DEFAULT_THRESHOLD} of the partner in the partner's "
        "language, which dedup links anyway; counted apart). So precision says how often a "
        "cross-language link agrees with what dedup decides within one language. Recall "
        "counts the partner pairs that cross languages (partners detected as one language, "
        "e.g. untranslated Alpaca records, are `--threshold`'s business). A few prompts "
        "shared by two sets (Vicuna and MT-Bench; MT-Bench's role-play questions and "
        "prompts_zh_hans_hant) were checked by hand and are never false merges.",
        "",
        "| set | languages | partner pairs | same language (left out) | partner is the "
        f"nearest other-side record | at {old} (old): precision, recall | at {new} (one "
        "threshold): precision, recall | **shipped default** (per pair): threshold, "
        "precision, recall |",
        "|---|---|---:|---:|---:|---|---|---|",
    ]
    shipped = CrossLingual.parse(DEFAULT_CROSS_LINGUAL_THRESHOLD)
    sums = np.zeros(3)  # partners, found, false at each set's shipped threshold
    for s in m.sets:
        c = m.curves[s.name]
        po, ro, _ = at(c, grid, old)
        pn, rn, _ = at(c, grid, new)
        t = shipped.threshold(*split_pair(s.languages))
        ps, rs, _ = at(c, grid, t)
        k = int(np.argmin(np.abs(grid - t)))
        sums += (c.partners, c.found[k], c.false[k])
        out.append(
            f"| {s.name}: {s.label} | {s.languages} | {c.partners:,} | {c.excluded:,} | "
            f"{m.nearest[s.name]:.3f} | {po:.3f}, {ro:.3f} | {pn:.3f}, {rn:.3f} | "
            f"**{t}**: {ps:.3f}, {rs:.3f} |"
        )
    po, ro, fo = at(pooled, grid, old)
    pn, rn, fn = at(pooled, grid, new)
    ps, rs = sums[1] / max(sums[1] + sums[2], 1), sums[1] / max(sums[0], 1)
    out.append(
        f"| **pooled** | | {pooled.partners:,} | {pooled.excluded:,} | | {po:.3f}, {ro:.3f} "
        f"(F1 {fo:.3f}) | {pn:.3f}, {rn:.3f} (F1 {fn:.3f}) | {ps:.3f}, {rs:.3f} (F1 "
        f"{2 * ps * rs / max(ps + rs, 1e-9):.3f}; sums over the sets) |"
    )
    aligned = [a for a in m.alignment.values()]
    out += [
        "",
        "Partners of the Alpaca chunks and of the InstructionWild seed files come from an "
        "order-preserving alignment (the files keep their source's order but leave records "
        "out, and InstructionWild's are shifted by a line in places); "
        f"{sum(a.nearest for a in aligned):,} of {sum(a.records for a in aligned):,} aligned "
        "records have their partner as their nearest record of the other side, "
        f"{sum(a.unmatched for a in aligned)} were left without one.",
        "",
        f"**Rule**: the lowest threshold of the grid ({grid[0]:.3f}..{grid[-1]:.3f}, step "
        f"{grid[1] - grid[0]:.3f}) at which every labelled set keeps precision >= "
        f"{MIN_PRECISION}, there and at every higher threshold "
        "(`curate.dedup.calibration.choose_threshold`). A false merge marks a unique "
        "conversation for removal, a missed translation only keeps a cross-language copy, "
        "so precision comes first; recall only grows as the threshold falls, so the rule "
        "takes all the recall the precision floor allows on the worst set.",
        "",
        f"**One threshold for all pairs would be {new}** (was {old}); the set that rules out "
        f"the next lower threshold: {', '.join(choice.binding) or 'none'}. Below it false "
        "merges grow much faster than partners: pooled, "
        + "; ".join(
            f"at {t} {int(pooled.found[k]):,} partner pairs found against "
            f"{int(pooled.false[k]):,} false merges"
            for t in (0.7, 0.75, old, new)
            for k in [int(np.argmin(np.abs(grid - t)))]
        )
        + f". Read by hand, most false merges from {old} to {new} are tasks built on one template "
        '(code, equations, "name the highest ...") whose same-language versions dedup '
        f"keeps apart at {DEFAULT_THRESHOLD}. Max pooled F1 would pick "
        f"{choice.max_pooled_f1} (pooled precision "
        f"{at(pooled, grid, choice.max_pooled_f1)[0]:.3f}). The issue's 0.7 finds "
        f"{at(mt, grid, 0.7)[1]:.0%} of the MT-Bench ru/en pairs, with "
        f"{int(mt.false[k07]):,} false merges for {int(mt.found[k07]):,} found (precision "
        f"{at(mt, grid, 0.7)[0]:.3f}): the prompts it was tried on had no distractors. The "
        "same rule per language pair gives "
        + ", ".join(f"{k} {v}" for k, v in choice.per_pair.items())
        + f": recall rises where a pair allows a lower bar, at no cost in precision. So the "
        f"**default is per pair, with {new} for any other pair**: "
        f"`--cross-lingual-threshold {DEFAULT_CROSS_LINGUAL_THRESHOLD}` (ru/zh measured on "
        "ru/zh-Hant, en/zh on zh-Hans/en; `--check` fails when the shipped default and "
        "these curves disagree).",
        "",
    ]
    pairs = list(dict.fromkeys(s.languages for s in m.sets))
    names = [s.name for s in m.sets] + [
        p for p in pairs if sum(s.languages == p for s in m.sets) > 1
    ]
    for name in [*names, "pooled"]:
        c = m.curves[name]
        label = next(
            (f"{s.name} ({s.languages}, {s.label})" for s in m.sets if s.name == name),
            f"{name} (all its sets)" if name != "pooled" else "pooled (all sets)",
        )
        marks = {old: " (old)", new: " (new)"} if old != new else {new: " (old, new)"}
        out += [
            f"**{label}**: {c.partners:,} partner pairs",
            "",
            *curve_table(c, grid, marks),
            "",
        ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="fail unless the default is the choice"
    )
    parser.add_argument(
        "--old", type=float, default=0.8, help="the previous default, for the tables"
    )
    parser.add_argument("--out", type=Path, help="also write the Markdown section here")
    args = parser.parse_args(argv)
    WORK.mkdir(parents=True, exist_ok=True)
    m = measure()
    choice = choose(m)
    text = report(m, choice, args.old)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    print(f"chosen --cross-lingual-threshold: {choice.threshold}")
    print("per language pair: " + ", ".join(f"{k}={v}" for k, v in choice.per_pair.items()))
    print(f"(max pooled F1 would pick {choice.max_pooled_f1})")
    print(f"({m.seconds:.0f} s)", file=sys.stderr)
    if args.check:
        wrong = shipped_mismatches(choice)
        if wrong:
            print(
                f"shipped DEFAULT_CROSS_LINGUAL_THRESHOLD = {DEFAULT_CROSS_LINGUAL_THRESHOLD!r}, "
                f"but the curves choose: {'; '.join(wrong)}",
                file=sys.stderr,
            )
            return 1
    return 0


def split_pair(languages: str) -> tuple[str, str]:
    """``"zh-Hans-zh-Hant"`` -> ``("zh-Hans", "zh-Hant")``: codes with a script subtag."""
    tokens, codes = languages.split("-"), []
    for token in tokens:
        if codes and len(token) == 4 and token[0].isupper():
            codes[-1] += "-" + token
        else:
            codes.append(token)
    if len(codes) != 2:
        raise ValueError(f"not a language pair: {languages!r}")
    return codes[0], codes[1]


def shipped_mismatches(choice: Choice) -> list[str]:
    """Where the shipped default differs from what the curves choose (empty: it agrees):
    each measured pair's threshold, and the fallback ``*`` (the choice over all sets)."""
    from curate.dedup import DEFAULT_CROSS_LINGUAL_THRESHOLD
    from curate.dedup.languages import CrossLingual

    shipped = CrossLingual.parse(DEFAULT_CROSS_LINGUAL_THRESHOLD)
    wrong = []
    if shipped.default != choice.threshold:
        wrong.append(f"*={choice.threshold} (shipped {shipped.default})")
    for languages, threshold in choice.per_pair.items():
        got = shipped.threshold(*split_pair(languages))
        if got != threshold:
            wrong.append(f"{languages}={threshold} (shipped {got})")
    return wrong


if __name__ == "__main__":
    sys.exit(main())
