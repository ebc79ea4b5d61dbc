"""Schedules for hyperparameters that change over training (learning rate, clip range)."""

from __future__ import annotations

import dataclasses

import tensorflow as tf

__all__ = ["LinearSchedule", "schedule_value"]


@dataclasses.dataclass(frozen=True)
class LinearSchedule:
    """Goes linearly from `start` (progress 0) to `end` (progress 1), as SB3's `get_linear_fn`.

    Progress is the fraction of the training budget spent: `env_steps / total_steps`.
    """

    start: float
    """Value at the start of training."""
    end: float = 0.0
    """Value at the end of the training budget."""

    def __call__(self, progress):
        progress = tf.clip_by_value(tf.cast(progress, tf.float32), 0.0, 1.0)
        return self.start + (self.end - self.start) * progress


def schedule_value(value: float | LinearSchedule, progress) -> tf.Tensor:
    """The value of a constant or a `LinearSchedule` at `progress` in [0, 1]."""
    if isinstance(value, LinearSchedule):
        return value(progress)
    return tf.constant(float(value), tf.float32)
