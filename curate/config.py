"""YAML configs: reading one, and matching its keys to a command's options.

Used by ``--config FILE`` (defaults for one command) and ``curate run`` (every
stage). Keys are option names with dashes or underscores, or any flag spelling
(``max-chars``, ``max_chars``, ``--max-chars``, ``map``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from curate.errors import InputError


def load_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML file; a user error when it is missing, invalid or not a mapping."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise InputError(f"config file {str(path)!r} not found") from None
    except yaml.YAMLError as exc:
        raise InputError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"config file {str(path)!r} must hold a mapping of option names to values")
    return data


def option_names(command: click.Command) -> dict[str, str]:
    """Every accepted spelling of ``command``'s options -> the parameter name."""
    known: dict[str, str] = {}
    for param in command.params:
        if not param.expose_value:
            continue
        known[param.name] = param.name
        for opt in getattr(param, "opts", []):
            known[opt.lstrip("-").replace("-", "_")] = param.name
    return known


def param_name(command: click.Command, key: Any) -> str | None:
    """The parameter a config key names, or None."""
    return option_names(command).get(str(key).lstrip("-").replace("-", "_"))


def key_values(value: Any) -> Any:
    """A YAML mapping for a KEY=VALUE option as the CLI spells it: ``{a: 1}`` -> ``"a=1"``."""
    if isinstance(value, dict):
        return ",".join(f"{k}={v}" for k, v in value.items())
    return value


def typed_values(command: click.Command, values: dict[str, Any], where: str) -> dict[str, Any]:
    """``values`` (config keys) as ``command``'s keyword arguments, converted and checked by click.

    The same types, ranges and choices as on the command line; an unknown key or a
    bad value is a user error that says ``where`` it was found.
    """
    ctx = click.Context(command, info_name=command.name)
    params = {p.name: p for p in command.params if p.expose_value}
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = param_name(command, key)
        if name is None:
            raise InputError(f"{where}: `curate {command.name}` has no option {key!r}")
        param = params[name]
        value = key_values(value)
        if (param.multiple or param.nargs == -1) and not isinstance(value, list | tuple):
            value = [value]
        try:
            out[name] = param.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise InputError(f"{where}: {key}: {exc.format_message()}") from None
    return out
