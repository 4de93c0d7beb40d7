"""Rich progress bars on stderr for long loops (items/s and ETA).

The bars refresh from the caller's thread (at most ``REFRESH_HZ`` times a second)
instead of rich's background thread, so a stage may fork worker processes while
a bar is shown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

REFRESH_HZ = 8
_console: Console | None = None


def console() -> Console:
    """The stderr console shared by progress bars and summaries."""
    global _console
    if _console is None:
        _console = Console(stderr=True)
    return _console


def report_console() -> Console:
    """A stdout console for end-of-stage summaries; wide when not a terminal (logs, CI)."""
    out = Console()
    return out if out.is_terminal else Console(width=160)


class ItemsColumn(ProgressColumn):
    """``12,345 records  8,901/s``: a count and a rate that need not be the bar's unit."""

    def __init__(self, unit: str, field: str = "items"):
        super().__init__()
        self.unit = unit
        self.field = field

    def render(self, task: Task) -> Text:
        items = task.fields.get(self.field, 0)
        elapsed = max(time.monotonic() - task.fields.get("t0", time.monotonic()), 1e-9)
        return Text(f"{items:,} {self.unit}  {items / elapsed:,.0f}/s", style="progress.data.speed")


@contextmanager
def progress_bar(
    description: str,
    total: float | None,
    unit: str = "rows",
    enabled: bool = True,
    extra_unit: str | None = None,
) -> Iterator[Callable[..., None]]:
    """A bar over ``total`` units (bytes, rows, ...) that also counts items.

    Yields ``advance(units, items, extra=0)``; ``extra`` is a second count with its
    own rate (e.g. tokens), shown when ``extra_unit`` is given.
    """
    columns = [ItemsColumn(unit)] + ([ItemsColumn(extra_unit, "extra")] if extra_unit else [])
    progress = Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        *columns,
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console(),
        disable=not enabled,
        auto_refresh=False,
    )
    with progress:
        task = progress.add_task(description, total=total, items=0, extra=0, t0=time.monotonic())
        count = extra_count = 0
        last = 0.0

        def advance(units: float, items: int, extra: int = 0) -> None:
            nonlocal count, extra_count, last
            count += items
            extra_count += extra
            progress.update(task, advance=units, items=count, extra=extra_count)
            now = time.monotonic()
            if now - last >= 1 / REFRESH_HZ:
                progress.refresh()
                last = now

        yield advance
        progress.refresh()
