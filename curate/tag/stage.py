"""``curate tag``: every conversation gets normalized tags and a primary cluster.

Sidecar ``tag.<tagger>`` (one per tagger, side by side), columns:

``tags``            the conversation's normalized tags (its buckets for ``select --per-tag``)
``tag_primary``     one tag per conversation, for views that need a single cluster
``tag_cluster``     (cluster tagger) the k-means cluster number
``tag_similarity``  (cluster tagger) cosine similarity to the cluster centroid

The manifest holds the parameters, the embeddings used, and the tag table (name,
size, top terms). The clustering is global; its result is deterministic for a seed,
so a run killed while writing shards recomputes it and writes the missing shards.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import pyarrow as pa

from curate import names, plugins
from curate.errors import CurateError
from curate.runner import Loaded, Stage, StageResult, is_complete, run_stage
from curate.store import Store


def sidecar_name(tagger: str) -> str:
    return names.tag_sidecar(tagger)


def tag_table_of(result: StageResult) -> list[dict[str, Any]]:
    """The tag table (tag, count, terms) a tagging stage recorded in its manifest."""
    return result.manifest.get("tag_table", [])


def ensure_embeddings(
    store: Store,
    embeddings: str | None,
    progress: Callable[[int], None] | None = None,
    mode: str = "conversation",
    engine: Any = None,
) -> str:
    """The embedding sidecar to cluster: the one named, else the default one (embedded now if missing,
    on ``engine``)."""
    from curate.embed.stage import EmbedOptions, find_embeddings, run_embed

    if embeddings is not None:
        return find_embeddings(store, embeddings, None, mode)
    try:
        return find_embeddings(store, None, None, mode)
    except CurateError:
        return run_embed(store, EmbedOptions(mode=mode), progress=progress, engine=engine).name


def run_cluster_tag(
    store: Store,
    params: Any,
    embeddings: str | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    engine: Any = None,
) -> StageResult:
    """Cluster the conversation embeddings and name the clusters (the ``cluster`` tagger plugin).

    ``params``: the tagger's ``Params`` (``curate.plugins.load("taggers", "cluster").Params``).
    Missing embeddings are computed first, on ``engine``; the clustering itself runs here.
    """
    from curate.embed.stage import read_vectors

    store.require_base()
    tagger = plugins.load("taggers", "cluster")(params)
    source = ensure_embeddings(store, embeddings, mode=tagger.embeddings, engine=engine)
    summary: dict[str, Any] = {}

    def compute_all(store: Store, _progress: Any) -> pa.Table:
        tagger.load()  # only when there is work: a complete sidecar needs no FAISS
        ids: list[pa.Array] = []
        texts: list[str] = []
        for shard in store.iter_shards(columns=["id", *tagger.reads]):  # never all messages at once
            ids.extend(shard.column("id").chunks)
            texts.extend(tagger.naming_texts(shard.column("messages")))
        vectors = read_vectors(store, source)
        pa.default_memory_pool().release_unused()  # the shards' buffers, before k-means
        result = tagger.tag_texts(texts, vectors)
        summary["counts"] = {"rows": len(vectors), "clusters": result.clusters}
        summary["clustering"] = result.method
        summary["tag_table"] = result.tag_table
        if progress is not None:
            progress(len(vectors))
        return pa.table({"id": pa.chunked_array(ids, pa.string()), **result.columns})

    stage = Stage(
        name=sidecar_name(tagger.name),
        params={**tagger.params(), "embeddings": source},
        sidecars=[source],
        compute_all=compute_all,
        counts=lambda store: summary["counts"],
        extra=lambda: {"clustering": summary["clustering"], "tag_table": summary["tag_table"]},
    )
    on_rows = None if progress is None else (lambda n, _extra=0: progress(n))
    return run_stage(store, stage, overwrite=overwrite, progress=on_rows)


def find_tags(store: Store, tagger: str | None = None) -> str:
    """The complete tag sidecar to use: the tagger's, or the only/first one."""
    found = [s for s in store.sidecars() if names.is_bucket_tags(s) and is_complete(store, s)]
    if tagger is not None:
        wanted = sidecar_name(tagger)
        if wanted in found:
            return wanted
        found = []
    if not found:
        raise CurateError(
            f"no complete tags{f' from the {tagger} tagger' if tagger else ''} in {store.root}: "
            f"run `curate tag {store.root}` first"
        )
    return sorted(found)[0]


# -- the LLM tagger ---------------------------------------------------------------------------

DEFAULT_CHUNK_ROWS = 512
#: the columns of ``tag.<tagger>.raw`` (an LLM tagger's ``schema()``), then with its ``id``
RAW_COLUMNS = pa.schema(
    [
        ("tags_raw", pa.list_(pa.string())),
        ("tag_explanations", pa.list_(pa.string())),
        ("tag_status", pa.string()),
        ("tag_error", pa.string()),
        ("tag_turns", pa.int32()),
        ("tag_prompt_tokens", pa.int64()),
        ("tag_completion_tokens", pa.int64()),
    ]
)
RAW_SCHEMA = pa.schema([("id", pa.string()), *RAW_COLUMNS])


