"""The end-of-ingest summary: a per-file table and the reconciliation."""

from __future__ import annotations

import os

from rich.console import Console
from rich.table import Table

from curate.ingest.pipeline import FileStats, IngestResult


def _reasons(stats: FileStats, limit: int = 3) -> str:
    top = stats.rejected.most_common()
    text = ", ".join(f"{reason} {n:,}" for reason, n in top[:limit])
    return text + (f", +{len(top) - limit} more" if len(top) > limit else "")


def _common_root(files: list[str]) -> str:
    if len(files) < 2:
        return os.path.dirname(files[0]) if files else ""
    return os.path.commonpath([os.path.dirname(f) or "." for f in files])


def reconciliation_line(stats: FileStats) -> str:
    reasons = ", ".join(f"{r} {n:,}" for r, n in stats.rejected.most_common())
    check = "✓" if stats.balanced else "✗ MISMATCH"
    return (
        f"read {stats.read:,} = ingested {stats.ingested:,} + exact duplicates {stats.duplicates:,}"
        f" + rejected {stats.rejected_total:,}"
        + (f" ({reasons})" if reasons else "")
        + f"  {check}"
    )


def _joins(files: list[FileStats], root: str) -> list[str]:
    """``question.jsonl <- 13 answer files`` per question file that answer files joined."""
    by_question: dict[str, list[str]] = {}
    for s in files:
        if s.questions:
            by_question.setdefault(s.questions, []).append(s.file)
    out = []
    for question, answers in by_question.items():
        shown = (
            os.path.relpath(question, root)
            if root and os.path.isabs(question) == os.path.isabs(root)
            else question
        )
        if len(answers) == 1:
            name = os.path.relpath(answers[0], root) if root else answers[0]
            out.append(f"{name} <- {shown}")
        else:
            out.append(f"{len(answers)} answer files <- {shown}")
    return out


def render(result: IngestResult, console: Console) -> None:
    root = _common_root([s.file for s in result.files])
    table = Table(title=f"ingest into {result.store}", title_justify="left", show_lines=False)
    table.add_column("file" + (f" (in {root}/)" if root else ""), overflow="fold")
    table.add_column("layout / format")
    for col in ("read", "ingested", "dups", "rejected"):
        table.add_column(col, justify="right")
    table.add_column("reject reasons", overflow="fold")
    for s in result.files:
        name = os.path.relpath(s.file, root) if root else s.file
        table.add_row(
            name,
            f"{s.layout} / {s.format}",
            f"{s.read:,}",
            f"{s.ingested:,}",
            f"{s.duplicates:,}" if s.duplicates else "",
            f"{s.rejected_total:,}" if s.rejected_total else "",
            _reasons(s),
            style=None if s.balanced else "bold red",
        )
    totals = result.totals
    table.add_section()
    table.add_row(
        f"total ({len(result.files)} files)",
        "",
        f"{totals.read:,}",
        f"{totals.ingested:,}",
        f"{totals.duplicates:,}",
        f"{totals.rejected_total:,}",
        "",
        style="bold",
    )
    console.print(table)
    console.print(f"[bold]reconciliation[/]: {reconciliation_line(totals)}")
    joins = _joins(result.files, root)
    if joins:
        console.print("[bold]joined with question files[/]: " + "; ".join(joins))
    if totals.preference:
        console.print(
            f"[bold]preference records[/]: {totals.preference:,} — the chosen conversation is ingested; "
            "the rejected answer is kept in column `rejected`"
        )
    if result.langs:
        console.print(
            "[bold]languages[/]: " + ", ".join(f"{k} {v:,}" for k, v in result.langs.items())
        )
    if result.flags:
        console.print("[bold]flags[/]: " + ", ".join(f"{k} {v:,}" for k, v in result.flags.items()))
    if result.skipped:
        console.print(
            f"[dim]skipped {len(result.skipped)} non-data files (README, licences, .tsv, ...)[/]"
        )
    if result.already_done:
        console.print("[yellow]already ingested with these inputs and options: nothing to do[/]")
    else:
        rate = totals.read / result.wall_seconds if result.wall_seconds else 0
        resumed = (
            f", resumed at shard {result.resumed_from_shard}" if result.resumed_from_shard else ""
        )
        console.print(f"[dim]{result.wall_seconds:.1f} s, {rate:,.0f} records/s{resumed}[/]")
