"""What passes between a Keras policy model and the Driver: the model's declared input nests,
its recurrent-state nests, its distributions' supports and the time axis of its outputs."""

from __future__ import annotations

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable._nest import leaf_paths
from reinforceable.distributions.bounded_normal import BoundedNormal

__all__ = [
    "canonical",
    "discrete_entropy",
    "distribution_support",
    "drop_time_axis",
    "is_distribution",
]

tfd = tfp.distributions


def is_distribution(value) -> bool:
    return isinstance(value, tfd.Distribution)


def distribution_support(distribution: tfd.Distribution):
    """`(low, high)` NumPy arrays of the values `distribution` can emit, `None` if unbounded."""
    while isinstance(distribution, tfd.Independent):
        distribution = distribution.distribution
    if isinstance(distribution, BoundedNormal):
        low, high = tf.get_static_value(distribution.low), tf.get_static_value(distribution.high)
        return None if low is None or high is None else (low, high)
    if isinstance(distribution, tfd.Categorical):
        classes = int(distribution.logits_parameter().shape[-1])
        return np.zeros((), np.int64), np.asarray(classes - 1)
    if isinstance(distribution, tfd.Bernoulli):
        return np.zeros((), np.int64), np.ones((), np.int64)
    return None


def discrete_entropy(distributions) -> tf.Tensor:
    """The summed entropy of the discrete parts (integer or bool samples: categorical,
    Bernoulli) of a distribution nest, in its batch shape; zeros without one."""
    parts = tf.nest.flatten(distributions)
    discrete = [d.entropy() for d in parts if d.dtype.is_integer or d.dtype == tf.bool]
    if discrete:
        return tf.add_n(discrete)
    return tf.zeros(parts[0].batch_shape_tensor())


def canonical(nest):
    """A state nest with lists for its sequences (NamedTuples, tuples): one structure whether
    a model was built in Python or loaded from its configuration."""
    if isinstance(nest, dict):
        return {key: canonical(value) for key, value in nest.items()}
    if isinstance(nest, list | tuple):
        return [canonical(value) for value in nest]
    return nest


def drop_time_axis(nest):
    """Removes the length-1 time axis that `KerasPolicy` added, checking every output has it."""

    def drop(path, value):
        if value.shape.rank is None or value.shape.rank < 2 or value.shape[1] not in (1, None):
            raise ValueError(
                f"KerasPolicy: the model takes a time axis ([batch, time, ...]), so every output "
                f"must keep it, but the output at {path or 'the root'} has shape {value.shape}."
            )
        return tf.squeeze(value, 1)

    flat = [drop(p, v) for p, v in zip(leaf_paths(nest), tf.nest.flatten(nest), strict=True)]
    return tf.nest.pack_sequence_as(nest, flat)
