"""Options shared by commands, and ``--config file.yaml``.

A config file supplies defaults for any option (flags given on the command line
win). Keys are option names with dashes or underscores; a section named after
the command (``ingest:``) applies to that command only, top-level keys to all::

    store: runs/pool
    ingest:
      max-chars: 100000
      map: [instruction=question, output=answer]
"""

from __future__ import annotations

from collections.abc import Callable

import click

from curate.errors import InputError


def _load_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from curate.config import load_yaml_mapping, param_name

    data = load_yaml_mapping(value)
    command = ctx.command.name
    merged = {k: v for k, v in data.items() if not isinstance(v, dict)}
    section = data.get(command)
    if isinstance(section, dict):
        merged.update(section)
    defaults = {}
    for key, val in merged.items():
        name = param_name(ctx.command, key)
        if name is None:
            if isinstance(section, dict) and key in section:
                raise InputError(f"config file {value!r}: `{command}` has no option {key!r}")
            continue  # top-level keys meant for other commands
        defaults[name] = val
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return value


def config_option(fn: Callable) -> Callable:
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        is_eager=True,
        expose_value=False,
        callback=_load_config,
        help="YAML file with defaults for any option of this command.",
    )(fn)


def overwrite_option(fn: Callable) -> Callable:
    return click.option(
        "--overwrite", is_flag=True, help="Replace results built with other inputs or parameters."
    )(fn)


def parse_pairs(values: tuple[str, ...] | list[str], option: str) -> dict[str, str]:
    """``("a=b", "c=d,e=f")`` -> ``{"a": "b", "c": "d", "e": "f"}``."""
    pairs: dict[str, str] = {}
    for value in values:
        for part in str(value).split(","):
            if not part.strip():
                continue
            key, sep, val = part.partition("=")
            if not sep or not key.strip() or not val.strip():
                raise InputError(f"{option} expects KEY=VALUE, got {part!r}")
            pairs[key.strip()] = val.strip()
    return pairs


def parse_numbers(pairs: dict[str, str], option: str, example: str) -> dict[str, float]:
    """``parse_pairs``' values as numbers; an :class:`InputError` naming the option otherwise."""
    out = {}
    for key, value in pairs.items():
        try:
            out[key] = float(value)
        except ValueError:
            raise InputError(
                f"{option} takes numbers, got {key}={value}; e.g. {option} {example}"
            ) from None
    return out


def quiet_option(fn: Callable) -> Callable:
    return click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary tables.")(
        fn
    )


def output_format_option(what: str) -> Callable:
    """``--output-format messages|sharegpt``: the JSONL layout a sink writes (``what``: which file)."""
    return click.option(
        "--output-format",
        "fmt",
        type=click.Choice(["messages", "sharegpt"]),
        default="messages",
        show_default=True,
        help=f"{what} layout: messages {{id, messages[{{role, content}}]}} or sharegpt "
        "{id, conversations[{from, value}]}.",
    )


def backend_options(who: str, default: str = "transformers") -> Callable:
    """The options that pick and configure an LLM backend (``who``: the command or tagger
    they apply to, shown in the help): --backend, --api-base, --api-key-env,
    --concurrency, --device."""

    def decorate(fn: Callable) -> Callable:
        for option in reversed(
            [
                click.option(
                    "--backend",
                    type=click.Choice(["transformers", "vllm", "openai"]),
                    default=default,
                    show_default=True,
                    help=f"{who}: local transformers, vLLM on GPU, or an OpenAI-compatible "
                    "endpoint (--api-base).",
                ),
                click.option(
                    "--api-base", default=None, help=f"{who}, openai: e.g. http://127.0.0.1:8000/v1"
                ),
                click.option(
                    "--api-key-env",
                    default="OPENAI_API_KEY",
                    show_default=True,
                    help=f"{who}, openai: environment variable holding the API key (never "
                    "stored or logged).",
                ),
                click.option(
                    "--concurrency",
                    type=click.IntRange(min=1),
                    default=16,
                    show_default=True,
                    help=f"{who}, openai: requests in flight.",
                ),
                click.option("--device", default=None, help=f"{who}, transformers: cpu, cuda ..."),
            ]
        ):
            fn = option(fn)
        return fn

    return decorate


def backend_from(opts: dict, model: str, chat_template: str | None = None):
    """The generation backend that :func:`backend_options` describe, for ``model``."""
    from curate.llm import resolve_backend

    kind = opts["backend"]
    if kind == "openai":
        options = {
            "api_base": opts["api_base"],
            "api_key_env": opts["api_key_env"],
            "max_concurrency": opts["concurrency"],
        }
    elif kind == "transformers":
        options = {"device": opts["device"], "template": chat_template or "auto"}
    else:
        options = {"template": chat_template} if chat_template else {}
    return resolve_backend(kind, model, **options)


def engine_option(fn: Callable) -> Callable:
    """``--engine`` and the Ray engine's flags, given to the command as one ``engine`` value.

    The command receives ``engine`` (a :class:`curate.runner.EngineOptions`) instead of the
    six flags, and passes it to its stage: per-shard work runs there.
    """
    import dataclasses
    import functools

    from curate.options import cli_fields, click_options
    from curate.runner.engine import EngineOptions

    flags = [f.name for f in cli_fields(EngineOptions)]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        kwargs["engine"] = EngineOptions(**{name: kwargs.pop(name) for name in flags})
        return fn(*args, **kwargs)

    assert {f.name for f in dataclasses.fields(EngineOptions)} == set(flags)
    return click_options(EngineOptions)(wrapper)
