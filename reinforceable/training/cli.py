"""Helpers for training scripts: command-line flags from a dataclass (and `configure_threads`,
TF's thread settings, from `reinforceable._startup`)."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import TypeVar

from reinforceable._startup import configure_threads  # re-exported: rf.training.configure_threads

__all__ = ["configure_threads", "parse_args"]

T = TypeVar("T")


def parse_args(cls: type[T], description: str | None = None, argv=None) -> T:
    """Parses `--field-name value` flags for every field of the dataclass `cls`.

    Each flag takes the type of the field's default (`bool` fields take `true`/`false`; tuple
    fields take one or more values of their first element's type; a field `X | None = None`
    takes an X, and stays None when the flag is not given); the help text shows the default.
    Returns an instance of `cls`, so `cls.__post_init__` checks the values.
    """
    parser = argparse.ArgumentParser(description=description)
    tuples = []
    for field in dataclasses.fields(cls):
        kind = type(field.default)
        if field.default is None:  # `X | None = None`: the flag takes an X
            hint = typing.get_type_hints(cls)[field.name]
            kind = next(t for t in typing.get_args(hint) if t is not type(None))
        extra = {}
        if kind is tuple:
            kind, extra = type(field.default[0]), {"nargs": "+"}
            tuples.append(field.name)
        if kind is bool:

            def kind(text: str) -> bool:
                if text.lower() not in ("true", "false", "1", "0"):
                    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
                return text.lower() in ("true", "1")

        parser.add_argument(
            f"--{field.name.replace('_', '-')}",
            type=kind,
            default=field.default,
            help=f"(default: {field.default})",
            **extra,
        )
    values = vars(parser.parse_args(argv))
    for name in tuples:
        values[name] = tuple(values[name])
    try:
        return cls(**values)
    except (TypeError, ValueError) as error:
        parser.error(str(error))
