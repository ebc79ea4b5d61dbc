"""Argument checks shared across the package, with messages that name the argument, what was
expected and what was received."""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "check_bool",
    "check_bounds",
    "check_covariance",
    "check_instance",
    "check_known_names",
    "check_number",
    "check_positive_int",
    "check_seed",
    "check_units",
    "config_or_default",
]


def check_known_names(owner: str, given, known, what: str = "fields") -> None:
    """Raises a ValueError naming the names in `given` that are not in `known`, with `known`."""
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"{owner}: unknown {what} {unknown}; known fields: {sorted(known)}.")


def check_instance(owner: str, name: str, value, expected, what: str | None = None) -> None:
    """A `TypeError` unless `value` is an instance of `expected`: `"{owner}: `{name}` must be
    {what}; received {type}."` (`what` defaults to "a/an {expected.__name__}")."""
    if not isinstance(value, expected):
        if what is None:
            article = "an" if expected.__name__[0] in "AEIOU" else "a"
            what = f"{article} {expected.__name__}"
        raise TypeError(f"{owner}: `{name}` must be {what}; received {type(value).__name__}.")


def config_or_default(owner: str, config, expected, what: str | None = None):
    """`expected()` for `None`; otherwise `config`, which must be an `expected`."""
    config = expected() if config is None else config
    check_instance(owner, "config", config, expected, what)
    return config


def check_covariance(value, dim: int, argument: str, owner: str, definite: bool = True):
    """A `[dim, dim]` (or batched `[..., dim, dim]`) symmetric positive-definite (or, with
    `definite=False`, semi-definite) NumPy matrix, or a `ValueError` that says what is wrong."""
    matrix = np.asarray(value, dtype=np.float64)
    if matrix.ndim < 2 or matrix.shape[-2:] != (dim, dim):
        raise ValueError(
            f"{owner}: `{argument}` must be a [{dim}, {dim}] covariance matrix; received shape "
            f"{matrix.shape}."
        )
    if not np.all(np.isfinite(matrix)):
        raise ValueError(f"{owner}: `{argument}` must be finite; received {matrix.tolist()}.")
    asymmetry = np.max(np.abs(matrix - np.swapaxes(matrix, -1, -2)), initial=0.0)
    if asymmetry > 1e-8 * max(1.0, np.max(np.abs(matrix), initial=0.0)):
        raise ValueError(
            f"{owner}: `{argument}` must be symmetric; it differs from its transpose by "
            f"{asymmetry:.3g}."
        )
    smallest = np.min(np.linalg.eigvalsh(matrix), initial=np.inf)
    scale = max(1.0, np.max(np.abs(matrix), initial=0.0))
    if (definite and smallest <= 0) or smallest < -1e-10 * scale:
        kind = "positive definite" if definite else "positive semi-definite"
        raise ValueError(
            f"{owner}: `{argument}` must be {kind}; its smallest eigenvalue is {smallest:.3g}."
        )
    return matrix


def check_bounds(owner: str, what: str, low, high, size: int) -> tuple[np.ndarray, np.ndarray]:
    """`(low, high)` as float64 `[size]` arrays, finite, with low < high everywhere (NaN fails
    every comparison, so it is refused too), or a `ValueError` naming `what`."""
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    if (
        low.shape != (size,)
        or high.shape != (size,)
        or not (np.all(np.isfinite(low)) and np.all(np.isfinite(high)))
        or not np.all(low < high)
    ):
        raise ValueError(
            f"{owner}: {what} must be finite [{size}] arrays (`action_dim`) with low < high in "
            f"every dimension; received {low.tolist()} and {high.tolist()}."
        )
    return low, high


def check_positive_int(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: `{name}` must be a positive int; received {value!r}.")


def check_nonnegative_int(owner: str, name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{owner}: `{name}` must be an int >= 0; received {value!r}.")


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
