"""Helpers for training scripts: command-line flags from a dataclass, and TF thread settings."""

from __future__ import annotations

import argparse
import dataclasses
import typing
import warnings
from typing import TypeVar

from reinforceable import _startup

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


def configure_threads(inter_op: int = 1, intra_op: int = 1) -> bool:
    """Sets TensorFlow's thread pools, if TF has not started yet; returns whether it did.

    On small CPUs (2 cores), one inter-op and one intra-op thread make rollouts of small models
    about 1.5x faster: TF's idle threads otherwise spin and compete with the Python environment
    step. Convolutional models train faster with 2 of each. TF fixes its pools when it first
    runs an op, so call this at the top of a script; later calls (a script imported into a
    process where TF already ran, as in tests) leave the pools alone with a warning. It then
    starts TF's runtime with one op, so that oneDNN's harmless first-op error line ("oneDNN
    supports DT_INT32 only...") stays off the terminal (`REINFORCEABLE_TF_LOGS=1` shows it).
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    except RuntimeError:
        warnings.warn(
            "configure_threads: TensorFlow has already started; its thread pools are unchanged.",
            stacklevel=2,
        )
        return False
    _startup.start_runtime()  # without oneDNN's harmless first-op error line
    return True
