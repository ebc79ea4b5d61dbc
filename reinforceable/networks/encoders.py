"""Observation encoders: any observation space to one feature vector per step.

`observation_encoder(space)` returns a Keras model from one step's observation nest (in the
spec dtypes of `reinforceable.envs.specs`, batch first) to float32 features `[batch, D]`, with an
encoder per leaf of the space, concatenated in `tf.nest` order (SB3's `CombinedExtractor`):

* an image `Box` (uint8, three dimensions, 1, 3 or 4 channels first or last): `nature_cnn`
  (Mnih et al. 2015: scaled to [0, 1], three convolutions, a dense layer of 512);
* any other `Box`: flattened (cast to float32);
* `Discrete(n)`: one-hot of `n`; `MultiDiscrete(nvec)`: a one-hot per entry, concatenated;
* `MultiBinary`: flattened as 0.0 / 1.0;
* `Dict` and `Tuple`: their parts' encoders, concatenated.

Per-key encoders can be supplied (`encoders={"camera": my_cnn}`, paths `"a/b"` for nested
keys, `"0"` for tuple parts): any Keras layer from `[batch, *leaf_shape]` (or the part's
nest) to `[batch, features]`.
"""

from __future__ import annotations

from collections.abc import Mapping

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from reinforceable.envs.specs import space_to_spec

__all__ = ["Flat", "OneHot", "is_image_space", "nature_cnn", "observation_encoder"]

_CHANNELS = (1, 3, 4)


@keras.saving.register_keras_serializable(package="reinforceable")
class OneHot(keras.layers.Layer):
    """One-hot of each integer entry, concatenated: `[batch, k]` (or `[batch]`) of values in
    `[0, depths[i])` to float32 `[batch, sum(depths)]`."""

    def __init__(self, depths, **kwargs):
        super().__init__(**kwargs)
        self.depths = [int(d) for d in np.atleast_1d(depths)]

    def call(self, inputs):
        inputs = tf.reshape(tf.cast(inputs, tf.int32), [-1, len(self.depths)])
        parts = [tf.one_hot(inputs[:, i], d) for i, d in enumerate(self.depths)]
        return tf.concat(parts, -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], sum(self.depths))

    def get_config(self):
        return {**super().get_config(), "depths": self.depths}


@keras.saving.register_keras_serializable(package="reinforceable")
class Flat(keras.layers.Layer):
    """`[batch, ...]` to float32 `[batch, prod(...)]`."""

    def call(self, inputs):
        inputs = tf.cast(inputs, tf.float32)
        return tf.reshape(inputs, [tf.shape(inputs)[0], int(np.prod(inputs.shape[1:]))])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))


