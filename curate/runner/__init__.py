"""The stage runner: one place for locking, fingerprints, resume, manifests, counts and progress.

A stage is a :class:`Stage` declaration (its sidecar name, parameters, what it
reads, and ``compute_shard`` or ``compute_all``); :func:`run_stage` does the rest
on an engine (``local``: in this process). See DESIGN.md, "The stage runner and
its engines".
"""

from curate.runner.freshness import build_id, is_complete, sidecar_state, stale_inputs
from curate.runner.run import run_stage
from curate.runner.stage import Stage, StageResult

__all__ = [
    "Stage",
    "StageResult",
    "build_id",
    "is_complete",
    "run_stage",
    "sidecar_state",
    "stale_inputs",
]
