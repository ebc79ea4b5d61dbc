"""`RandomPolicy`: uniformly random actions from a gymnasium action space."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import tensorflow as tf

from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.envs.timestep import Timestep

__all__ = ["RandomPolicy"]


class RandomPolicy(Policy):
    """Uniformly random actions from a gymnasium action space (a baseline, and for warm-up).

    Bounded Box dimensions are uniform in their bounds and unbounded ones standard normal;
    Discrete, MultiDiscrete and MultiBinary are uniform over their values. Actions are in spec
    dtypes (see `reinforceable.envs.specs`).

    Args:
        action_space: The gymnasium action space of one environment.
        batch_size: Actions per step; `None` takes the batch size of each timestep.
    """

    def __init__(self, action_space: gym.Space, batch_size: int | None = None):
        self.action_space = action_space
        self.batch_size = batch_size

    def _sample(self, space: gym.Space, seed: tf.Tensor, batch_size):
        shape = [batch_size]
        if isinstance(space, gym.spaces.Dict):
            keys = sorted(space.spaces)
            seeds = tf.unstack(tf.random.split(seed, len(keys)), num=len(keys))
            return {
                k: self._sample(space.spaces[k], s, batch_size)
                for k, s in zip(keys, seeds, strict=True)
            }
        if isinstance(space, gym.spaces.Tuple):
            seeds = tf.unstack(tf.random.split(seed, len(space.spaces)), num=len(space.spaces))
            return tuple(
                self._sample(sub, s, batch_size) for sub, s in zip(space.spaces, seeds, strict=True)
            )
        if isinstance(space, gym.spaces.Box):
            bounded = np.isfinite(space.low) & np.isfinite(space.high)
            # Unbounded dimensions draw from a dummy [0, 1) range and are replaced below.
            low = np.where(bounded, space.low, 0.0).astype(np.float32)
            high = np.where(bounded, space.high, 1.0).astype(np.float32)
            full = shape + list(space.shape)
            uniform = tf.random.stateless_uniform(full, seed, low, high)
            normal = tf.random.stateless_normal(full, tf.random.split(seed, 1)[0])
            return tf.where(bounded, uniform, normal)
        if isinstance(space, gym.spaces.Discrete):
            return tf.random.stateless_uniform(shape, seed, 0, int(space.n), dtype=tf.int32)
        if isinstance(space, gym.spaces.MultiDiscrete):
            nvec = tf.constant(space.nvec, tf.float32)
            uniform = tf.random.stateless_uniform(shape + list(space.nvec.shape), seed)
            return tf.cast(tf.floor(uniform * nvec), tf.int32)
        if isinstance(space, gym.spaces.MultiBinary):
            full = shape + list(np.shape(np.zeros(space.n)))
            return tf.random.stateless_uniform(full, seed, 0, 2, dtype=tf.int32)
        raise TypeError(f"RandomPolicy: unsupported action space {type(space).__name__}.")

    def step(self, timestep: Timestep, state: Any, seed: tf.Tensor) -> PolicyStep:
        batch_size = self.batch_size
        if batch_size is None:  # static where the Driver knows it, as it always does
            batch_size = timestep.reward.shape[0] or tf.shape(timestep.reward)[0]
        action = self._sample(self.action_space, seed, batch_size)
        return PolicyStep(action=action, state=state, extras={})