def is_image_space(space: gym.Space) -> bool:
    """An image `Box`: uint8 with three dimensions and 1, 3 or 4 channels first or last (Atari
    frame stacks `[4, 84, 84]`, RGB frames `[H, W, 3]`)."""
    return (
        isinstance(space, gym.spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and (space.shape[-1] in _CHANNELS or space.shape[0] in _CHANNELS)
    )


def nature_cnn(shape, features: int = 512, name: str = "nature_cnn") -> keras.Model:
    """The Nature DQN CNN for uint8 images of `shape` (channels last, or first when only the first
    axis has 1, 3 or 4 entries): `[batch, *shape]` to `[batch, features]` (ReLU), with SB3's
    orthogonal initialisation (gain sqrt 2)."""
    shape = tuple(int(s) for s in shape)
    channels_first = shape[0] in _CHANNELS and shape[-1] not in _CHANNELS
    init = keras.initializers.Orthogonal(np.sqrt(2))
    layers = [keras.Input(shape, dtype="uint8"), keras.layers.Rescaling(1.0 / 255)]
    if channels_first:
        layers.append(keras.layers.Permute((2, 3, 1)))
    relu = {"activation": "relu", "kernel_initializer": init}
    for filters, size, stride in ((32, 8, 4), (64, 4, 2), (64, 3, 1)):
        layers.append(keras.layers.Conv2D(filters, size, strides=stride, **relu))
    layers += [keras.layers.Flatten(), keras.layers.Dense(features, **relu)]
    return keras.Sequential(layers, name=name)


def _leaf_encoder(space: gym.Space, name: str) -> keras.layers.Layer:
    if is_image_space(space):
        return nature_cnn(space.shape, name=f"{name}_cnn")
    if isinstance(space, gym.spaces.Discrete):
        return OneHot([space.n], name=f"{name}_one_hot")
    if isinstance(space, gym.spaces.MultiDiscrete):
        if space.nvec.ndim != 1:
            raise TypeError(
                f"observation_encoder: a MultiDiscrete observation must have a flat `nvec`; "
                f"received nvec of shape {space.nvec.shape} at {name!r}; supply an encoder."
            )
        return OneHot(space.nvec, name=f"{name}_one_hot")
    return Flat(name=f"{name}_flat")


def _encode(space, inputs, encoders: dict, path: str, used: set, wrap):
    if path in encoders:
        used.add(path)
        return [wrap(encoders[path])(inputs)]
    if isinstance(space, gym.spaces.Dict):
        keys = sorted(space.spaces)  # tf.nest order
        return [
            part
            for key in keys
            for part in _encode(space[key], inputs[key], encoders, _join(path, key), used, wrap)
        ]
    if isinstance(space, gym.spaces.Tuple):
        return [
            part
            for i, sub in enumerate(space.spaces)
            for part in _encode(sub, inputs[i], encoders, _join(path, str(i)), used, wrap)
        ]
    return [wrap(_leaf_encoder(space, (path or "observation").replace("/", "_")))(inputs)]


def per_step(layer: keras.layers.Layer):
    """`layer` applied to every step of `[batch, time, ...]` inputs (`FoldTime`); a scalar
    leaf's `[batch, time]` gets a trailing axis first, so the layer sees `[batch * time, 1]`."""
    from reinforceable.layers.fold_time import FoldTime

    folded = FoldTime(layer)

    def apply(inputs):
        if len(inputs.shape) == 2:
            inputs = keras.layers.Reshape((-1, 1))(inputs)
        return folded(inputs)

    return apply


def _join(path: str, key: str) -> str:
    return f"{path}/{key}" if path else key


def encode(space: gym.Space, inputs, encoders=None, wrap=None):
    """Features of the Keras tensors `inputs` (shaped like `space`'s spec): one encoder per leaf
    (or per supplied path), concatenated on the last axis. `wrap` turns each leaf's layer into
    what is applied (`per_step` for `[batch, time, ...]` inputs)."""
    wrap = wrap or (lambda layer: layer)
    if isinstance(encoders, keras.layers.Layer):
        encoders = {"": encoders}
    encoders = encoders or {}
    layers = isinstance(encoders, Mapping) and all(
        isinstance(v, keras.layers.Layer) for v in encoders.values()
    )
    if not layers:
        raise TypeError(
            "observation_encoder: `encoders` must be a Keras layer or map observation keys to "
            f"Keras layers; received {encoders!r}."
        )
    used: set[str] = set()
    parts = _encode(space, inputs, encoders, "", used, wrap)
    if unknown := sorted(set(encoders) - used):
        raise ValueError(
            f"observation_encoder: `encoders` has keys {unknown} that are not parts of the "
            f"observation space; its parts are {sorted(_paths(space))}."
        )
    if len(parts) == 1:
        return parts[0]
    return keras.layers.Concatenate(name="observation_features")(parts)


def _paths(space: gym.Space, path: str = "") -> list[str]:
    if isinstance(space, gym.spaces.Dict):
        items = sorted(space.spaces.items())
    elif isinstance(space, gym.spaces.Tuple):
        items = [(str(i), sub) for i, sub in enumerate(space.spaces)]
    else:
        return []
    return [p for key, sub in items for p in [_join(path, key), *_paths(sub, _join(path, key))]]


def observation_inputs(space: gym.Space, time_axis: bool = False, name: str = "observation"):
    """`keras.Input`s shaped like `space`'s spec, `[batch(, time), ...]`."""
    prefix = (None,) if time_axis else ()

    def make(spec):  # a Dict key names its input (what Keras asks of dict inputs)
        label = spec.name.replace("/", "_") if spec.name else name
        label = f"{name}_{label}" if label[0].isdigit() else label
        return keras.Input((*prefix, *spec.shape), dtype=spec.dtype.name, name=label)

    return tf.nest.map_structure(make, space_to_spec(space))


def needs_encoder(space: gym.Space) -> bool:
    """Whether `space` is anything but a flat float `Box` (which models take as it is)."""
    return not (
        isinstance(space, gym.spaces.Box)
        and len(space.shape) == 1
        and np.issubdtype(space.dtype, np.floating)
    )


def observation_encoder(space: gym.Space, encoders=None, name: str = "encoder") -> keras.Model:
    """A model from one step's observation nest `[batch, ...]` to float32 `[batch, D]`.

    Args:
        space: The observation space (Box, Discrete, MultiDiscrete, MultiBinary, Dict, Tuple).
        encoders: A Keras layer for the whole observation, or a mapping from observation keys
            (`"camera"`, `"a/b"`, `"0"`) to Keras layers that replace the default encoders there.

    Raises:
        TypeError: For `encoders` that are not Keras layers, or a space without a default.
        ValueError: For an `encoders` key that is not part of the space (the parts are listed).

    Example:
        >>> space = gym.spaces.Dict({"position": Box(-1, 1, (3,)), "mode": Discrete(4)})
        >>> encoder = observation_encoder(space)      # [batch, 3 + 4]
    """
    inputs = observation_inputs(space)
    return keras.Model(inputs, encode(space, inputs, encoders), name=name)
