"""Rich progress bars on stderr for long loops (items/s and ETA).

The bars refresh from the caller's thread (at most ``REFRESH_HZ`` times a second)
instead of rich's background thread, so a stage may fork worker processes while
a bar is shown.

Output that does not go to a terminal (a log file, a pipe, a CI job, captured test
output) is never wrapped at a width: its consoles soft-wrap and are
:data:`LOG_WIDTH` wide, so each message stays on one line whatever the length of
the paths in it, ``COLUMNS`` or the size of the terminal the command was started
from, and logs can be grepped line by line. On a terminal, rich fits the output to
the window as usual.
"""

from __future__ import annotations

import sys
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
#: Width of a console that does not write to a terminal: wider than any table of ours,
#: so that only a terminal's window ever wraps a line (text itself is soft-wrapped).
LOG_WIDTH = 1 << 14
_console: tuple[object, Console] | None = None


def _is_tty(stream: object) -> bool:
    """Whether ``stream`` is a terminal (not rich's guess, which FORCE_COLOR sways)."""
    try:
        return bool(stream.isatty())  # type: ignore[attr-defined]
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def make_console(stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that wraps lines only on a terminal.

    Not a terminal: soft wrap and :data:`LOG_WIDTH` columns, so one message is one
    line. Colours still follow rich's rules (``NO_COLOR``, ``FORCE_COLOR``); Jupyter
    keeps rich's own width.
    """
    default = Console(stderr=stderr)
    if default.is_jupyter or _is_tty(sys.stderr if stderr else sys.stdout):
        return default
    return Console(stderr=stderr, width=LOG_WIDTH, soft_wrap=True)


def console() -> Console:
    """The stderr console shared by progress bars and summaries.

    One per stderr stream: a new one when ``sys.stderr`` is replaced (a test
    runner capturing output), so that it is a terminal's console only on a terminal.
    """
    global _console
    stream = sys.stderr
    if _console is None or _console[0] is not stream:
        _console = (stream, make_console(stderr=True))
    return _console[1]


def report_console() -> Console:
    """A stdout console for end-of-stage summaries; see :func:`make_console`."""
    return make_console(stderr=False)


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

        def set_total(units: float) -> None:
            """The total once it is known (it was an estimate, or None)."""
            progress.update(task, total=units)

        advance.set_total = set_total  # type: ignore[attr-defined]
        yield advance
        progress.refresh()
