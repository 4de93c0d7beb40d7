"""Run a command and sample the peak resident memory of its whole process tree."""

from __future__ import annotations

import contextlib
import subprocess
import time

import psutil


def run_measured(
    cmd: list[str], interval: float = 0.02, env: dict[str, str] | None = None
) -> tuple[float, int]:
    """Wall seconds and peak RSS bytes (main process plus children) of ``cmd``; raises on failure."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env)
    parent = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(
                peak, sum(p.memory_info().rss for p in [parent, *parent.children(recursive=True)])
            )
        time.sleep(interval)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return wall, peak
