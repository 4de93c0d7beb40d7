"""``curate embed``: one vector per conversation, cached in the store.

The vectors go to the sidecar ``embed.<embedder>.<mode>`` (one per embedder and
text mode, side by side), written shard by shard so a killed run resumes where
it stopped. Columns:

``embedding``        the conversation's text (:mod:`curate.embed.text`), L2-normalised
``embedding_last``   ``conversation`` mode, multi-turn conversations only: the last
                     user turn and what follows it; dedup requires both vectors to
                     match, so branches of one conversation tree that share an
                     opening but end differently are not duplicates
``embed_truncated``  whether the text was cut to ``max_chars``

Texts are embedded in batches sorted by length (similar lengths pad alike).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import click
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import names
from curate.embed import text as texts_mod
from curate.embed.embedders import DEFAULT_EMBEDDER, Embedder, resolve
from curate.errors import InputError, StoreError
from curate.options import option
from curate.runner import Loaded, Stage, StageResult, is_complete, run_stage
from curate.store import Store

SCHEMA_LAST = ("embedding_last", "embed_truncated")


@dataclass(frozen=True)
class EmbedOptions:
    embedder: str = option(
        DEFAULT_EMBEDDER,
        "Preset (use-multilingual, e5-small-q4, minilm), local sentence-transformers directory, "
        "or hub id.",
    )
    mode: str = option(
        texts_mod.DEFAULT_MODE,
        "What is embedded: all user and assistant turns, user turns only, or the first user turn.",
        flag="--text",
        type=click.Choice(texts_mod.MODES),
    )
    max_chars: int = option(
        texts_mod.DEFAULT_MAX_CHARS,
        "Longer texts keep their first 3/4 and last 1/4 (counted in the manifest).",
        type=click.IntRange(min=16),
    )
    fold_scripts: bool = option(
        True,
        "Embed Traditional Chinese folded to Simplified, so both scripts of a text match.",
        flag="--fold-scripts/--no-fold-scripts",
    )
    batch_size: int | None = option(
        None,
        "Texts per batch [default: the embedder's, measured per device: BENCHMARKS.md].",
        type=click.IntRange(min=1),
    )
    chunk_rows: int = option(
        8192,
        "Rows per checkpoint (and per unit of work on --engine ray): a killed run resumes "
        "from the last finished chunk.",
        type=click.IntRange(min=1),
    )
    device: str | None = option(
        None, "cpu, cuda, cuda:1 ... [default: cuda when present] (sentence-transformers models)."
    )

    def params(self, embedder: Embedder) -> dict[str, Any]:
        out = asdict(self)
        # these do not change the vectors (beyond float noise): the manifest's runtime has them
        del out["batch_size"], out["device"], out["chunk_rows"]
        out["embedder_identity"] = embedder.identity()
        return out


def sidecar_name(embedder_key: str, mode: str) -> str:
    return names.embed_sidecar(embedder_key, mode)


def last_exchange(messages: Sequence[dict]) -> str | None:
    """The last user turn and the turns after it, for multi-turn conversations."""
    users = [i for i, m in enumerate(messages) if m["role"] == "user"]
    if len(users) < 2:
        return None
    return "\n".join(m["content"].strip() for m in messages[users[-1] :] if m["role"] != "system")


def encode_sorted(
    embedder: Embedder, texts: list[str], batch_size: int, progress: Callable[[int], None] | None
) -> np.ndarray:
    """Encode in batches of similar length; rows come back in the input order."""
    out = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    order = np.argsort(
        np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)), kind="stable"
    )
    for lo in range(0, len(texts), batch_size):
        idx = order[lo : lo + batch_size]
        out[idx] = embedder.encode([texts[i] for i in idx])
        if progress is not None:
            progress(len(idx))
    return out


def vector_column(vectors: np.ndarray, valid: np.ndarray | None = None) -> pa.FixedSizeListArray:
    values = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    mask = None if valid is None else pa.array(~valid)
    return pa.FixedSizeListArray.from_arrays(values, vectors.shape[1], mask=mask)


def vectors_of(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """A fixed-size-list column as an (n, dim) float32 array (null rows: NaN)."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    dim = array.type.list_size
    flat = np.asarray(array.values, dtype=np.float32)
    return flat[array.offset * dim : (array.offset + len(array)) * dim].reshape(len(array), dim)


