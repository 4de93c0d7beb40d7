"""The Ray engine: a per-shard stage's units on actors of a Ray cluster.

Each worker is an actor that builds the stage from its recipe once (so it loads the
model once, on the GPU Ray gave it) and then computes units: a shard, or a chunk of
one. The driver reads each shard from the store, sends its units to the workers, and
writes each result into the sidecar as it returns, exactly as the local engine does:
so the files are byte-identical and a killed driver resumes from the same
checkpoints. The workers need curate installed, but not the store's filesystem.

Resources are explicit: each actor asks for ``--cpus-per-worker`` CPUs and
``--num-gpus-per-worker`` GPUs, and a request the cluster cannot hold is refused
before any actor starts (no waiting forever on a pending actor). Nothing else asks
Ray for CPUs: the driver reads and writes, and there is no Ray Data reader to
starve the actors.

A unit whose worker raised, or died (killed, out of memory), is sent again, to a
replacement worker if it died, up to ``--max-retries`` times; then the stage fails
naming the unit and its last error, with every finished unit kept for the rerun.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from collections import deque
from typing import Any

import pyarrow as pa

from curate.errors import CurateError, InputError
from curate.models.device import THREADS_ENV
from curate.runner.engine import EngineOptions, merge_extras
from curate.runner.stage import Progress, Stage, StageRecipe
from curate.runner.work import Unit, finish_shard, read_columns, shard_plan, with_ids, write_unit
from curate.store import SidecarWriter, Store
from curate.store.manifest import fingerprint

#: units in flight per worker: one computing, one being prepared (tokenized) beside it
DEPTH = 2
INSTALL_HINT = (
    "--engine ray needs Ray, which is not installed: pip install 'curate[ray]' "
    "(or pip install 'ray>=2.60,<3')"
)


class StageFailed(CurateError):
    """A unit failed on every attempt."""


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise CurateError(INSTALL_HINT) from None
    return ray


def _remote_only(_prepared: Any, _progress: Any) -> Any:
    raise RuntimeError("this stage's work runs on its Ray workers")


class Tally:
    """What a unit's ``compute_shard`` reported through its progress callback."""

    def __init__(self) -> None:
        self.rows = self.extra = 0

    def __call__(self, rows: int, extra: int = 0) -> None:
        self.rows += rows
        self.extra += extra


class StageWorker:
    """The actor's class: one stage, built from its recipe when the actor starts."""

    def __init__(self, recipe: StageRecipe, threads: int):
        # the worker's CPU share bounds every thread pool it starts (torch, the embedders)
        os.environ[THREADS_ENV] = str(threads)
        for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
            os.environ[variable] = str(threads)
        try:
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            pass
        self.error: BaseException | None = None
        self.stage: Stage | None = None
        try:
            self.stage = recipe()
        except Exception as e:  # reported by describe(): the actor stays up to say why
            self.error = e
        self.lock = threading.Lock()  # compute one unit at a time; prepare the next beside it

    def describe(self) -> Stage:
        """The declaration for the driver: everything but the callables that hold the model."""
        if self.error is not None:
            raise self.error
        return dataclasses.replace(
            self.stage, compute_shard=_remote_only, prepare=None, extra=dict, close=None
        )

    def compute(self, rows: pa.Table) -> tuple[pa.Table, int, int]:
        """One unit: its output table, and the rows and extra count (tokens) it reported."""
        if self.error is not None:
            raise self.error
        stage = self.stage
        prepared = stage.prepare(rows) if stage.prepare is not None else rows
        tally = Tally()
        with self.lock:
            out = stage.compute_shard(prepared, tally)
        if not stage.reports_progress:
            tally.rows = rows.num_rows
        return with_ids(rows.column("id"), out), tally.rows, tally.extra

    def extra(self) -> dict[str, Any]:
        return self.stage.extra() if self.stage is not None else {}

    def close(self) -> None:
        if self.stage is not None and self.stage.close is not None:
            self.stage.close()


