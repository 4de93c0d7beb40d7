"""``run_stage``: the one skeleton every sidecar stage runs in."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from curate import names
from curate.runner.engine import EngineOptions, Workers, start_workers
from curate.runner.freshness import input_builds
from curate.runner.stage import Progress, Stage, StageRecipe, StageResult
from curate.store import SidecarWriter, Store


def run_stage(
    store: Store,
    stage: Stage | StageRecipe | Workers,
    overwrite: bool = False,
    progress: Progress | None = None,
    engine: EngineOptions | Mapping[str, Any] | str | None = None,
) -> StageResult:
    """Run ``stage`` on ``store``: skip it when done, resume it when killed, record it.

    ``stage``: a declaration (runs here), a recipe that builds one with its model
    loaded (runs on ``engine``: local, or Ray workers), or workers already started
    (:func:`curate.runner.engine.start_workers`) by a caller that needed the
    declaration first.

    Under the store's lock: the sidecars the stage reads must be complete and fresh;
    their build ids and ``stage.params`` make the fingerprint. A complete sidecar with
    that fingerprint is nothing to do. One with other params refuses unless
    ``overwrite``; one whose inputs were rebuilt since is stale and rebuilt.
    """
    store.require_base()
    if isinstance(stage, Stage) or callable(stage):
        with start_workers(stage, engine) as workers:
            return _run(store, workers, overwrite, progress)
    return _run(store, stage, overwrite, progress)


def _run(store: Store, workers: Workers, overwrite: bool, progress: Progress | None) -> StageResult:
    stage = workers.stage
    started = time.perf_counter()
    with store.lock():
        inputs = input_builds(store, tuple(stage.sidecars))
        writer = SidecarWriter(store, stage.name, stage.params, overwrite=overwrite, inputs=inputs)
        if writer.complete:
            manifest = store.manifest(names.manifest_name(stage.name))
            if progress is not None:
                progress(int(manifest.get("rows", 0)), 0)
            return StageResult(stage.name, manifest, already_done=True)
        if stage.compute_all is not None:  # whole-store stages run here (LocalWorkers)
            writer.write_all(stage.compute_all(store, progress))
        else:
            workers.run_shards(store, writer, progress)
        counts = stage.counts(store) if stage.counts is not None else {"rows": store.num_rows()}
        counts.setdefault("rows", store.num_rows())
        wall = time.perf_counter() - started
        rates = {
            f"{key}_per_second": round(counts.get(key, 0) / wall, 1) if wall > 0 else None
            for key in ("rows", *stage.rates)
        }
        manifest = writer.finish(
            counts,
            wall_seconds=round(wall, 3),
            engine=workers.describe(),
            **rates,
            **workers.extra(),
        )
    return StageResult(stage.name, manifest, rebuilt_stale=writer.rebuilt_stale)
