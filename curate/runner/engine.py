"""Engines: where a per-shard stage's work runs, and the options that choose one.

An engine turns a stage (a :class:`~curate.runner.stage.Stage`, or a recipe that
builds one with its model loaded) into :class:`Workers`: the declaration the
driver records, and ``run_shards`` that computes every pending shard into the
sidecar writer. The driver always reads the store and writes the sidecar, so
locking, checkpoints and the bytes of each file are the same on every engine.

``local`` computes in this process (:mod:`curate.runner.local`); ``ray`` on actors of a
Ray cluster, one model load per actor (:mod:`curate.runner.ray_engine`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import click

from curate.errors import InputError
from curate.options import option
from curate.runner.stage import Progress, Stage, StageRecipe

ENGINES = ("local", "ray")


@dataclass(frozen=True)
class EngineOptions:
    """``--engine`` and the Ray engine's resources (ignored by ``local``)."""

    engine: str = option(
        "local",
        "Where per-shard work runs: local (this process) or ray (actors of a Ray cluster, one "
        "model load each).",
        type=click.Choice(ENGINES),
    )
    workers: int | None = option(
        None,
        "Ray: worker actors [default: one per GPU with --num-gpus-per-worker, else as many as "
        "the cluster's CPUs hold at --cpus-per-worker].",
        type=click.IntRange(min=1),
    )
    num_gpus_per_worker: float = option(
        0.0,
        "Ray: GPUs per worker (1: one worker per GPU; 0.5: two share one).",
        type=click.FloatRange(min=0),
    )
    cpus_per_worker: float = option(
        1.0,
        "Ray: CPUs per worker (also its torch threads).",
        type=click.FloatRange(min=0.01),
    )
    ray_address: str | None = option(
        None,
        "Ray: a running cluster (auto, or ray://HEAD:10001) [default: a local cluster is "
        "started for this run and stopped after it].",
    )
    max_retries: int = option(
        2,
        "Ray: times a failed shard (or chunk) is retried before the stage fails.",
        type=click.IntRange(min=0),
    )

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise InputError(
                f"unknown --engine {self.engine!r}; choose one of {', '.join(ENGINES)}"
            )


LOCAL = EngineOptions()


class Workers(Protocol):
    """A stage made ready to run on an engine."""

    #: the declaration as the driver sees it (params, schema, counts ...)
    stage: Stage

    def run_shards(self, store: Any, writer: Any, progress: Progress | None) -> None: ...

    def extra(self) -> dict[str, Any]: ...

    def describe(self) -> dict[str, Any]: ...

    def close(self, graceful: bool = True) -> None: ...


def engine_options(value: EngineOptions | Mapping[str, Any] | str | None) -> EngineOptions:
    """``None``, an engine name, a mapping of :class:`EngineOptions` fields, or the options."""
    if value is None:
        return LOCAL
    if isinstance(value, EngineOptions):
        return value
    if isinstance(value, str):
        return EngineOptions(engine=value)
    return EngineOptions(**dict(value))


@contextmanager
def start_workers(
    stage: Stage | StageRecipe, engine: EngineOptions | Mapping[str, Any] | str | None = None
) -> Iterator[Workers]:
    """The stage made ready on its engine (models loaded); released on exit.

    A whole-store stage, or a stage given already built, runs here; a recipe runs on
    the engine chosen. The Ray engine needs a recipe: it builds the stage in each worker.
    """
    from curate.runner.local import LocalWorkers

    options = engine_options(engine)
    if isinstance(stage, Stage):
        if options.engine != "local" and stage.compute_all is None:
            raise TypeError(
                f"stage {stage.name!r} was given built; the {options.engine} engine needs its "
                "recipe (curate.runner.Loaded) to build it in each worker"
            )
        workers: Any = LocalWorkers(stage)
    elif options.engine == "ray":
        from curate.runner.ray_engine import RayWorkers

        workers = RayWorkers(stage, options)
    else:
        workers = LocalWorkers(stage())
    try:
        yield workers
    except BaseException:  # a failure or Ctrl-C: stop the workers now, without waiting on them
        workers.close(graceful=False)
        raise
    workers.close()


def merge_extras(extras: list[dict[str, Any]], summed: Sequence[str] = ()) -> dict[str, Any]:
    """The workers' ``extra()``: the first worker's, with the numbers under ``summed`` added up."""
    out = dict(extras[0]) if extras else {}
    for key in summed:
        values = [extra[key] for extra in extras if key in extra]
        if values:
            out[key] = _add(values)
    return out


def _add(values: list[Any]) -> Any:
    """Numbers summed, mappings key by key (recursively); anything else: the first."""
    if all(_number(v) for v in values):
        return sum(values)
    if all(isinstance(v, Mapping) for v in values):
        keys = dict.fromkeys(k for v in values for k in v)
        return {k: _add([v[k] for v in values if k in v]) for k in keys}
    return values[0]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
