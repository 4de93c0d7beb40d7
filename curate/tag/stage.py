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

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from curate.errors import CurateError
from curate.store import SidecarWriter, Store

PREFIX = "tag."
TAGGERS = ("cluster",)


def sidecar_name(tagger: str) -> str:
    return f"{PREFIX}{tagger}"


@dataclass
class TagResult:
    name: str
    rows: int
    tags: list[dict[str, Any]]
    wall_seconds: float
    already_done: bool = False
    embeddings: str = ""


def ensure_embeddings(
    store: Store, embeddings: str | None, progress: Callable[[int], None] | None = None
) -> str:
    """The embedding sidecar to cluster: the one named, else the default one (embedded now if missing)."""
    from curate.embed.stage import EmbedOptions, find_embeddings, run_embed

    if embeddings is not None:
        return find_embeddings(store, embeddings, None, "conversation")
    try:
        return find_embeddings(store, None, None, "conversation")
    except CurateError:
        return run_embed(store, EmbedOptions(), progress=progress).name


def run_cluster_tag(
    store: Store,
    params: Any,
    embeddings: str | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> TagResult:
    """Cluster the conversation embeddings and name the clusters (:mod:`taggers.cluster`)."""
    from curate.embed.stage import read_vectors
    from taggers import cluster

    store.require_base()
    started = time.perf_counter()
    source = ensure_embeddings(store, embeddings)
    name = sidecar_name("cluster")
    embed_manifest = store.manifest(f"sidecar.{source}") or {}
    run_params = {
        **params.params(),
        "embeddings": source,
        "embeddings_fingerprint": embed_manifest.get("fingerprint"),
    }
    with store.lock():
        writer = SidecarWriter(store, name, run_params, overwrite=overwrite)
        if writer.complete:
            manifest = store.manifest(writer.manifest_name)
            if progress is not None:
                progress(manifest["counts"]["rows"])
            return TagResult(
                name,
                manifest["counts"]["rows"],
                manifest["tag_table"],
                manifest.get("wall_seconds", 0.0),
                already_done=True,
                embeddings=source,
            )
        table = store.read(columns=["id", "messages"])
        vectors = read_vectors(store, source)
        n = len(vectors)
        k = params.clusters or cluster.auto_clusters(n)
        labels, similarity, _ = cluster.kmeans(
            vectors, k, params.iterations, params.seed, params.restarts
        )
        k = int(labels.max()) + 1 if n else 0
        texts = [cluster.user_text(m) for m in table.column("messages").to_pylist()]
        names, tops = cluster.name_clusters(texts, labels, k, params.name_terms)
        tag_of = np.asarray(names, dtype=object)[labels] if n else np.array([], dtype=object)
        writer.write_all(
            pa.table(
                {
                    "id": table.column("id"),
                    "tags": pa.array([[t] for t in tag_of], pa.list_(pa.string())),
                    "tag_primary": pa.array(list(tag_of), pa.string()),
                    "tag_cluster": pa.array(labels, pa.int32()),
                    "tag_similarity": pa.array(similarity, pa.float32()),
                }
            ),
            progress,
        )
        sizes = np.bincount(labels, minlength=k) if n else np.zeros(0, dtype=int)
        tag_table = sorted(
            (
                {"tag": names[c], "cluster": c, "count": int(sizes[c]), "terms": tops[c]}
                for c in range(k)
            ),
            key=lambda r: (-r["count"], r["tag"]),
        )
        wall = time.perf_counter() - started
        writer.finish(
            {"rows": n, "clusters": k},
            tag_table=tag_table,
            wall_seconds=round(wall, 3),
            rows_per_second=round(n / wall, 1) if wall > 0 else None,
        )
    return TagResult(name, n, tag_table, wall, embeddings=source)


def find_tags(store: Store, tagger: str | None = None) -> str:
    """The complete tag sidecar to use: the tagger's, or the only/first one."""
    names = [
        s
        for s in store.sidecars()
        if s.startswith(PREFIX)
        and not s.endswith(RAW_SUFFIX)  # an LLM's raw tags are not buckets
        and (store.manifest(f"sidecar.{s}") or {}).get("status") == "complete"
    ]
    if tagger is not None:
        wanted = sidecar_name(tagger)
        if wanted in names:
            return wanted
        names = []
    if not names:
        raise CurateError(
            f"no complete tags{f' from the {tagger} tagger' if tagger else ''} in {store.root}: "
            f"run `curate tag {store.root}` first"
        )
    return sorted(names)[0]


# -- the LLM tagger ---------------------------------------------------------------------------

RAW_SUFFIX = ".raw"
DEFAULT_CHUNK_ROWS = 512
RAW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("tags_raw", pa.list_(pa.string())),
        ("tag_explanations", pa.list_(pa.string())),
        ("tag_status", pa.string()),
        ("tag_error", pa.string()),
        ("tag_turns", pa.int32()),
        ("tag_prompt_tokens", pa.int64()),
        ("tag_completion_tokens", pa.int64()),
    ]
)


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
) -> str:
    """Phase 1: raw LLM tags per conversation into ``tag.<tagger>.raw``, checkpointed by chunk."""
    name = sidecar_name(tagger.name) + RAW_SUFFIX
    tagger.load()  # the backend's identity (model revision) is part of the fingerprint
    params = {**tagger.params.params(), "backend": tagger.backend.identity()}
    with store.lock():
        writer = SidecarWriter(store, name, params, overwrite=overwrite)
        if writer.complete:
            if progress is not None:
                progress(store.num_rows())
            return name
        for index in writer.pending():
            shard = store.read_shard(index, columns=["id", "messages"])
            todo, done_rows = writer.chunks_to_do(index, chunk_rows)
            if progress is not None and done_rows:
                progress(done_rows)
            for start, rows in todo:
                chunk = shard.column("messages").slice(start, rows).to_pylist()
                results = tagger.tag(chunk)
                ids = shard.column("id").slice(start, rows)
                writer.write_part(index, start, raw_table(ids, results))
                if progress is not None:
                    progress(len(results))
            writer.write_from_parts(index, RAW_SCHEMA)
        table = store.read_sidecar(name).select(["tag_status"])
        writer.finish(
            {
                "rows": table.num_rows,
                "status": dict(Counter(table.column("tag_status").to_pylist())),
            }
        )
    return name


