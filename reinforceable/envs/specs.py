"""TF specs from gymnasium spaces, and conversions between gymnasium values and TF-ready arrays.

Every supported space maps to a nest of `tf.TensorSpec` for one environment (no batch dimension):

* `Box` with a floating dtype: float32 with the box's shape (float64 observations are cast);
* `Box` with an integer dtype (RGB frames): the box's dtype and shape (uint8 stays uint8);
* `Discrete(n, start)`: an int32 scalar in [0, n) (`start` is removed and restored);
* `MultiDiscrete(nvec)`: int32 with the shape of `nvec` (`start` likewise);
* `MultiBinary(n)`: int32 of shape `n`;
* `Tuple` / `Dict`: a tuple / dict of the above, nested (dict keys sorted, as in `tf.nest`).

Integer actions are int32 because that is what TFP's Categorical and Bernoulli sample.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import tensorflow as tf

__all__ = ["SpaceConverter", "batch_spec", "space_leaves", "space_to_spec"]

Nest = Any


def _leaf_spec(space: gym.Space, path: str) -> tf.TensorSpec:
    if isinstance(space, gym.spaces.Box):
        dtype = tf.float32 if np.issubdtype(space.dtype, np.floating) else tf.as_dtype(space.dtype)
        return tf.TensorSpec(space.shape, dtype, name=path or None)
    if isinstance(space, gym.spaces.Discrete):
        return tf.TensorSpec((), tf.int32, name=path or None)
    if isinstance(space, gym.spaces.MultiDiscrete):
        return tf.TensorSpec(space.nvec.shape, tf.int32, name=path or None)
    if isinstance(space, gym.spaces.MultiBinary):
        return tf.TensorSpec(np.shape(np.zeros(space.n)), tf.int32, name=path or None)
    raise TypeError(
        f"Unsupported gymnasium space {type(space).__name__} at {path or 'the root'}: expected "
        "Box, Discrete, MultiDiscrete, MultiBinary, or a Tuple or Dict of those."
    )


def space_to_spec(space: gym.Space, path: str = "") -> Nest:
    """The nest of `tf.TensorSpec` (one environment, no batch dimension) for a gymnasium space.

    Raises:
        TypeError: For a space that is not Box, Discrete, MultiDiscrete, MultiBinary, Tuple or Dict.
    """
    if isinstance(space, gym.spaces.Dict):
        return {key: space_to_spec(sub, f"{path}/{key}") for key, sub in space.spaces.items()}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(space_to_spec(sub, f"{path}/{i}") for i, sub in enumerate(space.spaces))
    return _leaf_spec(space, path.lstrip("/"))


def batch_spec(spec: Nest, batch_size: int | None) -> Nest:
    """`spec` with a leading batch dimension."""
    return tf.nest.map_structure(
        lambda s: tf.TensorSpec([batch_size, *s.shape], s.dtype, name=s.name), spec
    )


def space_leaves(space: gym.Space) -> list[gym.Space]:
    """The leaf spaces of a (nested) space in `tf.nest.flatten` order of its spec."""
    if isinstance(space, gym.spaces.Dict):
        return [leaf for key in sorted(space.spaces) for leaf in space_leaves(space.spaces[key])]
    if isinstance(space, gym.spaces.Tuple):
        return [leaf for sub in space.spaces for leaf in space_leaves(sub)]
    return [space]


def _start(space: gym.Space):
    return getattr(space, "start", 0)


class SpaceConverter:
    """Converts batched gymnasium values to and from flat lists of TF-ready arrays.

    `to_arrays(value)` flattens a batched gymnasium value (observation or action) into arrays of
    the spec dtypes, in `tf.nest.flatten` order. `to_gym(arrays)` goes the other way, restoring
    gymnasium dtypes, `Discrete`/`MultiDiscrete` starts and the Tuple/Dict structure; Box values
    are clipped to the space's bounds when `clip` is set (for actions). Both run at every
    environment step, so each leaf gets a converter that does no work it does not need.
    """

    def __init__(self, space: gym.Space):
        self.space = space
        self.spec = space_to_spec(space)
        self.flat_spec = tf.nest.flatten(self.spec)
        self.leaves = space_leaves(space)
        self._nested = len(self.leaves) > 1 or self.leaves[0] is not space
        self._to_spec = [
            _converter(np.asarray(-_start(leaf)), spec.dtype.as_numpy_dtype)
            for leaf, spec in zip(self.leaves, self.flat_spec, strict=True)
        ]
        self._to_space = [
            _converter(np.asarray(_start(leaf)), leaf.dtype, *_clip_bounds(leaf))
            for leaf in self.leaves
        ]

    def to_arrays(self, value) -> list[np.ndarray]:
        # Gymnasium gives dicts for Dict spaces and tuples for Tuple spaces: both are nests.
        flat = tf.nest.flatten(value) if self._nested else [value]
        return [convert(v) for convert, v in zip(self._to_spec, flat, strict=True)]

    def to_gym(self, arrays, clip: bool = False):
        converted = [
            convert(array, clip) for convert, array in zip(self._to_space, arrays, strict=True)
        ]
        if not self._nested:
            return converted[0]
        return _to_gym_structure(self.space, iter(converted))


def _clip_bounds(space: gym.Space) -> tuple:
    if isinstance(space, gym.spaces.Box):
        return space.low, space.high
    return None, None


def _converter(offset: np.ndarray, dtype, low=None, high=None):
    """`array (+ offset)`, clipped to `[low, high]` if asked, as `dtype`; copies only if needed."""
    shift = bool(np.any(offset != 0))

    def convert(array, clip: bool = False):
        array = np.asarray(array)
        if clip and low is not None:
            array = np.clip(array, low, high)
        if shift:
            array = array + offset
        return array.astype(dtype, copy=False)

    return convert


def _to_gym_structure(space: gym.Space, arrays):
    if isinstance(space, gym.spaces.Dict):
        return {key: _to_gym_structure(space.spaces[key], arrays) for key in sorted(space.spaces)}
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_to_gym_structure(sub, arrays) for sub in space.spaces)
    return next(arrays)
