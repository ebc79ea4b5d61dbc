"""Partially observed classic control: the velocities are hidden from the observation.

Registered ids (`import reinforceable` registers them), with what each observation keeps:

* `reinforceable/CartPoleNoVel-v1` (`CartPole-v1`): cart position and pole angle;
* `reinforceable/PendulumNoVel-v1` (`Pendulum-v1`): cos and sin of the angle;
* `reinforceable/MountainCarContinuousNoVel-v0` (`MountainCarContinuous-v0`): position.

A memoryless policy cannot solve these well; a recurrent one can infer the velocity from
consecutive observations. Time limits, rewards and dynamics are those of the base environments.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

__all__ = ["MASKED_TASKS", "ObservationSubset", "make_masked"]


class ObservationSubset(gym.ObservationWrapper):
    """Keeps the entries `keep` of a 1-D Box observation."""

    def __init__(self, env: gym.Env, keep: tuple[int, ...]):
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
            raise ValueError(
                f"ObservationSubset: needs a 1-D Box observation space; received {space}."
            )
        self.keep = np.asarray(keep)
        self.observation_space = gym.spaces.Box(
            space.low[self.keep], space.high[self.keep], dtype=space.dtype
        )

    def observation(self, observation):
        return observation[self.keep]


# id: (base id, kept indices, max_episode_steps of the base)
MASKED_TASKS = {
    "reinforceable/CartPoleNoVel-v1": ("CartPole-v1", (0, 2), 500),
    "reinforceable/PendulumNoVel-v1": ("Pendulum-v1", (0, 1), 200),
    "reinforceable/MountainCarContinuousNoVel-v0": ("MountainCarContinuous-v0", (0,), 999),
}


def make_masked(base_id: str, keep: tuple[int, ...], **kwargs) -> gym.Env:
    """The base environment without its time limit (the registration adds it), keeping `keep`."""
    return ObservationSubset(gym.make(base_id, max_episode_steps=-1, **kwargs), keep)
