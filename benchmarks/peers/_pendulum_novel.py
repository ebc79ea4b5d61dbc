"""Pendulum-v1 without its angular velocity, for the peer scripts (as the project's
`reinforceable/PendulumNoVel-v1`: cos and sin of the angle)."""

import gymnasium as gym
import numpy as np


class NoVelocity(gym.ObservationWrapper):
    """Keeps the first two entries of Pendulum-v1's observation: cos and sin of the angle."""

    def __init__(self, env):
        super().__init__(env)
        space = env.observation_space
        self.observation_space = gym.spaces.Box(space.low[:2], space.high[:2], dtype=np.float32)

    def observation(self, observation):
        return observation[:2].astype(np.float32)


def make_pendulum_novel():
    return NoVelocity(gym.make("Pendulum-v1"))
