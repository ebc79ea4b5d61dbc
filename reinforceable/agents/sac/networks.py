"""SAC's critics: the default MLP, or copies of a critic the user supplies."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

__all__ = ["critic", "critics_from", "features", "features_dim"]


def features(observation) -> tf.Tensor:
    """Every leaf of an observation nest, flattened and concatenated: `[B, D]` float32."""
    leaves = tf.nest.flatten(observation)
    batch = tf.shape(leaves[0])[0]
    return tf.concat([tf.reshape(tf.cast(x, tf.float32), [batch, -1]) for x in leaves], 1)


def features_dim(observation_spec) -> int:
    """`D` of `features` for observations of `observation_spec`."""
    return sum(int(np.prod(spec.shape)) for spec in tf.nest.flatten(observation_spec))


def critic(input_dim: int, hidden: tuple[int, ...], name: str = "critic") -> keras.Model:
    """The default critic: an MLP (ReLU) from `[B, input_dim]` to `Q` `[B]`."""
    inputs = keras.Input((input_dim,))
    x = inputs
    for units in hidden:
        x = keras.layers.Dense(units, activation="relu")(x)
    q = keras.layers.Reshape(())(keras.layers.Dense(1)(x))
    return keras.Model(inputs, q, name=name)


def critics_from(
    template: keras.Model | None, input_dim: int, hidden: tuple[int, ...], owner: str = "SACAgent"
) -> tuple[list[keras.Model], list[keras.Model]]:
    """Twin critics and their targets (initialised to the critics' weights).

    Args:
        template: A user's critic, `[B, input_dim] -> [B]` (observation features, the
            continuous action and one-hot discrete choices, concatenated), of which four fresh
            copies are made (`keras.models.clone_model`); `None` for the default MLP.
        input_dim: The width of the critics' input.
        hidden: Units of the default MLP.

    Raises:
        ValueError: If the template does not map `[B, input_dim]` to `[B]`.
    """
    if template is None:
        make = lambda name: critic(input_dim, hidden, name)  # noqa: E731
    else:
        try:
            q = template(tf.zeros([2, input_dim]))
        except Exception as error:
            raise ValueError(
                f"{owner}: `critic` must take [batch, {input_dim}] inputs (observation features, "
                f"continuous action, one-hot discrete choices): {error}"
            ) from None
        if tuple(q.shape) != (2,):
            raise ValueError(
                f"{owner}: `critic` must return Q of shape [batch]; it returned {tuple(q.shape)} "
                "for a batch of 2 (a Dense(1) needs a keras.layers.Reshape(()) after it)."
            )

        def make(name):
            copy = keras.models.clone_model(template)
            copy.build((None, input_dim))
            return copy

    critics = [make(f"critic_{i}") for i in range(2)]
    targets = [make(f"target_critic_{i}") for i in range(2)]
    for source, target in zip(critics, targets, strict=True):
        target.set_weights(source.get_weights())
    return critics, targets
