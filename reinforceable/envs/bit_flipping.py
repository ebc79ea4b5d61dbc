"""`BitFlipping`: the goal task of the hindsight experience replay paper (Andrychowicz et al.
2017, section 3.1), with gymnasium's goal-conditioned Dict observations and `compute_reward`."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np

__all__ = ["BitFlipping"]


class BitFlipping(gym.Env):
    """Flip bits until the state equals the goal.

    The state and the goal are `n_bits` random bits. Discrete actions flip one bit (`a` in
    `[0, n_bits)`); continuous ones (`continuous=True`, a `Box(-1, 1, (n_bits,))`) flip every
    bit whose action is positive, as in SB3's version for DDPG and TD3. The reward is 0 where the
    state equals the goal and -1 elsewhere, so without hindsight a random policy almost never
    sees a success once `n_bits` passes 10 or so. Success does not end the episode (the policy
    must keep the bits where they are, as a reaching robot must stay): an episode is truncated
    after `max_steps` steps, and `info["is_success"]` says whether the state equals the goal.

    The observation is a Dict of float32 bits: `observation` (the state), `achieved_goal` (the
    state too) and `desired_goal`.

    Args:
        n_bits: The number of bits (at least 1).
        continuous: Continuous actions (flip where positive) instead of one discrete flip.
        max_steps: The episode's length; by default `n_bits` (the paper's).

    Raises:
        ValueError: For `n_bits` or `max_steps` that are not positive ints.

    Example:
        >>> env = rf.GymEnv("reinforceable/BitFlipping-v0", num_envs=8, n_bits=15,
        ...                 continuous=True, infos={"is_success": "bool"})
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, n_bits: int = 10, continuous: bool = False, max_steps: int | None = None):
        for name, value in (("n_bits", n_bits), ("max_steps", max_steps)):
            if value is None and name == "max_steps":
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
                raise ValueError(
                    f"BitFlipping: `{name}` must be a positive int; received {value!r}."
                )
        self.n_bits = int(n_bits)
        self.continuous = bool(continuous)
        self.max_steps = self.n_bits if max_steps is None else int(max_steps)
        bits = gym.spaces.Box(0.0, 1.0, (self.n_bits,), np.float32)
        self.observation_space = gym.spaces.Dict(
            {"observation": bits, "achieved_goal": bits, "desired_goal": bits}
        )
        if self.continuous:
            self.action_space = gym.spaces.Box(-1.0, 1.0, (self.n_bits,), np.float32)
        else:
            self.action_space = gym.spaces.Discrete(self.n_bits)
        self._state = np.zeros(self.n_bits, np.float32)
        self._goal = np.zeros(self.n_bits, np.float32)
        self._steps = 0

    @staticmethod
    def compute_reward(achieved_goal, desired_goal, info=None) -> np.ndarray:
        """0 where every bit of `achieved_goal` equals `desired_goal`'s, -1 elsewhere; both are
        `[..., n_bits]`, the result `[...]` float32 (gymnasium's vectorised `compute_reward`)."""
        achieved, desired = np.asarray(achieved_goal), np.asarray(desired_goal)
        mismatch = np.any(np.abs(achieved - desired) > 0.5, axis=-1)
        return -mismatch.astype(np.float32)

    def _observation(self) -> dict:
        return {
            "observation": self._state.copy(),
            "achieved_goal": self._state.copy(),
            "desired_goal": self._goal.copy(),
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._state = self.np_random.integers(0, 2, self.n_bits).astype(np.float32)
        self._goal = self.np_random.integers(0, 2, self.n_bits).astype(np.float32)
        self._steps = 0
        return self._observation(), {"is_success": bool(np.array_equal(self._state, self._goal))}

    def step(self, action):
        if self.continuous:
            flip = np.asarray(action, np.float32).reshape(self.n_bits) > 0
        else:
            flip = np.arange(self.n_bits) == int(action)
        self._state = np.where(flip, 1.0 - self._state, self._state).astype(np.float32)
        self._steps += 1
        reward = float(self.compute_reward(self._state, self._goal))
        truncated = self._steps >= self.max_steps
        info = {"is_success": reward == 0.0}
        return self._observation(), reward, False, truncated, info
