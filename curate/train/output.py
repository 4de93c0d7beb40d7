"""The model folder of ``curate train``: its files, manifest, checkpoints and lock.

What a run may write, where (never into the base model, the data or the current
directory), which files are its own (those its manifest lists), and which checkpoint a
killed run resumes from: the rules that keep a rerun from touching files it did not write.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from curate.errors import InputError

MANIFEST = "curate_train.json"
CHECKPOINTS = "checkpoints"
STAGING = ".curate-train-final.partial"
FORMAT = 1
# names a save_pretrained of a model, adapter or tokenizer can write: a foreign file of one of
# these names is never replaced
MODEL_NAMES = (
    "config.json",
    "generation_config.json",
    "adapter_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "chat_template.json",
    "README.md",
    "vocab.json",
    "merges.txt",
    "added_tokens.json",
    MANIFEST,
    CHECKPOINTS,
)


def model_file_name(name: str) -> bool:
    """Whether saving a model, an adapter or a tokenizer could write a file of this name."""
    return (
        name in MODEL_NAMES
        or name.endswith((".safetensors", ".safetensors.index.json"))
        or name.startswith(("tokenizer", "adapter_", "model"))
    )


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(output: Path, model_directory: Path, data_path: Path) -> Path:
    """Refuse an output that is a file, the current directory, or holds or lies in the base model
    or the data."""
    if output.exists() and not output.is_dir():
        raise InputError(f"-o {output} is a file; name a folder for the model")
    real = output.resolve()
    if real == Path.cwd().resolve():
        raise InputError(f"-o {output} is the current directory; name a new folder for the model")
    base = model_directory.resolve()
    if _inside(real, base) or _inside(base, real):
        raise InputError(
            f"-o {output} is (or holds, or lies in) the base model's folder {model_directory}; "
            "write the fine-tuned model to a folder of its own"
        )
    data = data_path.resolve()
    if _inside(real, data) or _inside(data, real):
        raise InputError(
            f"-o {output} is (or holds, or lies in) the training data {data_path}; write the "
            "model to a folder of its own"
        )
    return real if output.is_symlink() else output.absolute()


def output_lock(output: Path):
    """An exclusive lock beside the model folder (``.<name>.lock``), removed when done: the
    sinks' lock (:func:`curate.sink.output_lock`), so that no two runs write one folder."""
    from curate.sink import output_lock as sink_lock

    return sink_lock(output, who="training run")


def read_manifest(output: Path) -> dict[str, Any] | None:
    """The manifest of an earlier ``curate train`` in ``output``, or None."""
    try:
        manifest = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("kind") != "train":
        return None
    return manifest


def files_of(manifest: dict[str, Any] | None) -> set[str]:
    """The plain names a run lists as its own (never a path: nothing outside its folder)."""
    listed = (manifest or {}).get("files") or []
    return {
        n for n in listed if isinstance(n, str) and n not in ("", ".", "..") and "/" not in n
    } | ({MANIFEST} if manifest else set())


def remove(output: Path, names: Sequence[str]) -> None:
    for name in names:
        path = output / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def last_checkpoint(output: Path) -> Path | None:
    """The newest whole checkpoint (its trainer state written, as it is last); torn ones removed."""
    folder = output / CHECKPOINTS
    if not folder.is_dir():
        return None
    found: list[tuple[int, Path]] = []
    for path in folder.iterdir():
        name = path.name
        if not (path.is_dir() and name.startswith("checkpoint-") and name[11:].isdigit()):
            continue
        try:
            state = json.loads((path / "trainer_state.json").read_text(encoding="utf-8"))
            whole = int(state.get("global_step", -1)) == int(name[11:])
        except (OSError, ValueError, TypeError):
            whole = False
        if whole:
            found.append((int(name[11:]), path))
        else:
            shutil.rmtree(path, ignore_errors=True)
    return max(found)[1] if found else None


def checkpoint_tokens(checkpoint: Path | None) -> int:
    """Tokens seen up to a checkpoint (0 without one)."""
    if checkpoint is None:
        return 0
    try:
        state = json.loads((checkpoint / "trainer_state.json").read_text(encoding="utf-8"))
        return int(state.get("num_input_tokens_seen") or 0)
    except (OSError, ValueError, TypeError):
        return 0
