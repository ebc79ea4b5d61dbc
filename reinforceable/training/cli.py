"""`parse_args`: command-line flags from a frozen dataclass of arguments, as the examples use."""

from __future__ import annotations

import argparse
import dataclasses
from typing import TypeVar

__all__ = ["parse_args"]

T = TypeVar("T")


def parse_args(cls: type[T], description: str | None = None, argv=None) -> T:
    """Parses `--field-name value` flags for every field of the dataclass `cls`.

    Each flag takes the type of the field's default (`bool` fields take `true`/`false`); the
    help text shows the default. Returns an instance of `cls`, so `cls.__post_init__` checks the
    values.
    """
    parser = argparse.ArgumentParser(description=description)
    for field in dataclasses.fields(cls):
        kind = type(field.default)
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
        )
    try:
        return cls(**vars(parser.parse_args(argv)))
    except (TypeError, ValueError) as error:
        parser.error(str(error))
