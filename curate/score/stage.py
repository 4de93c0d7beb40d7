"""``curate score``: one scorer over every conversation, into the sidecar ``score.<key>``.

The store is streamed shard by shard; each shard is scored in chunks of
``chunk_rows`` rows that are checkpointed as they finish, so a killed run loses
at most one chunk and never scores a row twice. While the model works on one
chunk, a background thread prepares the next (chat template and tokenizer),
keeping the tokenizer off the critical path.

The manifest records the scorer's parameters, the model's revision or file
hashes (its fingerprint: a different model or dtype writes beside, or refuses),
counts per status, tokens, wall time, conversations/s and tokens/s.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate.store import SidecarWriter, Store

PREFIX = "score."
DEFAULT_CHUNK_ROWS = 4096

# progress(conversations, tokens)
Progress = Callable[[int, int], None]


def sidecar_name(key: str) -> str:
    return f"{PREFIX}{key}"


def score_columns(store: Store) -> dict[str, str]:
    """The store's complete score sidecars, ``score.<key>`` -> their score column ``<key>_score``."""
    from scorers.base import column_prefix

    return {
        name: f"{column_prefix(name.removeprefix(PREFIX))}_score"
        for name in store.sidecars()
        if name.startswith(PREFIX)
        and (store.manifest(f"sidecar.{name}") or {}).get("status") == "complete"
    }


@dataclass
class ScoreResult:
    name: str
    rows: int
    statuses: dict[str, int]
    tokens: int
    wall_seconds: float
    already_done: bool = False


def run_score(
    store: Store,
    scorer: Any,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
) -> ScoreResult:
    """Score every row of ``store`` with a loaded-on-demand ``scorer`` (:class:`scorers.base.Scorer`).

    The scorer's ``prepare`` gets a list of conversations, or, when its
    ``input_columns`` name more than ``messages``, a :class:`pyarrow.Table` of those
    base columns. Its output needs ``<prefix>_score`` and ``<prefix>_status``;
    ``<prefix>_tokens`` is summed when present.
    """
    store.require_base()
    started = time.perf_counter()
    scorer.load()
    name = sidecar_name(scorer.key)
    params = {**scorer.params(), "identity": scorer.identity()}
    with store.lock():
        writer = SidecarWriter(store, name, params, overwrite=overwrite)
        if writer.complete:
            manifest = store.manifest(writer.manifest_name)
            counts = manifest["counts"]
            if progress is not None:
                progress(counts["rows"], 0)
            return ScoreResult(
                name,
                counts["rows"],
                counts["status"],
                counts["tokens"],
                manifest.get("wall_seconds", 0.0),
                already_done=True,
            )
        p = scorer.prefix
        status_column, tokens_column, score_column = f"{p}_status", f"{p}_tokens", f"{p}_score"
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="curate-prepare") as pool:
            for index in writer.pending():
                inputs = list(getattr(scorer, "input_columns", ("messages",)))
                shard = store.read_shard(index, columns=["id", *inputs])
                todo, done_rows = writer.chunks_to_do(index, chunk_rows)
                if progress is not None and done_rows:
                    progress(done_rows, 0)
                # a scorer gets its conversations, or a table when it reads more columns
                source = (
                    shard.column("messages") if inputs == ["messages"] else shard.select(inputs)
                )

                def prepare(chunk_range: tuple[int, int], source: Any = source) -> Any:
                    chunk = source.slice(*chunk_range)
                    return scorer.prepare(
                        chunk.to_pylist() if isinstance(chunk, pa.ChunkedArray) else chunk
                    )

                ahead = pool.submit(prepare, todo[0]) if todo else None
                for i, (start, rows) in enumerate(todo):
                    prepared = ahead.result()
                    ahead = pool.submit(prepare, todo[i + 1]) if i + 1 < len(todo) else None
                    columns = scorer.run(prepared, progress)
                    ids = shard.column("id").slice(start, rows)
                    writer.write_part(index, start, pa.table({"id": ids, **columns}))
                writer.write_from_parts(index, pa.schema([("id", pa.string()), *scorer.schema()]))
        sidecar = store.read_sidecar(name)
        table = sidecar.select([score_column, status_column])
        statuses = Counter(table.column(status_column).to_pylist())
        tokens = (
            int(pc.sum(sidecar.column(tokens_column)).as_py() or 0)
            if tokens_column in sidecar.column_names
            else 0
        )
        wall = time.perf_counter() - started
        counts = {
            "rows": table.num_rows,
            "scored": table.num_rows - table.column(score_column).null_count,
            "status": dict(sorted(statuses.items())),
            "tokens": tokens,
        }
        writer.finish(
            counts,
            wall_seconds=round(wall, 3),
            conversations_per_second=round(counts["rows"] / wall, 2) if wall > 0 else None,
            tokens_per_second=round(tokens / wall, 1) if wall > 0 else None,
            **scorer.manifest_extra(),
        )
    return ScoreResult(name, counts["rows"], counts["status"], tokens, wall)
