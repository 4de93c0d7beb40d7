"""Model weights curate agrees to load: safetensors only (pickled weights can run code).

Shared by the sentence embedders, the reward scorers and the generation backends.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from curate.errors import CurateError

UNSAFE_WEIGHTS = ("*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl")


def refuse_pickled(directory: Path, recursive: bool = False) -> None:
    """A clear error when ``directory`` holds pickled weights and no safetensors."""
    find = directory.rglob if recursive else directory.glob
    if any(find("*.safetensors")):
        return
    pickled = sorted(
        str(p.relative_to(directory)) for pattern in UNSAFE_WEIGHTS for p in find(pattern)
    )
    if pickled:
        raise CurateError(
            f"{directory} holds its weights as {', '.join(pickled[:3])}, not safetensors; curate only "
            "loads safetensors (pickled weights can run code): convert the model and save it with "
            "safetensors"
        )


def safetensors_sha256(files: Iterable[Path], names: bool = False) -> str:
    """SHA-256 over the given weight files' bytes (and, with ``names``, their file names)."""
    digest = hashlib.sha256()
    for path in files:
        if names:
            digest.update(path.name.encode())
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 24), b""):
                digest.update(block)
    return digest.hexdigest()
