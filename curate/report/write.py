"""Writing the report file: collected, rendered, and swapped in whole.

A file at the output path is replaced only when ``curate report`` wrote it (its
generator mark) or with ``overwrite``: a command never overwrites a file it did not write.
"""

from __future__ import annotations

from pathlib import Path

from curate.errors import InputError
from curate.report.collect import collect
from curate.report.page import GENERATOR, render
from curate.store import Store, files


def ours(path: Path) -> bool:
    with open(path, "rb") as fh:
        return GENERATOR.encode() in fh.read(4096)


def write_report(
    store: Store,
    output: Path,
    subset: Path | None = None,
    sample: int = 2000,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write the report of ``store`` (and ``subset``) to ``output``; returns the path."""
    if output.is_dir():
        raise InputError(f"-o {output} is a folder; name the HTML file to write")
    if output.exists() and not overwrite and not ours(output):
        raise InputError(
            f"{output} exists and curate report did not write it; choose another -o, or pass "
            "--overwrite to replace it"
        )
    if subset is not None and not (subset / "report.json").is_file():
        raise InputError(
            f"--subset {subset} has no report.json: give curate select's output folder"
        )
    page = render(collect(store, subset, sample, seed))
    files.write_bytes_atomic(output, page.encode("utf-8"))
    return output
