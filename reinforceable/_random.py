"""The seeded-or-not TF random generator that agents and the Driver own."""

from __future__ import annotations

import tensorflow as tf


def generator(seed: int | None) -> tf.random.Generator:
    """`tf.random.Generator.from_seed(seed)`, or a non-deterministic one when `seed` is None."""
    if seed is None:
        return tf.random.Generator.from_non_deterministic_state()
    return tf.random.Generator.from_seed(seed)
