"""`NumpyState`: Python-side learner state (NumPy arrays) inside a `tf.train.Checkpoint`."""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
import tensorflow as tf

__all__ = ["NumpyState"]

_NONE = "__none__"


class NumpyState(tf.train.experimental.PythonState):
    """Checkpoints a dict of NumPy arrays (or `None`s) that an agent keeps outside TF variables
    (guided policy search's step multipliers, its dynamics prior), through two callbacks.

    It is written as one `.npz` blob (no pickle), so a checkpoint restores it as it restores
    variables: `read()` is called at save time, `write(values)` at restore time.

    Args:
        read: Returns the current state, `{name: array or None}`.
        write: Takes a state that `read` returned, and sets it.
    """

    def __init__(self, read: Callable[[], dict], write: Callable[[dict], None]):
        self._read, self._write = read, write

    def serialize(self) -> bytes:
        values = self._read()
        arrays = {key: np.asarray(value) for key, value in values.items() if value is not None}
        arrays[_NONE] = np.array(sorted(key for key, value in values.items() if value is None))
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    def deserialize(self, string_value) -> None:
        data = bytes(string_value.numpy() if hasattr(string_value, "numpy") else string_value)
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            values = {key: archive[key] for key in archive.files if key != _NONE}
            values.update({str(key): None for key in archive[_NONE]})
        self._write(values)
