"""Options are declared once, on each command's config dataclass; the CLI and the Python API are built from them.

A field declared with `option(...)` is a command-line option named after it (`max_tokens` -> `--max-tokens`) with
the field's type, default and help; `positional=True` makes it an argument. Fields without `option` are internal.
The Python API (`agentinstruct.api`) takes the same names as keyword arguments.
"""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Sequence
from dataclasses import MISSING, Field, field, fields
from typing import Any

_HELP = "agentinstruct.help"


def option(
    default: Any = MISSING,
    *,
    help: str,
    aliases: Sequence[str] = (),
    choices: Sequence[str] | None = None,
    positional: bool = False,
    metavar: str | None = None,
) -> Any:
    """A dataclass field that is also a CLI option (see the module docstring)."""
    metadata = {
        _HELP: help,
        "aliases": tuple(aliases),
        "choices": tuple(choices) if choices else None,
        "positional": positional,
        "metavar": metavar,
    }
    if isinstance(default, list | dict | set):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


def cli_fields(config_class: type) -> list[Field]:
    return [f for f in fields(config_class) if _HELP in f.metadata]


def _base_type(annotation: Any) -> tuple[Any, bool]:
    """(the type without `| None`, whether it is a list)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is list:
        return typing.get_args(annotation)[0], True
    return annotation, False


def add_options(parser: argparse.ArgumentParser, config_class: type) -> None:
    """Add one argparse argument per `option` field of `config_class`."""
    hints = typing.get_type_hints(config_class)
    for spec in cli_fields(config_class):
        meta = spec.metadata
        kind, is_list = _base_type(hints[spec.name])
        default = spec.default
        if spec.default_factory is not MISSING:  # type: ignore[misc]
            default = spec.default_factory()  # type: ignore[misc]
        required = default is MISSING
        help_text = meta[_HELP]
        shown = default is not None and default is not False and default != []
        if not required and shown and "%(default)" not in help_text:
            help_text += " (default: %(default)s)"
        kwargs: dict[str, Any] = {"help": help_text}
        if meta["metavar"]:
            kwargs["metavar"] = meta["metavar"]
        if meta["choices"]:
            kwargs["choices"] = meta["choices"]
        if kind is bool:
            kwargs["action"] = "store_true" if default is False else argparse.BooleanOptionalAction
        else:
            kwargs["type"] = kind
        if is_list:
            kwargs["nargs"] = "+"
        if meta["positional"]:
            parser.add_argument(spec.name, **kwargs)
            continue
        flags = ["--" + spec.name.replace("_", "-"), *meta["aliases"]]
        if required:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
        parser.add_argument(*flags, dest=spec.name, **kwargs)


def config_from_args(config_class: type, args: argparse.Namespace) -> Any:
    return config_class(**{f.name: getattr(args, f.name) for f in cli_fields(config_class)})
