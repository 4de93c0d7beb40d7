"""The stage runner: one place for locking, fingerprints, resume, manifests, counts and progress.

A stage is a :class:`Stage` declaration (its sidecar name, parameters, what it
reads, and ``compute_shard`` or ``compute_all``); :func:`run_stage` does the rest
on an engine (``local``: in this process; ``ray``: actors of a Ray cluster). See DESIGN.md, "The stage runner and
its engines".
"""

from curate.runner.engine import ENGINES, EngineOptions, start_workers
from curate.runner.freshness import build_id, is_complete, sidecar_state, stale_inputs
from curate.runner.run import run_stage
from curate.runner.stage import Loaded, Stage, StageRecipe, StageResult

__all__ = [
    "ENGINES",
    "EngineOptions",
    "Loaded",
    "Stage",
    "StageRecipe",
    "StageResult",
    "start_workers",
    "build_id",
    "is_complete",
    "run_stage",
    "sidecar_state",
    "stale_inputs",
]