def raw_table(ids: pa.ChunkedArray, results: list[Any]) -> pa.Table:
    """One chunk of ``tag.<tagger>.raw`` from the tagger's per-conversation results."""
    return pa.table(
        {
            "id": ids,
            "tags_raw": [r.tags for r in results],
            "tag_explanations": [r.explanations for r in results],
            "tag_status": [r.status for r in results],
            "tag_error": [r.error for r in results],
            "tag_turns": [r.turns for r in results],
            "tag_prompt_tokens": [r.prompt_tokens for r in results],
            "tag_completion_tokens": [r.completion_tokens for r in results],
        },
        schema=RAW_SCHEMA,
    )


def mapping_path(store: Store, tagger: str):
    return store.root / "tags" / f"{tagger}.mapping.tsv"


def run_llm_raw_tags(
    store: Store,
    tagger: Any,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int], None] | None = None,
    engine: Any = None,
) -> str:
    """Phase 1: raw LLM tags per conversation into ``tag.<tagger>.raw``, checkpointed by chunk.

    The tagger's backend is loaded where the work runs: here, or in each Ray worker.
    """
    on_rows = None if progress is None else (lambda n, _extra=0: progress(n))
    recipe = Loaded(tagger, raw_tags_stage, (chunk_rows,))
    return run_stage(store, recipe, overwrite=overwrite, progress=on_rows, engine=engine).name


def raw_tags_stage(tagger: Any, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Stage:
    """The declaration of phase 1 for a loaded LLM ``tagger`` (its backend's identity is known)."""
    name = names.raw_tag_sidecar(tagger.name)

    def counts(store: Store) -> dict[str, Any]:
        table = store.read_sidecar(name).select(["tag_status"])
        return {
            "rows": table.num_rows,
            "status": dict(Counter(table.column("tag_status").to_pylist())),
        }

    return Stage(
        name=name,
        params={**tagger.params(), "backend": tagger.backend.identity()},
        schema=RAW_COLUMNS,
        compute_shard=lambda chunk, _progress: raw_table(
            chunk.column("id"), tagger.tag(chunk.column("messages").to_pylist())
        ),
        chunk_rows=chunk_rows,
        counts=counts,
        close=getattr(tagger.backend, "close", None),
    )


def primary_tags(tag_lists: list[list[str]], counts: dict[str, int]) -> list[str | None]:
    """Each conversation's most frequent tag in the pool (ties: by name); None without tags."""
    return [min(tags, key=lambda t: (-counts.get(t, 0), t)) if tags else None for tags in tag_lists]


def run_normalize(
    store: Store,
    tagger_name: str,
    params: Any,
    embed: Callable[[list[str]], np.ndarray] | None,
    mapping_file: str | None = None,
) -> StageResult:
    """Phase 2: normalize the raw tags of the whole store (or apply an edited mapping) into ``tag.<tagger>``."""
    import hashlib

    tagger = plugins.load("taggers", tagger_name)  # its normalization (taggers.normalize)
    raw_name = names.raw_tag_sidecar(tagger_name)
    raw = store.read_sidecar(raw_name)
    raw_lists = raw.column("tags_raw").to_pylist()
    if mapping_file is not None:
        mapping = tagger.read_mapping(mapping_file)
        how = {"mapping_file": str(mapping_file)}
    else:
        mapping = tagger.normalize(raw_lists, params, embed=embed)
        how = {"normalize": asdict(params)}
    path = mapping_path(store, tagger_name)
    path.parent.mkdir(parents=True, exist_ok=True)
    mapping.save(path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    tag_lists = mapping.apply(raw_lists)
    counts: dict[str, int] = {}
    for tags in tag_lists:
        for t in tags:
            counts[t] = counts.get(t, 0) + 1
    variants: dict[str, list[str]] = {}
    for raw_tag, canonical in mapping.canonical.items():
        if canonical is not None and raw_tag != canonical:
            variants.setdefault(canonical, []).append(raw_tag)
    tag_table = sorted(
        (
            {"tag": t, "count": c, "terms": sorted(variants.get(t, []))[:10]}
            for t, c in counts.items()
        ),
        key=lambda r: (-r["count"], r["tag"]),
    )
    table = pa.table(
        {
            "id": raw.column("id"),
            "tags": pa.array(tag_lists, pa.list_(pa.string())),
            "tag_primary": pa.array(primary_tags(tag_lists, counts), pa.string()),
        }
    )
    stage = Stage(
        name=sidecar_name(tagger_name),
        params={**how, "mapping_sha256": digest},
        sidecars=[raw_name],
        compute_all=lambda store, _progress: table,
        counts=lambda store: {
            "rows": len(tag_lists),
            "tags": len(counts),
            "untagged": sum(1 for t in tag_lists if not t),
        },
        extra=lambda: {
            "tag_table": tag_table,
            "mapping": str(path),
            "normalization": mapping.manifest(),
        },
    )
    # a new mapping (edited, or normalized with other options) replaces the tags it maps
    return run_stage(store, stage, overwrite=True)
