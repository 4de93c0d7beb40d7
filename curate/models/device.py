"""Where a model runs and in which precision: ``--device`` and ``--dtype``, and the usable CPU cores.

``auto`` means the GPU when there is one (bf16 where it supports it, else fp16)
and the CPU otherwise (fp32). Asking for CUDA on a machine without it is a
:class:`~curate.errors.CurateError`, not a traceback from deep inside torch.
"""

from __future__ import annotations

import os
from typing import Any

from curate.errors import CurateError

DTYPES = {"bf16": "bfloat16", "bfloat16": "bfloat16", "fp16": "float16", "float16": "float16"}
DTYPES |= {"fp32": "float32", "float32": "float32"}


#: the CPU share of this process when it is one of several workers on a machine (a Ray
#: worker sets it to its ``--cpus-per-worker``): every thread pool sizes itself by it
THREADS_ENV = "CURATE_THREADS"


def cpu_count() -> int:
    """CPU cores this process may use: its worker share, else its affinity mask."""
    share = os.environ.get(THREADS_ENV, "")
    if share.isdigit() and int(share) > 0:
        return int(share)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resolve_device(device: str | None) -> str:
    """``None``/``auto``: ``cuda`` when available, else ``cpu``; a CUDA device must exist."""
    import torch

    if device in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise CurateError(f"--device {device}: CUDA is not available on this machine")
    return device


def resolve_dtype(dtype: str | None, device: str) -> Any:
    """A torch dtype; ``auto``: bf16 on a GPU that supports it (else fp16), fp32 on CPU."""
    import torch

    if dtype in (None, "", "auto"):
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    if dtype not in DTYPES:
        raise CurateError(f"--dtype {dtype}: choose auto, bf16, fp16 or fp32")
    return getattr(torch, DTYPES[dtype])
