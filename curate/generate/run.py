"""``run_generate``: sample answers for the prompts of one store into a new store.

The steps, each resumable:

1. the prompt table (:mod:`curate.generate.prompts`), inside the new store;
2. the samples, chunk by chunk, through the stage runner
   (:mod:`curate.generate.sampling`); a killed run loses one chunk at most;
3. the new store's base table (:mod:`curate.generate.materialize`) and its
   ``generate`` manifest, written last: the store is complete only then.

The new store is an ordinary store (score, judge, dedup, select and pairs read it).
A rerun with the same source, model and options is nothing to do; other options
refuse unless ``overwrite``, and a store that ``curate ingest`` wrote is never
written into.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate.errors import InputError, StageConflict
from curate.generate import materialize as mat
from curate.generate.prompts import build_prompt_store, prompts_root
from curate.generate.sampling import SamplingOptions, samples_stage
from curate.llm.base import GenerationBackend
from curate.runner import Loaded, run_stage, start_workers
from curate.store import Store
from curate.store.manifest import environment, fingerprint, now_iso

STAGE = "generate"


@dataclass(frozen=True)
class GenerateOptions:
    sampling: SamplingOptions = SamplingOptions()
    max_prompts: int | None = None  # the first N prompts in base order (a trial run)
    chunk_prompts: int = 64  # prompts per checkpoint


@dataclass
class GenerateResult:
    store: Path
    manifest: dict[str, Any]
    already_done: bool = False

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest["counts"]


def check_into(source: Store, into: Path) -> None:
    """Refuse ``--into`` that is the source store, inside it, or a store of ingested data."""
    real, root = into.resolve(), source.root.resolve()
    if real == root or root in real.parents or real in root.parents:
        raise InputError(
            f"--into {into} is the store {source.root}, inside it or above it; "
            "name a new folder for the generated store, e.g. --into runs/samples"
        )
    existing = Store(into)
    if (into / "store.json").is_file() and existing.manifest("ingest") is not None:
        raise InputError(
            f"--into {into} holds ingested data; generate writes a store of its own: "
            "name a new folder"
        )


def run_generate(
    source: Store,
    into_path: str | Path,
    backend: GenerationBackend,
    options: GenerateOptions,
    overwrite: bool = False,
    progress=None,
    planned=None,
    engine: Any = None,
) -> GenerateResult:
    """Sample ``options.sampling.n`` answers per prompt of ``source`` into ``into_path``.

    ``backend`` is loaded where the samples are made: here, or in each Ray worker
    (``engine``); its identity, as the workers report it, is part of the fingerprint.
    ``progress(prompts, tokens)`` is called as chunks finish, ``planned(prompts)`` once the
    prompts are counted.
    """
    source.require_base()
    into_path = Path(into_path)
    check_into(source, into_path)
    recipe = Loaded(backend, samples_stage, (options.sampling, options.chunk_prompts))
    with start_workers(recipe, engine) as workers:
        return _generate(source, into_path, workers, options, overwrite, progress, planned)


def _generate(source, into_path, workers, options, overwrite, progress, planned) -> GenerateResult:
    started = time.perf_counter()
    sampling = options.sampling.record()
    backend_params, identity = (workers.stage.params[k] for k in ("backend", "identity"))
    wanted = fingerprint(
        {
            "source": source.base_manifest()["fingerprint"],
            "max_prompts": options.max_prompts,
            "sampling": sampling,
            "backend": backend_params,
            "identity": identity,
        }
    )
    into = Store.create(into_path)
    with into.lock():
        previous = into.manifest(STAGE)
        started_run = into.manifest("generate.running")
        if previous is not None and previous.get("fingerprint") == wanted:
            return GenerateResult(into.root, previous, already_done=True)
        other = previous or (
            started_run if started_run and started_run.get("fingerprint") != wanted else None
        )
        if other is not None:
            if not overwrite:
                what = "a generation" if previous else "an unfinished generation"
                raise StageConflict(
                    f"{into.root} holds {what} with another source, model or options "
                    f"({(other.get('params') or {}).get('sampling')}); pass --overwrite to "
                    "replace it (this deletes the stages run on it too), or choose another --into"
                )
            into.clear()
        into.write_manifest("generate.running", {"fingerprint": wanted, "started": now_iso()})
        prompts, prompt_counts = build_prompt_store(source, prompts_root(into), options.max_prompts)
        if planned is not None:
            planned(prompt_counts["prompts"])
        result = run_stage(prompts, workers, overwrite=True, progress=progress)
        counts = mat.materialize(
            into, prompts, str(source.root), mat.sample_meta(identity, sampling, source.root)
        )
        manifest = _manifest(into, source, wanted, options, prompt_counts, result, counts, started)
        into.write_manifest(STAGE, manifest)
        into.remove_manifest("generate.running")
    return GenerateResult(into.root, manifest)


def _manifest(into, source, wanted, options, prompt_counts, samples, counts, started) -> dict:
    """The ``generate`` manifest; the backend as the sampling stage recorded it."""
    sample_counts = samples.counts
    stage_params = samples.manifest["params"]
    failed = {k.split(":", 1)[1]: v for k, v in sorted(counts.items()) if k.startswith("failed:")}
    requested = prompt_counts["prompts"] * options.sampling.n
    total_failed = sum(failed.values())
    if counts["generated"] + counts["duplicates"] + total_failed != requested:  # a bug
        raise AssertionError(f"generate: samples do not add up ({dict(counts)}, {requested})")
    table = into.read(columns=["lang"])
    langs = Counter(table.column("lang").to_pylist())
    wall = time.perf_counter() - started
    tokens = int(sample_counts.get("tokens", 0))
    return {
        "stage": STAGE,
        "status": "complete",
        "fingerprint": wanted,
        "params": {
            "sampling": options.sampling.record(),
            "max_prompts": options.max_prompts,
            "chunk_prompts": options.chunk_prompts,
            "backend": stage_params["backend"],
        },
        "identity": samples.manifest.get("backend_identity", stage_params["identity"]),
        "engine": samples.manifest.get("engine", {"name": "local"}),
        "source": {"store": str(source.root), "base": source.base_manifest()["fingerprint"]},
        "counts": {
            "source_rows": prompt_counts["source_rows"],
            "prompts": prompt_counts["prompts"],
            "rows_without_own_prompt": prompt_counts["skipped"],
            "samples_requested": requested,
            "generated": counts["generated"],
            "duplicates": counts["duplicates"],
            "failed": total_failed,
            "failed_by_reason": failed,
            "cut_off": counts["cut_off"],
            "prompt_tokens": int(sample_counts.get("prompt_tokens", 0)),
            "completion_tokens": tokens,
            "shards": into.num_shards,
            "lang": dict(sorted(langs.items(), key=lambda kv: (-kv[1], str(kv[0])))),
        },
        "finished": now_iso(),
        "wall_seconds": round(wall, 3),
        "completion_tokens_per_second": round(tokens / wall, 1) if wall > 0 else None,
        "environment": environment(),
    }
