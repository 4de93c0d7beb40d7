"""The line every sidecar stage prints when it ends (or finds nothing to do)."""

from __future__ import annotations

from curate.runner import StageResult


def stage_done(result: StageResult, quiet: bool, detail: str, unit: str = "conversations") -> None:
    """``NAME: N conversations, DETAIL; W s (R/s)``, after a note when nothing was to do."""
    if quiet:
        return
    from curate.progress import report_console

    console = report_console()
    if result.already_done:
        console.print(
            f"[yellow]{result.name} is already complete with these options: nothing to do[/]"
        )
    elif result.rebuilt_stale:
        console.print(
            f"[yellow]{result.name}: its inputs had changed since it was built: rebuilt[/]"
        )
    wall = result.wall_seconds
    rate = f" ({result.rows / wall:,.1f} {unit}/s)" if wall else ""
    console.print(f"[bold]{result.name}[/]: {result.rows:,} {unit}, {detail}; {wall:.1f} s{rate}")


def status_counts(result: StageResult) -> str:
    """``ok 11,536, no_assistant_reply 4``: the rows per status a scoring stage counted."""
    return ", ".join(f"{k} {v:,}" for k, v in result.counts.get("status", {}).items())
