"""Checks shared by the agents' config dataclasses: each error names the config and the field."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = [
    "check_bool",
    "check_number",
    "check_positive_int",
    "check_seed",
    "check_units",
    "config_from_dict",
]


def check_positive_int(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive int; received {value!r}.")


def check_number(owner: str, name: str, value, low: float | None = None, high=None) -> None:
    """Finite, and in (low, high] where given."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{owner}: `{name}` must be a finite number; received {value!r}.")
    if (low is not None and value <= low) or (high is not None and value > high):
        interval = f"({low if low is not None else '-inf'}, {high if high is not None else 'inf'}"
        interval += "]" if high is not None else ")"
        raise ValueError(f"{owner}: `{name}` must be in {interval}; received {value!r}.")


def check_bool(owner: str, name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{owner}: `{name}` must be a bool; received {value!r}.")


def check_units(owner: str, name: str, value) -> tuple[int, ...]:
    """A non-empty tuple of positive ints (hidden-layer sizes); returns it as a tuple."""
    units = tuple(value) if isinstance(value, list | tuple) else ()
    if not units or not all(
        isinstance(u, int) and not isinstance(u, bool) and u > 0 for u in units
    ):
        raise ValueError(
            f"{owner}: `{name}` must be a non-empty tuple of positive ints; received {value!r}."
        )
    return units


def check_seed(owner: str, value) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{owner}: `seed` must be an int or None; received {value!r}.")


def config_from_dict(cls, values: dict[str, Any]):
    """`cls(**values)`, refusing unknown fields by name."""
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown fields {unknown}; known fields: {sorted(names)}."
        )
    return cls(**values)
