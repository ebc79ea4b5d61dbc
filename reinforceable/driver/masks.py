"""`AllMaskedRows`: a policy's report of the batch rows where an action mask allowed no action."""

from __future__ import annotations

import tensorflow as tf

from reinforceable._latch import FirstFault
from reinforceable.layers.dense_categorical import all_masked_rows

__all__ = ["AllMaskedRows"]


class AllMaskedRows:
    """Latches, inside the policy's step, the first batch row where a `DenseCategorical`
    head's action mask allowed no action (its action is then a masked one), and reports it once
    as a warning. An all-masked state is a bug in the environment's mask."""

    def __init__(self):
        self._fault = FirstFault(0, "all_masked")
        self._warned = False
        self.paths: list[str] | None = None
        """The action heads' paths in the distribution nest (set when the policy is built)."""

    def watch(self, distributions, action):
        """`action`, after latching the first all-masked batch row of `distributions`."""
        rows = [all_masked_rows(d) for d in tf.nest.flatten(distributions)]
        if all(r is None for r in rows):
            return action
        batch = tf.shape(tf.nest.flatten(action)[0])[0]
        flags = [
            tf.zeros([batch], tf.bool)
            if r is None
            else tf.reduce_any(tf.reshape(r, [batch, -1]), axis=1)
            for r in rows
        ]
        code = tf.constant(len(rows), tf.int32)  # each row's first all-masked head
        for i, flag in reversed(list(enumerate(flags))):
            code = tf.where(flag, i, code)
        bad = tf.reduce_any(tf.stack(flags), axis=0)
        with tf.control_dependencies(self._fault.record(bad, 0, code)):
            return tf.nest.map_structure(tf.identity, action)

    def take_warnings(self) -> list[str]:
        """The warning of the first all-masked row, once; then nothing."""
        if self._warned or not self._fault.peek():
            return []
        self._warned = True
        fault = self._fault.take(forget=False)
        head = self.paths[fault.code] if self.paths else ""
        return [
            f"KerasPolicy: the action mask of the head {head or '(the action)'} allowed no action "
            f"in batch row {fault.row} (the environment's index in the Driver), so a masked "
            "action was chosen there. An all-masked state is a bug in the environment's mask; "
            "DenseCategorical(validate_args=True) raises instead. Later ones are not reported."
        ]
