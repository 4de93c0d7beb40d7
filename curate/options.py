"""Stage options declared once: a dataclass whose fields carry their command-line flags.

A stage's options are a frozen dataclass; each field is declared with
:func:`option` (default, help, and how it looks on the command line).
:func:`click_options` turns the dataclass into the command's click options, so
the CLI, ``curate run`` (which calls the same command with typed values) and
the Python API share one declaration::

    @dataclass(frozen=True)
    class EmbedOptions:
        max_chars: int = option(2000, "Longer texts are cut.", type=click.IntRange(min=16))

    @click.command()
    @click_options(EmbedOptions)
    def embed(**kwargs):
        options = EmbedOptions(**kwargs)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import click


def option(
    default: Any,
    help: str,
    *,
    flag: str | tuple[str, ...] | None = None,
    type: Any = None,
    show_default: bool = True,
    cli: bool = True,
) -> Any:
    """A dataclass field with its command-line form.

    ``flag``: the flag spelling (``"--text"``, ``("--threshold", "-t")``, or
    ``"--fold-scripts/--no-fold-scripts"`` for a boolean pair) [default: the field name in kebab case; a boolean
    defaulting to False is an ``is_flag``]. ``cli=False``: a field of the Python API
    only (no flag).
    """
    return dataclasses.field(
        default=default,
        metadata={
            "help": help,
            "flag": flag,
            "type": type,
            "show_default": show_default,
            "cli": cli,
        },
    )


def _click_option(f: dataclasses.Field) -> Callable:
    meta = f.metadata
    flag = meta.get("flag") or "--" + f.name.replace("_", "-")
    decls = flag if isinstance(flag, tuple) else (flag,)
    kwargs: dict[str, Any] = {"default": f.default, "help": meta["help"]}
    if "/" in decls[0] or isinstance(f.default, bool) and meta.get("type") is None:
        kwargs["is_flag"] = True
    elif meta.get("type") is not None:
        kwargs["type"] = meta["type"]
    if f.default is not None and meta.get("show_default", True):
        kwargs["show_default"] = True
    return click.option(*decls, f.name, **kwargs)


def cli_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get("cli", False)]


def click_options(cls: type) -> Callable[[Callable], Callable]:
    """Decorator: one click option per field of the options dataclass ``cls``."""

    def decorate(fn: Callable) -> Callable:
        for f in reversed(cli_fields(cls)):
            fn = _click_option(f)(fn)
        return fn

    return decorate


def pick(cls: type, values: Mapping[str, Any]) -> Any:
    """``cls`` from the values of its fields found in ``values`` (click's keyword arguments)."""
    return cls(**{f.name: values[f.name] for f in dataclasses.fields(cls) if f.name in values})
