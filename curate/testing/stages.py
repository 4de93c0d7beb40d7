"""A per-shard stage for testing engines: it can be slow, fail, or kill its own worker.

:class:`CharsRecipe` is a stage recipe (``curate.runner.Loaded``'s contract: picklable,
builds the stage when called), so the Ray engine's tests run it on real workers. Its
output (``n_chars`` times two) and its params do not depend on the misbehaviour
options, so a run that misbehaved and one that did not must write the same bytes.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from curate.runner.stage import Stage

SCHEMA = pa.schema([("chars_score", pa.float64()), ("chars_status", pa.string())])


@dataclass(frozen=True)
class CharsRecipe:
    chunk_rows: int | None = 10
    #: seconds each unit takes
    sleep: float = 0.0
    #: a file: the first worker to compute a unit not starting the store creates it and
    #: kills itself (SIGKILL) mid-unit; with the file present nothing is killed
    kill_once: str | None = None
    #: every unit raises
    fail: bool = False
    #: a file that gets one line (the unit's first id) per unit computed
    log: str | None = None

    def __call__(self) -> Stage:
        return Stage(
            name="score.chars",
            params={"scale": 2},
            columns=["n_chars"],
            schema=SCHEMA,
            compute_shard=partial(_compute, self),
            chunk_rows=self.chunk_rows,
        )


def _compute(recipe: CharsRecipe, table: pa.Table, _progress) -> dict[str, pa.Array]:
    first = table.column("id")[0].as_py() if table.num_rows else ""
    if recipe.log is not None:
        with open(recipe.log, "a", encoding="utf-8") as fh:
            fh.write(first + "\n")
    if recipe.sleep:
        time.sleep(recipe.sleep)
    if recipe.fail:
        raise ValueError(f"this unit always fails (first id {first})")
    marker = Path(recipe.kill_once) if recipe.kill_once else None
    if marker is not None and _claim(marker):
        os.kill(os.getpid(), signal.SIGKILL)
    return {
        "chars_score": pc.multiply(pc.cast(table.column("n_chars"), pa.float64()), 2),
        "chars_status": pa.array(["ok"] * table.num_rows, pa.string()),
    }


def _claim(marker: Path) -> bool:
    """Create ``marker`` unless it exists, atomically: exactly one worker of many wins (an
    exists-then-write check let two workers both kill themselves under load)."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as fh:
        fh.write(str(os.getpid()))
    return True
