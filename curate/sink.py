"""What every sink (``curate select``, ``curate pairs``) does with its output folder.

A sink writes a folder of its own beside the store, never the store, a folder inside
one of its tables, a folder above it, or the current directory (:func:`check_output`).
Two runs never write one folder at once (:func:`output_lock`). The output is staged
beside its final place and swapped in whole (:func:`swap_in`), and ``report.json``
lists the files the sink wrote (:func:`files_of`), so that a later run replaces only
those and never a file that curate did not write.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curate import names
from curate.errors import CurateError, InputError
from curate.store import Store, files

REPORT = "report.json"

# what a store holds at its top level (curate/store/store.py); a sink never writes there
STORE_ENTRIES = frozenset(
    {
        "store.json",
        ".lock",
        "base",
        "rejects",
        "duplicates",
        "sidecars",
        "manifests",
        "journal",
        "tags",
        "judge",
        "generate",
    }
)


def store_inputs(store: Store, sidecars: list[str]) -> dict[str, str]:
    """What a sink's output is made from: the base table and each sidecar's fingerprint and
    finish time (the base of an ingested or a generated store alike)."""
    base = store.base_manifest() or {}
    inputs = {"base": base.get("fingerprint")}
    for name in sidecars:
        manifest = store.manifest(names.manifest_name(name)) or {}
        inputs[name] = f"{manifest.get('fingerprint')}@{manifest.get('finished')}"
    return inputs


def previous_report(output: Path) -> dict[str, Any] | None:
    """The ``report.json`` in ``output`` as a dict, or None (none, unreadable, not an object)."""
    try:
        report = json.loads((output / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def files_of(
    previous: dict[str, Any] | None,
    required: Collection[str],
    kind: str | None = None,
    legacy: Callable[[dict[str, Any]], list[str]] | None = None,
) -> set[str] | None:
    """The names an earlier run of this sink wrote into its folder, or None: not its output.

    A report is this sink's when it holds every key of ``required`` (and, with ``kind``,
    says ``"kind": kind``). ``legacy(report)`` names the files of a report written before
    reports listed them.
    """
    if previous is None or not set(required) <= previous.keys():
        return None
    if kind is not None and previous.get("kind") != kind:
        return None
    listed = previous.get("files")
    if listed is None and legacy is not None:
        listed = legacy(previous)
    if not isinstance(listed, list):
        return None
    # plain names only: a report must not make a sink delete anything outside its folder
    return {
        name
        for name in listed
        if isinstance(name, str) and name not in ("", ".", "..") and "/" not in name
    } | {REPORT}


def check_output(store: Store, output: Path, what: str = "subset") -> Path:
    """Refuse an output folder that is the store, one of its tables, above it, the current
    directory, or a file. A folder of its own inside the store (``STORE/subset``) is fine.

    ``what`` names the output in the messages (and their example folder). Returns the
    folder to write (a symlink to a folder is followed).
    """
    real = output.resolve()
    root = store.root.resolve()
    if real == root or (root in real.parents and real.relative_to(root).parts[0] in STORE_ENTRIES):
        raise InputError(
            f"-o {output} is the store {store.root} or one of its tables; write the {what} to "
            f"a folder of its own, e.g. -o {store.root / what}"
        )
    if real in root.parents:
        raise InputError(
            f"-o {output} is a folder that holds the store {store.root}; name a new folder "
            f"for the {what}, e.g. -o {what}"
        )
    if real == Path.cwd().resolve():
        raise InputError(
            f"-o {output} is the current directory; name a new folder for the {what}, "
            f"e.g. -o {what}"
        )
    if output.exists() and not output.is_dir():
        raise InputError(f"-o {output} is a file; name a folder for the {what}")
    return real if output.is_symlink() else output.absolute()


def require_datasets() -> None:
    """``--hf`` writes a Hugging Face ``datasets`` folder: refuse early when it cannot."""
    try:
        import datasets  # noqa: F401
    except ImportError:
        raise CurateError(
            "--hf needs the `datasets` package: pip install datasets (or the `train` extra)"
        ) from None


def output_lock(output: Path, who: str = "selection"):
    """An exclusive lock on the output folder (``.<name>.lock`` beside it), removed at the end.

    Fails at once, with a clear error, when another run (``who``) holds it. Every sink
    takes the same lock file, so a selection and a pairs run cannot write one folder
    either.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    return files.exclusive_lock(
        output.parent / f".{output.name}.lock",
        busy=lambda owner: (
            f"{output} is being written by another {who} ({owner}); wait "
            "for it to finish, or choose another -o"
        ),
        remove=True,
    )


