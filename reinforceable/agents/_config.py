"""Checks shared by the agents' config dataclasses: each error names the config and the field."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = [
    "Config",
    "check_bool",
    "check_known_fields",
    "check_number",
    "check_positive_int",
    "check_seed",
    "check_units",
]


def check_positive_int(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive int; received {value!r}.")


def check_number(
    owner: str, name: str, value, low: float | None = None, high=None, low_open: bool = True
) -> None:
    """Finite, and in (low, high] where given (`[low, high]` with `low_open=False`)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{owner}: `{name}` must be a finite number; received {value!r}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        left = "(" if low_open else "["
        interval = f"{left}{low if low is not None else '-inf'}, "
        interval += f"{high}]" if high is not None else "inf)"
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


class Config:
    """`to_dict` and `from_dict` (which refuses unknown fields by name) for the frozen config
    dataclasses whose fields are plain JSON values."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; `from_dict` inverts it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        check_known_fields(cls, values)
        return cls(**values)


def check_known_fields(cls, values: dict[str, Any]) -> None:
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(
            f"{cls.__name__}: unknown fields {unknown}; known fields: {sorted(names)}."
        )
