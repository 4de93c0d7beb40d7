"""Find a model's files (a local directory or a hub id) and say which model it is.

Only configuration, tokenizer and ``*.safetensors`` files are ever fetched:
pickled weights (``*.bin``) can run code when loaded, so a model without
safetensors is refused. ``HF_HUB_OFFLINE=1`` is respected; missing weights
give one clear error instead of a network traceback.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from curate.errors import CurateError
from curate.models.weights import refuse_pickled, safetensors_sha256

ALLOWED_FILES = ["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "tokenizer*"]


def model_dir(ref: str, revision: str | None = None) -> Path:
    """The local directory holding ``ref``: the path itself, or a hub snapshot (downloaded if allowed)."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return path
    if path.exists() or ref.startswith((".", "/", "~")) or ref.count("/") != 1:
        raise CurateError(
            f"model {ref!r} is neither a local directory nor a hub id (owner/name); "
            "give a directory with config.json and safetensors weights, or a preset"
        )
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    try:
        local = snapshot_download(
            ref, revision=revision, allow_patterns=ALLOWED_FILES, local_files_only=offline
        )
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError, ValueError) as exc:
        why = (
            "HF_HUB_OFFLINE=1 and it is not in the local cache"
            if offline
            else str(exc).splitlines()[0]
        )
        raise CurateError(
            f"cannot get model {ref!r}: {why}; download it on a machine with access "
            f"(huggingface-cli download {ref} --include '*.safetensors' '*.json' 'tokenizer*') "
            "and pass its local directory"
        ) from None
    return Path(local)


def weight_files(directory: Path) -> list[Path]:
    """The safetensors files of a model directory; refuses pickled weights."""
    refuse_pickled(directory)
    files = sorted(directory.glob("*.safetensors"))
    if not files:
        raise CurateError(f"{directory} has no *.safetensors weights")
    return files


def read_config(directory: Path) -> dict[str, Any]:
    path = directory / "config.json"
    if not path.is_file():
        raise CurateError(f"{directory} has no config.json: not a transformers model directory")
    return json.loads(path.read_text())


def model_identity(ref: str, directory: Path) -> dict[str, Any]:
    """What a manifest records to tell this model from any other.

    A hub snapshot is named by its commit (the snapshot directory's name); a local
    directory by the SHA-256 of its safetensors files.
    """
    ident: dict[str, Any] = {"model": ref}
    if directory.parent.name == "snapshots" and not Path(ref).expanduser().is_dir():
        ident["revision"] = directory.name
        return ident
    ident["safetensors_sha256"] = safetensors_sha256(weight_files(directory), names=True)
    return ident


def check_model_directory(
    directory: Path,
    markers: tuple[str, ...] = ("config.json",),
    recursive: bool = False,
    kind: str = "transformers",
) -> None:
    """A clear :class:`CurateError` unless ``directory`` looks like a ``kind`` model directory.

    It must hold one of ``markers`` (``config.json``; a sentence-transformers model
    ``modules.json``) and ``*.safetensors`` weights (in subfolders too with
    ``recursive``); pickled weights are refused. Checked before any library is
    handed the directory, so that a wrong path is one line, not a traceback.
    """
    needs = f"{' or '.join(markers)} and *.safetensors weights"
    if not any((directory / marker).is_file() for marker in markers):
        names = sorted(p.name + ("/" if p.is_dir() else "") for p in directory.iterdir())
        holds = (
            "it is empty"
            if not names
            else f"it holds {', '.join(names[:4])}{', ...' if len(names) > 4 else ''}"
        )
        raise CurateError(
            f"{directory} is not a {kind} model directory ({holds}): a model directory needs "
            f"{needs}; give such a directory (as saved by save_pretrained), a hub id or a preset"
        )
    refuse_pickled(directory, recursive=recursive)
    find = directory.rglob if recursive else directory.glob
    if not any(find("*.safetensors")):
        raise CurateError(
            f"{directory} has no *.safetensors weights: a {kind} model directory needs {needs}"
        )