def primary_tags(tag_lists: list[list[str]], counts: dict[str, int]) -> list[str | None]:
    """Each conversation's most frequent tag in the pool (ties: by name); None without tags."""
    return [min(tags, key=lambda t: (-counts.get(t, 0), t)) if tags else None for tags in tag_lists]


def run_normalize(
    store: Store,
    tagger_name: str,
    params: Any,
    embed: Callable[[list[str]], np.ndarray] | None,
    mapping_file: str | None = None,
) -> TagResult:
    """Phase 2: normalize the raw tags of the whole store (or apply an edited mapping) into ``tag.<tagger>``."""
    import hashlib

    from taggers.normalize import TagMapping, normalize_tags

    started = time.perf_counter()
    raw_name = sidecar_name(tagger_name) + RAW_SUFFIX
    raw = store.read_sidecar(raw_name)
    raw_lists = raw.column("tags_raw").to_pylist()
    if mapping_file is not None:
        mapping = TagMapping.load(mapping_file)
        how = {"mapping_file": str(mapping_file)}
    else:
        mapping = normalize_tags(raw_lists, params, embed=embed)
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
    primary = primary_tags(tag_lists, counts)
    name = sidecar_name(tagger_name)
    raw_manifest = store.manifest(f"sidecar.{raw_name}") or {}
    run_params = {**how, "raw": raw_manifest.get("fingerprint"), "mapping_sha256": digest}
    with store.lock():
        writer = SidecarWriter(store, name, run_params, overwrite=True)
        writer.write_all(
            pa.table(
                {
                    "id": raw.column("id"),
                    "tags": pa.array(tag_lists, pa.list_(pa.string())),
                    "tag_primary": pa.array(primary, pa.string()),
                }
            )
        )
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
        wall = time.perf_counter() - started
        writer.finish(
            {
                "rows": len(tag_lists),
                "tags": len(counts),
                "untagged": sum(1 for t in tag_lists if not t),
            },
            tag_table=tag_table,
            mapping=str(path),
            normalization=mapping.manifest(),
            wall_seconds=round(wall, 3),
        )
    return TagResult(name, len(tag_lists), tag_table, wall)
