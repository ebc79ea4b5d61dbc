"""The tanh map between an unbounded space and a box of actions, shared by the planners."""

from __future__ import annotations

import tensorflow as tf

SQUASH_LIMIT = 0.995
"""How close to a bound (as a share of the half-width) `unsquash` may map back to: `atanh(0.995)`
is about 3 in the unbounded space, where noise of σ = 1 still moves the action."""


def squash(value: tf.Tensor, low, high) -> tf.Tensor:
    """`low + (high - low) (tanh(v) + 1) / 2`, per action dimension."""
    low, high = tf.constant(low, value.dtype), tf.constant(high, value.dtype)
    return low + (high - low) * (tf.tanh(value) + 1.0) / 2.0


def squash_derivative(value: tf.Tensor, low, high) -> tf.Tensor:
    """`d squash / dv`, elementwise."""
    half = tf.constant(high, value.dtype) / 2.0 - tf.constant(low, value.dtype) / 2.0
    return half * (1.0 - tf.tanh(value) ** 2)


def unsquash(action: tf.Tensor, low, high) -> tf.Tensor:
    """The inverse of `squash`, clipped to `SQUASH_LIMIT` of the way to the bounds."""
    low, high = tf.constant(low, action.dtype), tf.constant(high, action.dtype)
    unit = 2.0 * (action - low) / (high - low) - 1.0
    return tf.atanh(tf.clip_by_value(unit, -SQUASH_LIMIT, SQUASH_LIMIT))
