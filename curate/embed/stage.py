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

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from curate.embed import text as texts_mod
from curate.embed.embedders import DEFAULT_EMBEDDER, Embedder, resolve
from curate.errors import CurateError, StoreError
from curate.store import SidecarWriter, Store

PREFIX = "embed."


@dataclass(frozen=True)
class EmbedOptions:
    embedder: str = DEFAULT_EMBEDDER
    mode: str = texts_mod.DEFAULT_MODE
    max_chars: int = texts_mod.DEFAULT_MAX_CHARS
    fold_scripts: bool = True
    batch_size: int = 128
    device: str | None = None

    def params(self, embedder: Embedder) -> dict[str, Any]:
        out = asdict(self)
        del out["batch_size"], out["device"]  # do not change the vectors (beyond float noise)
        out["embedder_identity"] = embedder.identity()
        return out


def sidecar_name(embedder_key: str, mode: str) -> str:
    return f"{PREFIX}{embedder_key}.{mode}"


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


@dataclass
class EmbedResult:
    name: str
    rows: int
    truncated: int
    multi_turn: int
    dim: int
    wall_seconds: float
    already_done: bool = False


def run_embed(
    store: Store,
    options: EmbedOptions,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> EmbedResult:
    if options.mode not in texts_mod.MODES:
        raise CurateError(
            f"unknown --text {options.mode!r}; choose one of {', '.join(texts_mod.MODES)}"
        )
    store.require_base()
    started = time.perf_counter()
    embedder = resolve(options.embedder, device=options.device, batch_size=options.batch_size)
    embedder.load()
    name = sidecar_name(embedder.key, options.mode)
    with store.lock():
        writer = SidecarWriter(store, name, options.params(embedder), overwrite=overwrite)
        if writer.complete:
            manifest = store.manifest(writer.manifest_name)
            counts = manifest["counts"]
            if progress is not None:
                progress(counts["rows"])
            return EmbedResult(
                name,
                counts["rows"],
                counts["truncated"],
                counts["multi_turn"],
                counts["dim"],
                manifest.get("wall_seconds", 0.0),
                already_done=True,
            )
        for index in writer.pending():
            shard = store.read_shard(index, columns=["id", "messages"])
            writer.write(index, embed_shard(shard, embedder, options, progress))
        table = store.read_sidecar(name).select(["embedding_last", "embed_truncated"])
        wall = time.perf_counter() - started
        counts = {
            "rows": table.num_rows,
            "truncated": int(table.column("embed_truncated").to_numpy().sum())
            if table.num_rows
            else 0,
            "multi_turn": table.num_rows - table.column("embedding_last").null_count,
            "dim": embedder.dim,
        }
        writer.finish(
            counts,
            wall_seconds=round(wall, 3),
            rows_per_second=round(counts["rows"] / wall, 1) if wall > 0 else None,
        )
    return EmbedResult(
        name, counts["rows"], counts["truncated"], counts["multi_turn"], embedder.dim, wall
    )


def embed_shard(
    shard: pa.Table,
    embedder: Embedder,
    options: EmbedOptions,
    progress: Callable[[int], None] | None,
) -> pa.Table:
    conversations = shard.column("messages").to_pylist()
    texts, truncated = texts_mod.embedding_texts(
        conversations, options.mode, options.max_chars, options.fold_scripts
    )
    vectors = encode_sorted(embedder, texts, options.batch_size, progress)
    last_valid = np.zeros(len(texts), dtype=bool)
    last_vectors = np.zeros_like(vectors)
    if options.mode == "conversation":
        lasts = [last_exchange(m) for m in conversations]
        idx = [i for i, t in enumerate(lasts) if t is not None]
        if idx:
            prepared = [texts_mod.truncate(lasts[i], options.max_chars)[0] for i in idx]
            if options.fold_scripts:
                prepared = texts_mod.fold_scripts_batch(prepared)
            last_vectors[idx] = encode_sorted(embedder, prepared, options.batch_size, None)
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
    manifest = store.manifest(f"sidecar.{name}")
    if manifest is None or manifest.get("status") != "complete":
        available = [s for s in store.sidecars() if s.startswith(PREFIX)]
        hint = f"; available: {', '.join(available)}" if available else ""
        raise StoreError(
            f"no complete embeddings {name!r} in {store.root}: run `curate embed {store.root} "
            f"--embedder {embedder or DEFAULT_EMBEDDER} --text {mode}` first{hint}"
        )
    return name
