"""``curate decontaminate``: mark the pool rows that hold a benchmark item, and say how.

1. Read every ``--against`` file through ``curate ingest`` (:mod:`.benchmarks`): items,
   and their segments (each prompt turn and each reference answer).
2. **n-grams** (:mod:`.tokens`, :mod:`.ngrams`): character n-grams for CJK text, Han
   folded to one script so that zh-Hant and zh-Hans copies match; word n-grams for
   every other script. A row matches a segment when it holds at least ``min_overlap``
   of the segment's n-grams: verbatim copies, script conversions, and items quoted
   inside a longer prompt.
3. **embeddings** (:mod:`.vectors`): the pool's cached vectors (``curate embed``)
   against the benchmark items embedded the same way (same embedder, text mode and
   length; cached in the benchmark's store), with a threshold within a language and a
   cross-lingual one per language pair, as in dedup: translations and paraphrases.
4. Write the sidecar ``decontaminate``, one row per base row: ``contaminated``, and for
   contaminated rows the benchmark file, the item id, the method, the part of the item
   (``prompt``, ``reference``; ``item`` for embeddings), the overlap (share of n-grams,
   or cosine similarity) and how many items the row matches. An n-gram match is
   reported before an embedding match (it is direct evidence); then the highest overlap.

Each row is compared with the benchmark only, never with other rows, so the stage runs
shard by shard in chunks (bounded memory, a killed run loses one chunk at most) against
an index built once: no pool x benchmark scan. ``select`` leaves contaminated rows out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import names
from curate.decontaminate import (
    CJK_MIN,
    CJK_N,
    CROSS_LINGUAL_THRESHOLD,
    MARGIN,
    MARGIN_FLOOR,
    METHODS,
    MIN_OVERLAP,
    MIN_SHARED,
    THRESHOLD,
    WORD_MIN,
    WORD_N,
)
from curate.embed.text import MODES
from curate.errors import CurateError
from curate.options import option
from curate.runner import Stage, StageResult, run_stage
from curate.store import Store

PARTS = np.array(["prompt", "reference", "item"], dtype=object)
SCHEMA = pa.schema(
    [
        ("contaminated", pa.bool_()),
        ("contam_file", pa.string()),
        ("contam_item", pa.string()),
        ("contam_method", pa.string()),
        ("contam_part", pa.string()),
        ("contam_overlap", pa.float32()),
        ("contam_items", pa.int32()),
    ]
)
METHOD_NAMES = np.array(["ngram-cjk", "ngram-word", "embedding", "embedding-margin"], dtype=object)


@dataclass(frozen=True)
class DecontaminateOptions:
    against: tuple[str, ...] = option(
        (),
        "A benchmark file (any layout `curate ingest` reads), directory or glob; repeatable.",
        cli=False,  # the command declares it (a repeatable option)
    )
    methods: str = option(
        ",".join(METHODS),
        "Which matchers run: ngram, embedding, or both (comma-separated).",
    )
    min_overlap: float = option(
        MIN_OVERLAP,
        "Share of a benchmark segment's n-grams a row must hold to count as contaminated.",
        type=click.FloatRange(0.0, 1.0, min_open=True),
    )
    min_shared: int = option(
        MIN_SHARED,
        "A match also shares at least this many n-grams with the segment (all of them, "
        "for a segment that has fewer).",
        type=click.IntRange(min=1),
    )
    word_n: int = option(WORD_N, "Words per n-gram (non-CJK text).", type=click.IntRange(min=1))
    word_min: int = option(
        WORD_MIN,
        "Shorter segments use n-grams of this many words; segments shorter still have none.",
        type=click.IntRange(min=1),
    )
    cjk_n: int = option(CJK_N, "Characters per n-gram of CJK text.", type=click.IntRange(min=1))
    cjk_min: int = option(
        CJK_MIN,
        "Shorter CJK segments use n-grams of this many characters; shorter still have none.",
        type=click.IntRange(min=1),
    )
    threshold: float = option(
        THRESHOLD,
        "Embeddings: cosine similarity to a benchmark item, within a language, that contaminates.",
        type=click.FloatRange(0.0, 1.0, min_open=True),
    )
    cross_lingual_threshold: str = option(
        CROSS_LINGUAL_THRESHOLD,
        "Embeddings: the threshold across languages or scripts, one number or per language "
        "pair (as in `curate dedup`).",
    )
    margin: float = option(
        MARGIN,
        "Embeddings: a pair whose ratio margin (cosine over both sides' mean similarity to "
        "their 4 nearest neighbours) reaches this is a match whatever its cosine: most "
        "translations; 0: off.",
        type=click.FloatRange(min=0.0),
    )
    embedder: str | None = option(
        None, "Use the embeddings of this embedder [default: use-multilingual]."
    )
    text: str = option(
        "user",
        "Use the embeddings of this text mode (user: what is asked, whatever the answer).",
        type=click.Choice(MODES),
    )
    embeddings: str | None = option(
        None, "An embedding sidecar by name (overrides --embedder/--text)."
    )
    index: str = option(
        "auto",
        "Embedding search: exact (every pair), partition (k-means cells of the benchmark, "
        "recall measured), auto (exact up to 4,096 items).",
        type=click.Choice(["auto", "exact", "partition"]),
    )
    nprobe: int = option(8, "Cells each pool vector is compared with.", type=click.IntRange(min=1))
    chunk_rows: int = option(
        8192, "Rows per checkpoint: a killed run resumes from the last chunk.",
        type=click.IntRange(min=1),
    )  # fmt: skip
    seed: int = option(0, "Seed of the k-means cells.", type=int)

    def method_set(self) -> tuple[str, ...]:
        chosen = tuple(m.strip() for m in self.methods.split(",") if m.strip())
        bad = [m for m in chosen if m not in METHODS]
        if bad or not chosen:
            raise CurateError(
                f"--methods {self.methods!r}: choose from {', '.join(METHODS)} (comma-separated)"
            )
        return tuple(m for m in METHODS if m in chosen)


@dataclass
class Matcher:
    """The benchmark, indexed: what each chunk of the pool is matched against."""

    benchmarks: Any  # curate.decontaminate.benchmarks.Benchmarks
    ngrams: Any | None  # NgramIndex
    vectors: Any | None  # VectorIndex
    min_overlap: float
    margin: Any | None = None  # vectors.Margin, its item side learnt
    margin_threshold: float = 0.0

    def match(self, shard: pa.Table) -> dict[str, pa.Array]:
        """The sidecar's columns for the rows of ``shard``."""
        from curate.decontaminate.tokens import message_texts, tokenize
        from curate.embed.stage import vectors_of

        n = shard.num_rows
        found = []  # (rows, items, method, part, overlap)
        bench = self.benchmarks
        if self.ngrams is not None:
            texts, rows, _, _ = message_texts(shard.column("messages"))
            hits = self.ngrams.overlaps(tokenize(texts, rows, n), self.min_overlap)
            stream = self.ngrams.segment_stream[hits.segments]
            items = bench.segment_item[hits.segments]
            # an item's evidence beyond its best segment: every window it shares with the row
            # (items that share a passage tie on it; the row's own question decides)
            pair = hits.rows * max(bench.n_items, 1) + items
            codes, inverse = np.unique(pair, return_inverse=True)
            shared = np.bincount(inverse, weights=hits.shared)[inverse]
            found.append(
                (hits.rows, items, np.where(stream == "cjk", 0, 1),
                 bench.segment_part[hits.segments].astype(np.int64), hits.overlap, shared)
            )  # fmt: skip
        if self.vectors is not None:
            langs = shard.column("lang").to_numpy(zero_copy_only=False)
            q, item, sim, cosine = self.vectors.search(vectors_of(shard.column("embedding")), langs)
            method = np.where(cosine, 2, 3)
            keep = cosine
            if self.margin is not None:
                keep = cosine | (self.margin.margins(q, item, sim, n) >= self.margin_threshold)
            k = int(keep.sum())
            found.append((q[keep], item[keep], method[keep], np.full(k, 2), sim[keep], np.zeros(k)))
        return self._columns(n, found)

    def _columns(self, n: int, found: list[tuple[np.ndarray, ...]]) -> dict[str, pa.Array]:
        bench = self.benchmarks
        rows, items, method, part, overlap, shared = (
            np.concatenate([f[k] for f in found]) if found else np.zeros(0) for k in range(6)
        )
        rows, items, method, part = (a.astype(np.int64) for a in (rows, items, method, part))
        overlap = overlap.astype(np.float32)
        # per row: n-grams before embeddings, the highest overlap, the most windows shared,
        # then the first item
        order = np.lexsort((items, -shared, -overlap, method >= 2, rows))
        rows, items, method, part, overlap = (
            a[order] for a in (rows, items, method, part, overlap)
        )
        first = np.ones(len(rows), dtype=bool)
        first[1:] = rows[1:] != rows[:-1]
        pairs = np.unique(rows * max(bench.n_items, 1) + items)
        n_items = np.bincount(pairs // max(bench.n_items, 1), minlength=n)
        hit = np.zeros(n, dtype=bool)
        hit[rows[first]] = True

        def column(values: np.ndarray, kind: pa.DataType) -> pa.Array:
            full = np.full(n, None, dtype=object)
            full[rows[first]] = values
            return pa.array(full.tolist(), kind)

        best = items[first]
        files = np.array([f.file for f in bench.files], dtype=object)
        return {
            "contaminated": pa.array(hit, pa.bool_()),
            "contam_file": column(files[bench.item_file[best]], pa.string()),
            "contam_item": column(bench.item_id[best], pa.string()),
            "contam_method": column(METHOD_NAMES[method[first]], pa.string()),
            "contam_part": column(PARTS[part[first]], pa.string()),
            "contam_overlap": column(overlap[first], pa.float32()),
            "contam_items": pa.array(n_items.astype(np.int32), pa.int32()),
        }


def counts_of(store: Store) -> dict[str, Any]:
    """The manifest's counts, from the finished sidecar: per method, file and language."""
    table = store.read(columns=["lang"], sidecars=[names.DECONTAMINATE]).filter(
        pc.field("contaminated")
    )
    return {
        "rows": store.num_rows(),
        "contaminated": table.num_rows,
        "by_method": dict(sorted(Counter(table.column("contam_method").to_pylist()).items())),
        "by_file": dict(sorted(Counter(table.column("contam_file").to_pylist()).items())),
        "by_lang": dict(sorted(Counter(table.column("lang").to_pylist()).items())),
        "items_matched": len(
            set(
                zip(
                    table.column("contam_file").to_pylist(), table.column("contam_item").to_pylist()
                )
            )
        ),
    }


def build_matcher(store: Store, options: DecontaminateOptions) -> tuple[Matcher, dict[str, Any]]:
    """Read the benchmarks and index them; also what the stage's params record of them."""
    from curate.decontaminate.benchmarks import read_benchmarks
    from curate.dedup.languages import CrossLingual

    methods = options.method_set()
    cross = CrossLingual.parse(options.cross_lingual_threshold)
    bench = read_benchmarks(list(options.against), store.root)
    params: dict[str, Any] = {"benchmarks": bench.identity(), "methods": list(methods)}
    ngrams = vectors = margin = None
    summary: dict[str, Any] = {
        "benchmarks": [
            {"file": f.file, "read": f.read, "items": f.items, "rejected": f.rejected}
            for f in bench.files
        ]
    }
    if "ngram" in methods:
        from curate.decontaminate.ngrams import NgramIndex, NgramSpec
        from curate.decontaminate.tokens import tokenize

        spec = NgramSpec(
            options.word_n, options.word_min, options.cjk_n, options.cjk_min, options.min_shared
        )
        # a short reference answer (a name, a date, a stock phrase) is no item
        ngrams = NgramIndex(tokenize(bench.segment_texts), spec, references=bench.segment_part == 1)
        params.update(
            {
                k: getattr(options, k)
                for k in ("word_n", "word_min", "cjk_n", "cjk_min", "min_overlap", "min_shared")
            }
        )
        summary["ngram_index"] = {
            "segments": len(bench.segment_item),
            "matchable_segments": int(ngrams.matchable().sum()),
            "ngrams": len(ngrams),
            "boilerplate_left_out": ngrams.boilerplate,
        }
    if "embedding" in methods:
        from curate.decontaminate.vectors import VectorIndex

        name, item_vectors = benchmark_vectors(store, bench, options)
        floor = MARGIN_FLOOR if options.margin > 0 else None
        vectors = VectorIndex(
            item_vectors, bench.item_lang, options.threshold, cross, options.index,
            options.nprobe, floor, options.seed,
        )  # fmt: skip
        if options.margin > 0:
            margin = learn_margin(store, name, bench, vectors, options.chunk_rows)
        params.update(
            {
                "embeddings": name,
                "margin": options.margin,
                "margin_floor": MARGIN_FLOOR,
                "threshold": options.threshold,
                "cross_lingual_threshold": cross.spec(),
                "index": options.index,
                "nprobe": options.nprobe,
                "seed": options.seed,
            }
        )
    matcher = Matcher(bench, ngrams, vectors, options.min_overlap, margin, options.margin)
    return matcher, params | {"_summary": summary}


def learn_margin(store: Store, name: str, bench: Any, vectors: Any, chunk_rows: int) -> Any:
    """The first pass of the margin: each item's nearest pool rows, over the whole pool."""
    from curate.decontaminate.vectors import Margin, prompt_codes
    from curate.embed.stage import vectors_of

    keys = np.unique(bench.item_id.astype(str), return_inverse=True)[1].astype(np.uint64)
    margin = Margin(keys, MARGIN_FLOOR)
    for shard in store.iter_shards(columns=["prompt_id", "lang"], sidecars=[name]):
        for lo in range(0, shard.num_rows, chunk_rows):
            chunk = shard.slice(lo, chunk_rows)
            q, item, sim, _ = vectors.search(
                vectors_of(chunk.column("embedding")),
                chunk.column("lang").to_numpy(zero_copy_only=False),
            )
            prompts = prompt_codes(chunk.column("prompt_id").to_pylist())
            background = sim < vectors.threshold  # a copy of the item is no background of it
            margin.add_pool(item[background], prompts[q][background], sim[background])
    margin.learn_items()
    return margin


def benchmark_vectors(
    store: Store, bench: Any, options: DecontaminateOptions
) -> tuple[str, np.ndarray]:
    """The pool's embedding sidecar, and every benchmark item embedded the same way."""
    from curate.embed.stage import EmbedOptions, find_embeddings, read_vectors, run_embed

    name = find_embeddings(store, options.embeddings, options.embedder, options.text)
    pool = store.manifest(names.manifest_name(name))["params"]
    embed = EmbedOptions(
        embedder=pool["embedder"], mode=pool["mode"], max_chars=pool["max_chars"],
        fold_scripts=pool["fold_scripts"],
    )  # fmt: skip
    blocks = []
    for f in bench.files:
        if f.items == 0:
            continue
        result = run_embed(f.store, embed)
        identity = result.manifest["params"]["embedder_identity"]
        if identity != pool["embedder_identity"]:
            raise CurateError(
                f"the embedder {pool['embedder']!r} that built {name!r} is not the one installed "
                f"now ({identity} vs {pool['embedder_identity']}): rerun `curate embed "
                f"{store.root} --overwrite` so both sides are embedded alike"
            )
        blocks.append(read_vectors(f.store, result.name))
    return name, np.concatenate(blocks)


def decontaminate_stage(
    matcher: Matcher, params: dict[str, Any], options: DecontaminateOptions
) -> Stage:
    summary = params.pop("_summary")
    vector_name = params.get("embeddings")

    def extra() -> dict[str, Any]:
        out = dict(summary)
        if matcher.vectors is not None:
            out["embedding_search"] = matcher.vectors.stats.describe()
        return out

    return Stage(
        name=names.DECONTAMINATE,
        params=params,
        columns=("messages", "lang"),
        sidecars=(vector_name,) if vector_name else (),
        schema=SCHEMA,
        compute_shard=lambda shard, _progress: matcher.match(shard),
        chunk_rows=options.chunk_rows,
        counts=counts_of,
        extra=extra,
    )


def run_decontaminate(
    store: Store,
    options: DecontaminateOptions,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> StageResult:
    """Check every row of ``store`` against ``options.against`` (``progress(rows)``)."""
    store.require_base()
    matcher, params = build_matcher(store, options)
    stage = decontaminate_stage(matcher, params, options)
    on_rows = None if progress is None else (lambda n, _extra=0: progress(n))
    return run_stage(store, stage, overwrite=overwrite, progress=on_rows)