def swap_in(staging: Path, output: Path, ours: set[str] | None = None) -> None:
    """Move the finished ``staging`` folder's files into ``output``.

    A folder that holds only files an earlier run wrote (``ours``) is replaced whole by
    two renames. Otherwise (an empty folder of the user's, or other files beside an
    earlier run's) only the new files go in and only the earlier run's files go out;
    ``report.json`` is written last.
    """
    old = output.with_name(f".{output.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if not output.exists():
        staging.rename(output)
        return
    present = set(os.listdir(output))
    ours = ours or set()
    if present and present <= ours and not output.is_symlink():
        output.rename(old)
        staging.rename(output)
        shutil.rmtree(old, ignore_errors=True)
        return
    new = set(os.listdir(staging))
    clash = (present - ours) & new
    if clash:  # checked before the output was made; the folder changed since
        raise CurateError(
            f"{output} holds {', '.join(sorted(clash))}, which curate did not write; "
            "move them away or choose another -o"
        )
    if REPORT in present:  # until the swap is done, the report names every file of ours
        previous = previous_report(output) or {}
        previous["files"] = sorted((ours & present) | new)
        (staging / f".{REPORT}.next").write_text(json.dumps(previous, ensure_ascii=False))
        os.replace(staging / f".{REPORT}.next", output / REPORT)
    old.mkdir()
    for name in sorted(new - {REPORT}) + [REPORT]:
        if (output / name).exists():
            os.rename(output / name, old / name)
        os.rename(staging / name, output / name)
    for name in sorted((ours & present) - new):
        if (output / name).exists():
            os.rename(output / name, old / name)
    shutil.rmtree(old, ignore_errors=True)
    staging.rmdir()


@dataclass(frozen=True)
class Words:
    """How a sink's refusals name things: ``a curate selection``, ``another selection``,
    ``this selection`` and the command that writes its report."""

    output: str
    other: str
    this: str
    command: str


@dataclass(frozen=True)
class Claim:
    """What an output folder holds for a sink: the files an earlier run of it wrote (None:
    the folder is empty or new), and that run's report when it is this very run."""

    ours: set[str] | None
    done: dict[str, Any] | None


def claim(
    output: Path,
    *,
    options: dict[str, Any],
    inputs: dict[str, str],
    written: list[str],
    overwrite: bool,
    ours_of: Callable[[dict[str, Any] | None], set[str] | None],
    words: Words,
) -> Claim:
    """May this run write ``output``? Refuses a non-empty folder that is not this sink's, one
    of another run without ``overwrite``, and one holding files curate did not write that this
    run would replace. ``done`` is set when the folder already holds this run (same options
    and store results, every file present): nothing to do.
    """
    present = set(os.listdir(output)) if output.is_dir() else set()
    previous = previous_report(output) if present else None
    ours = ours_of(previous)
    if present and ours is None:
        raise CurateError(
            f"{output} is not empty and is not {words.output} (no {REPORT} written by "
            f"`{words.command}`); refusing to write into it: choose a new or empty folder for -o"
        )
    wanted = json.loads(json.dumps(options))
    if (
        previous is not None
        and previous.get("options") == wanted
        and previous.get("inputs") == inputs
        and all((output / name).exists() for name in written)
    ):
        return Claim(ours, previous)
    if present and not overwrite:
        raise CurateError(
            f"{output} holds {words.other}; pass --overwrite to replace it, or choose another -o"
        )
    clash = (present - (ours or set())) & set(written)
    if clash:
        raise CurateError(
            f"{output} holds {', '.join(sorted(clash))}, which curate did not write and "
            f"{words.this} would overwrite; move them away or choose another -o"
        )
    return Claim(ours, None)
