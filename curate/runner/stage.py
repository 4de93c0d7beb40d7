"""What a stage declares, and what a run of it returns.

A per-shard stage gives ``compute_shard``: a table of the rows it reads (``id``,
the base ``columns``, the columns of the ``sidecars``) in, its new columns out
(a mapping of arrays, or a table; ``id`` is added when missing). With
``chunk_rows`` the runner checkpoints every that many rows within a shard, so a
killed run loses at most one chunk; with ``prepare`` it runs that CPU work (a
tokenizer, say) for the next chunk in a background thread while ``compute_shard``
works on the current one, and ``compute_shard`` receives ``prepare``'s result.

A whole-store stage gives ``compute_all(store, progress)``: one table of every base
row in base order (clusters, duplicate groups, tag mappings).

Everything else — the lock, fingerprints (``params`` and the build ids of the
``sidecars`` read), skipping what is done, resuming, the manifest, counts, wall
time and throughput — is the runner's (:func:`curate.runner.run_stage`).

A per-shard stage can run on another engine (``--engine ray``) when it is given as a
**recipe**: a picklable callable that loads the stage's model and returns its
declaration (:class:`Loaded` is the usual one). Each Ray worker calls the recipe once
and keeps the model; the driver takes the declaration the workers built. So ``counts``
must need nothing but the finished store (it runs on the driver), and ``extra`` is
asked of every worker: under the keys named in ``summed`` numbers add up, anything
else is the first worker's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from curate.store import Store

#: progress(rows done, extra count such as tokens)
Progress = Callable[[int, int], None]
Columns = Mapping[str, Any] | pa.Table


@dataclass
class Stage:
    """A stage that adds the sidecar ``name`` (see the module docstring)."""

    name: str
    params: dict[str, Any]
    columns: Sequence[str] = ("messages",)
    sidecars: Sequence[str] = ()
    schema: pa.Schema | None = None  # output columns without id (an empty chunked shard needs it)
    compute_shard: Callable[[Any, Progress | None], Columns] | None = None
    prepare: Callable[[pa.Table], Any] | None = None
    chunk_rows: int | None = None
    compute_all: Callable[[Store, Progress | None], pa.Table] | None = None
    #: counts for the manifest, from the finished store (default: rows)
    counts: Callable[[Store], dict[str, Any]] | None = None
    #: more manifest entries, asked for after the work is done
    extra: Callable[[], dict[str, Any]] = field(default=dict)
    #: keys of ``extra`` that count work (calls made): on several workers their numbers add up
    summed: Sequence[str] = ()
    #: counts that get a rate in the manifest too (``tokens`` -> ``tokens_per_second``)
    rates: Sequence[str] = ()
    #: compute_shard reports its own progress (per batch); else the runner counts rows per chunk
    reports_progress: bool = False
    #: release what compute_shard holds (a backend's connections), once the work is done
    close: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if (self.compute_shard is None) == (self.compute_all is None):
            raise TypeError(f"stage {self.name!r}: give exactly one of compute_shard, compute_all")
        if self.chunk_rows is not None and self.schema is None:
            raise TypeError(f"stage {self.name!r}: a chunked stage needs its output schema")


#: a picklable callable that loads a stage's model and returns its declaration
StageRecipe = Callable[[], Stage]


@dataclass(frozen=True)
class Loaded:
    """A stage recipe: ``component.load()``, then ``declare(component, *args)``.

    Picklable as long as ``component`` is not loaded yet (plugins' ``__init__`` only
    stores parameters) and ``declare`` is a module-level function: what a Ray worker
    receives and runs once, to load the model in its own process.
    """

    component: Any
    declare: Callable[..., Stage]
    args: tuple[Any, ...] = ()

    def __call__(self) -> Stage:
        self.component.load()
        return self.declare(self.component, *self.args)


@dataclass
class StageResult:
    """What a run of a stage did: its manifest, and whether there was nothing to do."""

    name: str
    manifest: dict[str, Any]
    already_done: bool = False
    rebuilt_stale: bool = False  # its inputs had changed since the last build

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest.get("counts", {})

    @property
    def rows(self) -> int:
        return int(self.counts.get("rows", self.manifest.get("rows", 0)))

    @property
    def wall_seconds(self) -> float:
        return float(self.manifest.get("wall_seconds") or 0.0)