class RayWorkers:
    """A stage on Ray workers (see the module docstring); a context of :func:`start_workers`."""

    name = "ray"

    def __init__(self, recipe: StageRecipe, options: EngineOptions):
        self.ray = import_ray()
        self.options = options
        self.recipe = recipe
        started = time.perf_counter()
        # connected here: disconnected (a local cluster: stopped) when the stage is done
        self.initialized = False
        if not self.ray.is_initialized():
            self.ray.init(
                address=options.ray_address, include_dashboard=False, logging_level="WARNING"
            )
            self.initialized = True
        try:
            self.count = self._count_workers()
            self.actor_class = self.ray.remote(
                num_cpus=options.cpus_per_worker,
                num_gpus=options.num_gpus_per_worker,
                max_concurrency=DEPTH,
            )(StageWorker)
            self.actors = [self._new_actor() for _ in range(self.count)]
            self.retired: list[Any] = []
            self.stage = self._declaration()
            self.startup_seconds = round(time.perf_counter() - started, 3)
            self.replaced = 0
            self.retries = 0
        except BaseException:
            self._stop()
            raise

    # -- start ---------------------------------------------------------------------------
    def _count_workers(self) -> int:
        o = self.options
        have = self.ray.cluster_resources()
        cpus, gpus = float(have.get("CPU", 0)), float(have.get("GPU", 0))
        if o.workers is not None:
            count = o.workers
        elif o.num_gpus_per_worker > 0:
            count = int(gpus // o.num_gpus_per_worker)
        else:
            count = int(cpus // o.cpus_per_worker)
        need_cpus, need_gpus = count * o.cpus_per_worker, count * o.num_gpus_per_worker
        if count < 1 or need_cpus > cpus + 1e-9 or need_gpus > gpus + 1e-9:
            raise InputError(
                f"the Ray cluster has {cpus:g} CPUs and {gpus:g} GPUs; "
                f"{max(count, 1)} workers x {o.cpus_per_worker:g} CPUs x "
                f"{o.num_gpus_per_worker:g} GPUs do not fit: lower --workers, "
                "--cpus-per-worker or --num-gpus-per-worker"
            )
        return count

    def _new_actor(self) -> Any:
        threads = max(1, int(self.options.cpus_per_worker))
        return self.actor_class.remote(self.recipe, threads)

    def _declaration(self) -> Stage:
        """The stage as the workers built it; they must agree on what decides the output."""
        stages = self._get([actor.describe.remote() for actor in self.actors])
        first = stages[0]
        for other in stages[1:]:
            if fingerprint(other.params) != fingerprint(first.params):
                raise CurateError(
                    f"stage {first.name!r}: the Ray workers built it with different parameters "
                    f"({first.params} and {other.params}), so their outputs would differ; give "
                    "the device and dtype explicitly, or use workers of one kind"
                )
        return first

    def _get(self, refs: Any) -> Any:
        """``ray.get``, with the worker's own exception (a CurateError says what to do)."""
        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayTaskError as e:
            cause = getattr(e, "cause", None)
            if isinstance(cause, CurateError):
                raise type(cause)(*cause.args) from None
            raise

    # -- run -----------------------------------------------------------------------------
    def run_shards(self, store: Store, writer: SidecarWriter, progress: Progress | None) -> None:
        stage = self.stage
        columns = read_columns(stage)
        plan = shard_plan(store, stage, writer)
        queue: deque[tuple[Unit, Any, int]] = deque()  # unit, its rows in the object store, tries
        left: dict[int, int] = {}  # units of each shard not written yet
        flying: dict[Any, tuple[int, Any, Unit, Any, int]] = {}  # ref -> slot, actor, unit ...
        load = [0] * len(self.actors)
        more = True

        def read_next_shard() -> bool:
            for index, units, done in plan:
                if progress is not None and done:
                    progress(done, 0)
                if not units:  # every chunk checkpointed: a driver killed just before the shard
                    finish_shard(writer, stage, index)
                    continue
                shard = store.read_shard(index, columns=columns, sidecars=stage.sidecars)
                left[index] = len(units)
                for unit in units:
                    # a copy of just these rows: a slice would ship the shard's whole buffers
                    rows = shard.slice(unit.start, unit.rows).combine_chunks()
                    queue.append((unit, self.ray.put(rows), 0))
                return True
            return False

        try:
            while True:
                while more and len(queue) < len(self.actors) * DEPTH:
                    more = read_next_shard()
                for slot in sorted(range(len(self.actors)), key=lambda s: load[s]):
                    while queue and load[slot] < DEPTH:
                        unit, rows, tries = queue.popleft()
                        actor = self.actors[slot]
                        flying[actor.compute.remote(rows)] = (slot, actor, unit, rows, tries)
                        load[slot] += 1
                if not flying:
                    break
                (ref,), _ = self.ray.wait(list(flying), num_returns=1)
                slot, actor, unit, rows, tries = flying.pop(ref)
                load[slot] -= 1
                try:
                    table, n, extra = self.ray.get(ref)
                except (self.ray.exceptions.RayTaskError, self.ray.exceptions.RayActorError) as e:
                    self._failed(slot, actor, unit, e, tries)
                    queue.appendleft((unit, rows, tries + 1))
                    self.retries += 1
                    continue
                write_unit(writer, stage, unit, table)
                left[unit.shard] -= 1
                if not left[unit.shard]:
                    finish_shard(writer, stage, unit.shard)
                    del left[unit.shard]
                if progress is not None:
                    progress(n, extra)
        finally:
            for ref in flying:
                self.ray.cancel(ref, force=False)

    def _failed(self, slot: int, actor: Any, unit: Unit, error: Exception, tries: int) -> None:
        """A unit failed: a dead worker is replaced (once); past the retries, the stage fails."""
        died = isinstance(error, self.ray.exceptions.RayActorError)
        if died and self.actors[slot] is actor:
            self.retired.append(actor)
            self.actors[slot] = self._new_actor()
            self.replaced += 1
        if tries >= self.options.max_retries:
            what = "its worker died" if died else "it raised"
            cause = getattr(error, "cause", None) or error
            raise StageFailed(
                f"stage {self.stage.name!r}: {unit} failed {tries + 1} times ({what}); last "
                f"error: {type(cause).__name__}: {str(cause).strip()[-2000:]}. The units "
                "finished so far are kept: fix the cause and rerun to resume"
            ) from None

    # -- after ---------------------------------------------------------------------------
    def extra(self) -> dict[str, Any]:
        extras = self._get([actor.extra.remote() for actor in self.actors])
        return merge_extras(extras, self.stage.summed)

    def describe(self) -> dict[str, Any]:
        o = self.options
        resources = self.ray.cluster_resources()
        return {
            "name": self.name,
            "workers": self.count,
            "cpus_per_worker": o.cpus_per_worker,
            "gpus_per_worker": o.num_gpus_per_worker,
            "address": o.ray_address or "local cluster",
            "cluster": {
                "nodes": sum(1 for n in self.ray.nodes() if n.get("Alive")),
                "cpus": resources.get("CPU", 0),
                "gpus": resources.get("GPU", 0),
            },
            "ray": self.ray.__version__,
            "startup_seconds": self.startup_seconds,
            "workers_replaced": self.replaced,
            "units_retried": self.retries,
        }

    def close(self, graceful: bool = True) -> None:
        """Each worker releases its stage (a backend's connections), then all are stopped.

        Not ``graceful`` (a failure, Ctrl-C): stopped at once; their processes end with them.
        """
        try:
            for actor in getattr(self, "actors", []) if graceful else []:
                with contextlib.suppress(Exception):  # a dead worker has nothing left to close
                    self.ray.get(actor.close.remote(), timeout=60)
        finally:
            self._stop()

    def _stop(self) -> None:
        for actor in [*getattr(self, "actors", []), *getattr(self, "retired", [])]:
            with contextlib.suppress(Exception):
                self.ray.kill(actor)
        if self.initialized:
            self.ray.shutdown()