def read_vectors(store: Store, name: str, column: str = "embedding") -> np.ndarray:
    """Every base row's vector in the sidecar ``name``, in base order, as one (n, dim) float32 array.

    Filled shard by shard into one array, so the peak is the array plus one shard rather
    than the whole Arrow column and its copy (3 GB instead of 1.5 GB at 1M x 384).
    """
    out: np.ndarray | None = None
    offset = 0
    for index in range(store.num_shards):
        block = vectors_of(store.read_shard(index, columns=["id"], sidecars=[name]).column(column))
        if out is None:
            out = np.empty((store.num_rows(), block.shape[1]), dtype=np.float32)
        out[offset : offset + len(block)] = block
        offset += len(block)
    return out if out is not None else np.empty((0, 0), dtype=np.float32)


def runtime(embedder: Embedder, options: EmbedOptions) -> dict[str, Any]:
    """What a loaded ``embedder`` runs with: device, threads, and the batch size (given or its default)."""
    return {**embedder.runtime(), "batch_size": options.batch_size or embedder.default_batch_size()}


def embed_stage(embedder: Embedder, options: EmbedOptions) -> Stage:
    """The declaration of ``curate embed`` for a loaded ``embedder``."""
    name = sidecar_name(embedder.key, options.mode)
    dim = embedder.dim  # counts run on the driver: they hold no model
    settings = runtime(embedder, options)

    def counts(store: Store) -> dict[str, Any]:
        table = store.read_sidecar(name, columns=list(SCHEMA_LAST))  # not the vectors
        return {
            "rows": table.num_rows,
            "truncated": int(pc.sum(table.column("embed_truncated")).as_py() or 0),
            "multi_turn": table.num_rows - table.column("embedding_last").null_count,
            "dim": dim,
        }

    vector = pa.list_(pa.float32(), dim)
    return Stage(
        name=name,
        params=options.params(embedder),
        schema=pa.schema(
            [("embedding", vector), ("embedding_last", vector), ("embed_truncated", pa.bool_())]
        ),
        compute_shard=lambda shard, progress: embed_shard(
            shard, embedder, options, progress, settings["batch_size"]
        ),
        chunk_rows=options.chunk_rows,
        counts=counts,
        extra=lambda: {"runtime": settings},  # on Ray: the first worker's
        reports_progress=True,
    )


def run_embed(
    store: Store,
    options: EmbedOptions,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    engine: Any = None,
) -> StageResult:
    """Embed every conversation of ``store`` (``progress(rows)``).

    The embedder is loaded where the work runs: here, or in each Ray worker (``engine``).
    """
    if options.mode not in texts_mod.MODES:
        raise InputError(
            f"unknown --text {options.mode!r}; choose one of {', '.join(texts_mod.MODES)}"
        )
    store.require_base()
    embedder = resolve(options.embedder, device=options.device, batch_size=options.batch_size)
    on_rows = None if progress is None else (lambda n, _extra=0: progress(n))
    recipe = Loaded(embedder, embed_stage, (options,))
    return run_stage(store, recipe, overwrite=overwrite, progress=on_rows, engine=engine)


def embed_shard(
    shard: pa.Table,
    embedder: Embedder,
    options: EmbedOptions,
    progress: Callable[[int], None] | None,
    batch_size: int,
) -> pa.Table:
    conversations = shard.column("messages").to_pylist()
    texts, truncated = texts_mod.embedding_texts(
        conversations, options.mode, options.max_chars, options.fold_scripts
    )
    vectors = encode_sorted(embedder, texts, batch_size, progress)
    last_valid = np.zeros(len(texts), dtype=bool)
    last_vectors = np.zeros_like(vectors)
    if options.mode == "conversation":
        lasts = [last_exchange(m) for m in conversations]
        idx = [i for i, t in enumerate(lasts) if t is not None]
        if idx:
            prepared = [texts_mod.truncate(lasts[i], options.max_chars)[0] for i in idx]
            if options.fold_scripts:
                prepared = texts_mod.fold_scripts_batch(prepared)
            last_vectors[idx] = encode_sorted(embedder, prepared, batch_size, None)
            last_valid[idx] = True
    return pa.table(
        {
            "id": shard.column("id"),
            "embedding": vector_column(vectors),
            "embedding_last": vector_column(last_vectors, last_valid),
            "embed_truncated": pa.array(truncated, pa.bool_()),
        }
    )


def find_embeddings(store: Store, name: str | None, embedder: str | None, mode: str) -> str:
    """The embedding sidecar to use: by name, or by embedder and mode; must be complete."""
    if name is None:
        key = resolve(embedder or DEFAULT_EMBEDDER).key
        name = sidecar_name(key, mode)
    if not is_complete(store, name):
        available = [s for s in store.sidecars() if s.startswith(names.EMBED)]
        hint = f"; available: {', '.join(available)}" if available else ""
        raise StoreError(
            f"no complete embeddings {name!r} in {store.root}: run `curate embed {store.root} "
            f"--embedder {embedder or DEFAULT_EMBEDDER} --text {mode}` first{hint}"
        )
    return name
