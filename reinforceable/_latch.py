"""`FirstFault`: the first batch row where a check failed inside a graph, kept in TF variables
and read in Python afterwards.

A graph cannot warn, and XLA drops assertions, so checks inside the Driver's loop (a `TFEnv`'s
non-finite outputs, the policy's non-finite actions, an action mask that allows nothing) record
what they found here, with a few element-wise ops per step and no dynamic indexing (which made
XLA-compiled loops about 150x slower), and the Python code around the graph reports it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import tensorflow as tf

__all__ = ["Fault", "FirstFault"]


class Fault(NamedTuple):
    """What `FirstFault.take` returns."""

    row: int
    """The batch row (the environment's index)."""
    step: int
    """The step the caller counted when it was recorded."""
    code: int
    """The caller's code for what failed (which field, which action leaf)."""
    values: np.ndarray
    """The row's values that the caller recorded, `[width]`."""


class FirstFault:
    """Latches the first faulty row of a batch.

    Args:
        width: How many float32 values to keep with the row (0 for none).
        name: The variables' name prefix.
    """

    def __init__(self, width: int = 0, name: str = "fault"):
        self.width = int(width)
        self._found = tf.Variable(False, trainable=False, name=f"{name}_found")
        self._where = tf.Variable(tf.zeros([3], tf.int32), trainable=False, name=f"{name}_where")
        self._values = tf.Variable(
            tf.zeros([self.width], tf.float32), trainable=False, name=f"{name}_values"
        )

    def record(self, bad, step, code, values=None) -> list[tf.Operation]:
        """Records the first row where `bad` holds, unless a fault is already latched.

        Args:
            bad: bool `[B]`.
            step: int32 scalar, the caller's step count.
            code: int32 `[B]` (or a scalar), what failed in each row.
            values: float32 `[B, width]` (NaN and inf are kept), or None when `width` is 0.

        Returns:
            The assignments, for the caller's control dependencies. Call it inside the graph
            that computes `bad` (a `tf.function`, a `tf.while_loop` body, XLA).
        """
        found = tf.reduce_any(bad)
        first = found & ~self._found
        row = tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int32)
        at_row = tf.equal(tf.range(tf.shape(bad)[0]), row)
        code = tf.broadcast_to(tf.cast(code, tf.int32), tf.shape(bad))
        row_code = tf.reduce_sum(tf.where(at_row, code, 0))
        where = tf.stack([row, tf.cast(step, tf.int32), row_code])
        updates = [
            self._where.assign(tf.where(first, where, self._where)),
            self._found.assign(self._found | found),
        ]
        if self.width:
            # A masked sum keeps the row's NaN and inf (tf.where selects without arithmetic).
            row_values = tf.reduce_sum(tf.where(at_row[:, None], values, 0.0), axis=0)
            updates.append(self._values.assign(tf.where(first, row_values, self._values)))
        return updates

    def take(self, forget: bool = True) -> Fault | None:
        """The latched fault, if any; `forget` clears the latch (else it stays, and later
        faults are not recorded: a report made once)."""
        if not bool(self._found.numpy()):
            return None
        row, step, code = (int(v) for v in self._where.numpy())
        if forget:
            self._found.assign(False)
        return Fault(row, step, code, self._values.numpy())

    def peek(self) -> bool:
        """Whether a fault is latched."""
        return bool(self._found.numpy())
