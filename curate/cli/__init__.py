"""The ``curate`` command line.

Commands live in one module each and are imported only when run, so
``curate --help`` stays fast and never imports torch or pyarrow.
"""

from __future__ import annotations

import importlib
import sys

import click

from curate import __version__
from curate.errors import CurateError, os_error_message

# name -> (module, attribute, one-line help shown by `curate --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "ingest": (
        "curate.cli.ingest",
        "ingest",
        "Read ShareGPT / OpenAI / Alpaca / ... files into a store.",
    ),
    "embed": (
        "curate.cli.embed",
        "embed",
        "Embed every conversation and cache the vectors in the store.",
    ),
    "tag": (
        "curate.cli.tag",
        "tag",
        "Tag every conversation: offline embedding clusters, or an LLM tagger (InsTag).",
    ),
    "tags": (
        "curate.cli.tag",
        "tags",
        "Show the tag table: counts, shares, what each tag is made of, examples.",
    ),
    "score": (
        "curate.cli.score",
        "score",
        "Score every conversation with a reward model (ArmoRM native, or any).",
    ),
    "judge": (
        "curate.cli.judge",
        "judge",
        "Rate every conversation with an LLM judge (any OpenAI-compatible endpoint, vLLM, ...).",
    ),
    "dedup": (
        "curate.cli.dedup",
        "dedup",
        "Group near-duplicates (FAISS) and mark the best member to keep.",
    ),
    "decontaminate": (
        "curate.cli.decontaminate",
        "decontaminate",
        "Mark rows that copy, convert, translate or quote a benchmark item.",
    ),
    "select": (
        "curate.cli.select",
        "select_cmd",
        "Select the best, most diverse conversations per tag, with a report.",
    ),
    "report": (
        "curate.cli.html_report",
        "report",
        "One self-contained HTML page: what the pool holds and why the subset is what it is.",
    ),
    "generate": (
        "curate.cli.generate",
        "generate",
        "Sample n answers per prompt of a store with an LLM, into a new store.",
    ),
    "pairs": (
        "curate.cli.pairs",
        "pairs",
        "Build preference pairs (chosen / rejected) from scored answers to one prompt.",
    ),
    "train": (
        "curate.cli.train",
        "train",
        "Fine-tune a model on a selection (SFT) or on pairs (DPO) with TRL, LoRA optional.",
    ),
    "run": (
        "curate.cli.run",
        "run",
        "Run every stage from one YAML config (skips what is done, resumes the rest).",
    ),
    "info": (
        "curate.cli.info",
        "info",
        "Show what a store holds: counts, languages, flags, stages.",
    ),
    "export": (
        "curate.cli.export",
        "export",
        "Write the base table back out as JSONL (messages or ShareGPT).",
    ),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short) for name, (_, _, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="curate")
def cli() -> None:
    """curate: build the best, most diverse SFT subset from a large pool of conversations.

    Stages share one store directory: ingest -> embed -> tag -> score -> dedup -> select -> train.
    """


def fail(message: str, code: int = 1) -> None:
    """Print one red line on stderr and exit."""
    line = " ".join(part.strip() for part in str(message).splitlines() if part.strip())
    click.secho(f"error: {line}", fg="red", err=True)
    sys.exit(code)


def named_paths(argv: list[str]) -> list[str]:
    """Every command-line value that could be a path (``--opt=value`` and bare words)."""
    named = []
    for token in argv:
        if token.startswith("-") and token != "-":
            if "=" not in token:
                continue
            token = token.split("=", 1)[1]
        if token and token != "-":
            named.append(token)
    return named


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: user errors are one red line and exit status 1."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        code = cli.main(args=args, prog_name="curate", standalone_mode=False)
    except CurateError as exc:
        fail(str(exc))
    except click.exceptions.Abort:
        fail("aborted", 130)
    except click.ClickException as exc:  # usage errors: bad option, missing argument, ...
        command = exc.ctx.command_path if getattr(exc, "ctx", None) else "curate"
        fail(f"{exc.format_message()} (see `{command} --help`)")
    except KeyboardInterrupt:
        fail("interrupted; run the same command again to resume where it stopped", 130)
    except OSError as exc:  # a full disk, a read-only store, a path the user named
        if isinstance(exc, BrokenPipeError) and _stdout_is_a_pipe():
            # `curate export STORE -o - | head`: the reader has what it wanted
            _silence_stdout()
            sys.exit(1)
        message = os_error_message(exc, named_paths(args))
        if message is None:
            raise  # unexpected: keep the traceback
        fail(message)
    except Exception as exc:  # a full disk can surface as the cause of another error
        message = os_error_message(exc, [])
        if message is None:
            raise
        fail(message)
    # a command may return a value for its Python callers (`curate run` its steps): only
    # an int is an exit status
    sys.exit(code if isinstance(code, int) else 0)


def _stdout_is_a_pipe() -> bool:
    import os
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that flushing it at exit does not fail again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
