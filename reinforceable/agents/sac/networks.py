"""SAC's critics: the default MLP (observations encoded where they need it), or copies of a
critic the user supplies."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from reinforceable.envs.specs import space_to_spec
from reinforceable.layers.batch_renorm import BatchRenormalization, normalization_layers
from reinforceable.layers.fold_time import FoldTime
from reinforceable.layers.stateful_rnn import StatefulRNN
from reinforceable.networks.encoders import needs_encoder, observation_encoder

__all__ = [
    "SplitFeatures",
    "critic",
    "critics_from",
    "encoded_features",
    "features",
    "features_dim",
    "recurrent_torso",
    "sequence_features",
    "zero_state",
]


def features(observation) -> tf.Tensor:
    """Every leaf of an observation nest, flattened and concatenated: `[B, D]` float32."""
    leaves = tf.nest.flatten(observation)
    batch = tf.shape(leaves[0])[0]
    return tf.concat([tf.reshape(tf.cast(x, tf.float32), [batch, -1]) for x in leaves], 1)


def sequence_features(observation) -> tf.Tensor:
    """`features` of each step of `[N, T, ...]` observation sequences: `[N, T, D]` float32."""
    leaves = tf.nest.flatten(observation)
    shape = tf.shape(leaves[0])[:2]
    flat = [tf.reshape(tf.cast(x, tf.float32), tf.concat([shape, [-1]], 0)) for x in leaves]
    return tf.concat(flat, 2)


def features_dim(observation_spec) -> int:
    """`D` of `features` for observations of `observation_spec`."""
    return sum(int(np.prod(spec.shape)) for spec in tf.nest.flatten(observation_spec))


@keras.saving.register_keras_serializable(package="reinforceable")
class SplitFeatures(keras.layers.Layer):
    """The inverse of `features` on the first columns: `[B, D]` float32, the observation's leaves
    flattened and concatenated and then any other columns, to the leaves `[B, *shape]` in their
    dtypes, followed by the other columns `[B, D - sum(prod(shape))]`."""

    def __init__(self, shapes, dtypes, **kwargs):
        super().__init__(**kwargs)
        self.shapes = [tuple(int(d) for d in shape) for shape in shapes]
        self.dtypes = [str(dtype) for dtype in dtypes]

    def call(self, inputs):
        sizes = [int(np.prod(shape)) for shape in self.shapes]
        parts = tf.split(inputs, [*sizes, -1], axis=1)
        leaves = [
            tf.cast(tf.reshape(part, [-1, *shape]), dtype)
            for part, shape, dtype in zip(parts, self.shapes, self.dtypes, strict=False)
        ]
        return [*leaves, parts[-1]]

    def compute_output_shape(self, input_shape):
        sizes = sum(int(np.prod(shape)) for shape in self.shapes)
        rest = None if input_shape[-1] is None else input_shape[-1] - sizes
        return [(input_shape[0], *shape) for shape in self.shapes] + [(input_shape[0], rest)]

    def get_config(self):
        return {**super().get_config(), "shapes": self.shapes, "dtypes": self.dtypes}


def encoded_features(observation_space: gym.Space | None, name: str) -> keras.Model | None:
    """The observation's `features` `[B, D]` split back into the observation and encoded as the
    ready-made actors encode it (`reinforceable.networks.observation_encoder`: one-hot for
    `Discrete`, the Nature CNN for images, an encoder per `Dict` key): a model to `[B, F]`;
    `None` for a flat float `Box` (or no space), whose features are used as they are."""
    if observation_space is None or not needs_encoder(observation_space):
        return None
    spec = space_to_spec(observation_space)
    leaves = tf.nest.flatten(spec)
    inputs = keras.Input((features_dim(spec),))
    split = SplitFeatures(
        [leaf.shape for leaf in leaves], [leaf.dtype.name for leaf in leaves], name="split"
    )(inputs)
    observation = tf.nest.pack_sequence_as(spec, split[:-1])
    encoded = observation_encoder(observation_space, name=f"{name}_observation")(observation)
    return keras.Model(inputs, encoded, name=name)


def critic(
    input_dim: int,
    hidden: tuple[int, ...],
    name: str = "critic",
    observation_space: gym.Space | None = None,
    dropout: float = 0.0,
    batch_renorm: bool = False,
) -> keras.Model:
    """The default critic: an MLP (ReLU) from `[B, input_dim]` to `Q` `[B]`; with `dropout`
    (DroQ, Hiraoka et al. 2022), each hidden layer is Dense → Dropout → LayerNormalization →
    ReLU; with `batch_renorm` (CrossQ, Bhatt et al. 2024), `BatchRenormalization` on the input
    and after each hidden layer's ReLU.

    With an `observation_space` that is anything but a flat float `Box`, the observation's
    columns of the input (the first `features_dim` ones) go through `encoded_features` (fresh
    weights per critic) and the rest of the input (the action) is concatenated to the encoding.
    """
    inputs = keras.Input((input_dim,))
    x = inputs
    encoder = encoded_features(observation_space, f"{name}_encoder")
    if encoder is not None:
        size = encoder.input.shape[-1]
        parts = SplitFeatures([(size,)], ["float32"], name="observation_and_action")(inputs)
        x = keras.layers.Concatenate(name="encoded_and_action")([encoder(parts[0]), parts[1]])
    if batch_renorm:
        x = BatchRenormalization(name="input_renorm")(x)
    for units in hidden:
        if dropout:
            x = keras.layers.Dense(units)(x)
            x = keras.layers.Dropout(dropout)(x)
            x = keras.layers.Activation("relu")(keras.layers.LayerNormalization()(x))
        else:
            x = keras.layers.Dense(units, activation="relu")(x)
        if batch_renorm:
            x = BatchRenormalization()(x)
    q = keras.layers.Reshape(())(keras.layers.Dense(1)(x))
    return keras.Model(inputs, q, name=name)


def critics_from(
    template: keras.Model | None,
    input_dim: int,
    hidden: tuple[int, ...],
    owner: str = "SACAgent",
    observation_space: gym.Space | None = None,
    count: int = 2,
    dropout: float = 0.0,
    batch_renorm: bool = False,
) -> tuple[list[keras.Model], list[keras.Model]]:
    """`count` critics (twin critics by default) and their targets (initialised to the critics'
    weights).

    Args:
        template: A user's critic, `[B, input_dim] -> [B]` (observation features, the
            continuous action and one-hot discrete choices, concatenated), of which `2 · count`
            fresh copies are made (`keras.models.clone_model`); `None` for the default MLP.
        input_dim: The width of the critics' input.
        hidden: Units of the default MLP.
        observation_space: Where the default critic encodes observations (see `critic`).
        count: How many critics (and targets).
        dropout: The default critic's dropout rate (DroQ; 0: none).
        batch_renorm: CrossQ: the default critic's batch renormalisation, and a template must
            have normalisation layers (`normalization_layers`).

    Raises:
        ValueError: If the template does not map `[B, input_dim]` to `[B]`, or has no
            normalisation layers with `batch_renorm`.
    """
    if template is None:
        make = lambda name: critic(  # noqa: E731
            input_dim, hidden, name, observation_space, dropout, batch_renorm
        )
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
        if batch_renorm and not normalization_layers(template):
            raise ValueError(
                f"{owner}: CrossQ (`crossq=True`) trains without target critics and needs "
                "normalisation layers in the critic (BatchNormalization or "
                "reinforceable.layers.BatchRenormalization); the given `critic` has none."
            )

        def make(name):
            copy = keras.models.clone_model(template)
            copy.build((None, input_dim))
            return copy

    critics = [make(f"critic_{i}") for i in range(count)]
    targets = [make(f"target_critic_{i}") for i in range(count)]
    for source, target in zip(critics, targets, strict=True):
        target.set_weights(source.get_weights())
    return critics, targets


def recurrent_torso(
    input_dim: int,
    cell: str,
    units: int,
    embedding: int,
    name: str = "critic_torso",
    observation_space: gym.Space | None = None,
) -> keras.Model:
    """The recurrent critics' torso: the observation features encoded per step where the space
    needs it (`encoded_features`), a dense embedding (ReLU) and a `StatefulRNN`, reset where
    episodes start, with its state in and out explicitly.

    Inputs `{"features": [N, T, input_dim], "episode_start": [N, T], "state": {"rnn": [...]}}`;
    outputs `{"features": [N, T, units], "encoded": [N, T, F], "state": {"rnn": [...]}}`, where
    `encoded` is what the heads see of the observation (the input features themselves, `F =
    input_dim`, for a flat float `Box`).
    """
    observation = keras.Input((None, input_dim), name="features")
    episode_start = keras.Input((None,), dtype="bool", name="episode_start")
    encoder = encoded_features(observation_space, f"{name}_encoder")
    encoded = observation if encoder is None else FoldTime(encoder, name="encoder")(observation)
    rnn = StatefulRNN(cell, units, name="rnn")
    state = rnn.state_inputs()
    x = keras.layers.Dense(embedding, activation="relu", name="embedding")(encoded)
    h, final = rnn(x, reset_mask=episode_start, initial_state=state, return_state=True)
    return keras.Model(
        {"features": observation, "episode_start": episode_start, "state": {"rnn": state}},
        {"features": h, "encoded": encoded, "state": {"rnn": list(final)}},
        name=name,
    )


def zero_state(model: keras.Model, batch) -> dict:
    """Zeros of a model's `"state"` input for `batch` rows."""
    return tf.nest.map_structure(
        lambda t: tf.zeros(tf.concat([[batch], t.shape[1:]], 0), t.dtype), model.input["state"]
    )
