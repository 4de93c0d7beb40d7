"""CLI output that is not on a terminal keeps one line per message, whatever COLUMNS or path lengths.

Logs, CI jobs and tests read the output of ``curate`` line by line; a message
wrapped at the width of some terminal (``COLUMNS``, or 80 by default) or split
because a path in it is long would make them depend on the machine.
"""

import io
import sys

import pytest
from click.testing import CliRunner

from curate import progress
from curate.cli import cli
from tests.conftest import write_jsonl

# a narrow terminal's width; and no colour codes, which FORCE_COLOR (set by some CI) would add
NARROW = {"COLUMNS": "40", "FORCE_COLOR": None, "TTY_COMPATIBLE": None, "TTY_INTERACTIVE": None}


@pytest.fixture
def deep(tmp_path):
    """A directory whose path is longer than any terminal is wide (> 250 characters)."""
    path = tmp_path.joinpath(
        *[f"a-rather-long-directory-name-for-portability-{i}" for i in range(5)]
    )
    path.mkdir(parents=True)
    assert len(str(path)) > 250
    return path


def lines_of(output):
    return [line.rstrip() for line in output.splitlines()]


def test_summaries_and_progress_with_a_long_path_stay_on_one_line(deep):
    data = write_jsonl(
        deep / "in.jsonl",
        [{"instruction": f"question {i}", "output": f"answer {i}"} for i in range(3)],
    )
    store, out = deep / "store", deep / "out.jsonl"
    runner = CliRunner(env=NARROW)
    first = runner.invoke(cli, ["ingest", str(data), "--store", str(store)])
    assert first.exit_code == 0, first.output
    lines = lines_of(first.output)
    assert f"ingest into {store}" in lines  # the table's title, on stdout
    assert any(
        "ingest" in line and "3 records" in line and "eta" in line for line in lines
    )  # the bar
    again = runner.invoke(cli, ["ingest", str(data), "--store", str(store)])
    assert again.exit_code == 0, again.output
    assert "already ingested with these inputs and options: nothing to do" in lines_of(again.output)
    exported = runner.invoke(cli, ["export", str(store), "-o", str(out)])
    assert exported.exit_code == 0, exported.output
    # on stderr, the console the progress bars use
    assert any(
        line.startswith(f"wrote 3 conversations to {out} (") for line in lines_of(exported.output)
    )


@pytest.mark.parametrize(
    "env", [NARROW, {**NARROW, "FORCE_COLOR": "1"}], ids=["plain", "force-color"]
)
@pytest.mark.parametrize("stderr", [False, True], ids=["stdout", "stderr"])
def test_consoles_off_a_terminal_do_not_wrap(monkeypatch, capsys, env, stderr):
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    console = progress.console() if stderr else progress.report_console()
    message = " ".join(f"word{i}" for i in range(200)) + " /" + "x" * 300
    console.print(message, highlight=False)
    captured = capsys.readouterr()
    text = captured.err if stderr else captured.out
    assert len(text.strip().splitlines()) == 1
    assert message in text  # FORCE_COLOR may add colour codes around it, never inside plain text


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_a_terminal_console_still_fits_its_window(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setattr(sys, "stdout", FakeTerminal())
    assert progress.report_console().width == 40
