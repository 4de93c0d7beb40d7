"""``curate score``: one scorer over every conversation, into the sidecar ``score.<key>``.

A declaration on the stage runner (:mod:`curate.runner`): each shard is scored in
chunks of ``chunk_rows`` rows that are checkpointed as they finish, so a killed run
loses at most one chunk and never scores a row twice. While the model works on one
chunk, the runner has the scorer's ``prepare`` (chat template and tokenizer) do the
next one in a background thread, keeping the tokenizer off the critical path.

The manifest records the scorer's parameters, the model's revision or file hashes
(its fingerprint: a different model or dtype writes beside, or refuses), counts per
status, tokens, wall time, conversations/s and tokens/s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from curate import names
from curate.runner import Loaded, Stage, StageResult, is_complete, run_stage
from curate.store import Store

DEFAULT_CHUNK_ROWS = 4096

# progress(conversations, tokens)
Progress = Callable[[int, int], None]


def sidecar_name(key: str) -> str:
    return names.score_sidecar(key)


def score_columns(store: Store) -> dict[str, str]:
    """The store's complete, fresh score sidecars, ``score.<key>`` -> their score column."""
    return {
        name: names.score_column(names.score_key(name))
        for name in store.sidecars()
        if name.startswith(names.SCORE) and is_complete(store, name)
    }


def score_arrays(table: pa.Table, columns: dict[str, str]) -> dict[str, Any]:
    """Score columns of ``table`` as float64 numpy arrays, NaN where a score is missing or failed.

    ``columns`` maps a score key to its column (as :func:`score_columns` gives them).
    """
    import numpy as np

    return {
        key: np.asarray(
            pc.fill_null(pc.cast(table.column(col), pa.float64()), np.nan).to_numpy(
                zero_copy_only=False
            ),
            dtype=np.float64,
        )
        for key, col in columns.items()
    }


def score_stage(scorer: Any, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Stage:
    """The declaration of ``curate score`` for a loaded ``scorer`` (:class:`scorers.base.Scorer`).

    The scorer's ``prepare`` gets a list of conversations, or, when its
    ``input_columns`` name more than ``messages``, a :class:`pyarrow.Table` of those
    base columns. Its output needs ``<prefix>_score`` and ``<prefix>_status``;
    ``<prefix>_tokens`` is summed when present.
    """
    name = sidecar_name(scorer.key)
    inputs = list(getattr(scorer, "input_columns", ("messages",)))
    p = names.column_prefix(scorer.key)
    status_column, tokens_column, score_column = f"{p}_status", f"{p}_tokens", f"{p}_score"
    output = scorer.schema()

    def prepare(chunk: pa.Table) -> Any:
        if inputs == ["messages"]:
            return scorer.prepare(chunk.column("messages").to_pylist())
        return scorer.prepare(chunk.select(inputs))

    def counts(store: Store) -> dict[str, Any]:
        wanted = [score_column, status_column, tokens_column]
        sidecar = store.read_sidecar(name, columns=[c for c in wanted if c in output.names])
        statuses = Counter(sidecar.column(status_column).to_pylist())
        tokens = (
            int(pc.sum(sidecar.column(tokens_column)).as_py() or 0)
            if tokens_column in sidecar.column_names
            else 0
        )
        return {
            "rows": sidecar.num_rows,
            "scored": sidecar.num_rows - sidecar.column(score_column).null_count,
            "status": dict(sorted(statuses.items())),
            "tokens": tokens,
        }

    return Stage(
        name=name,
        params={**scorer.params(), "identity": scorer.identity()},
        columns=inputs,
        schema=output,
        prepare=prepare,
        compute_shard=lambda prepared, progress: scorer.run(prepared, progress),
        chunk_rows=chunk_rows,
        counts=counts,
        extra=scorer.manifest_extra,
        summed=getattr(scorer, "extra_counts", ()),
        rates=("tokens",),
        reports_progress=True,
    )


def run_score(
    store: Store,
    scorer: Any,
    overwrite: bool = False,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None,
    engine: Any = None,
) -> StageResult:
    """Score every row of ``store`` with ``scorer``; ``progress(conversations, tokens)``.

    The scorer is loaded where the work runs: here (``engine`` local), or once in each
    Ray worker (``engine`` ray: :class:`curate.runner.EngineOptions`).
    """
    store.require_base()
    recipe = Loaded(scorer, score_stage, (chunk_rows,))
    return run_stage(store, recipe, overwrite=overwrite, progress=progress, engine=engine)
