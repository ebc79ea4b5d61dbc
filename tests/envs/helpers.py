"""Environments for tests: a small env with nested spaces, and one that fails on purpose."""

import gymnasium as gym
import numpy as np


class NestedEnv(gym.Env):
    """A Dict observation (with an action mask) and a Tuple action (discrete, continuous).

    The observation is `{"position": Box(2), "action_mask": MultiBinary(3)}`; the action is
    `(Discrete(3), Box(-1, 1, (2,)))`. Choosing a masked action is an error. Episodes last
    `length` steps; the reward is the discrete choice plus the sum of the continuous part.
    """

    def __init__(self, length: int = 5):
        self.length = length
        self.observation_space = gym.spaces.Dict(
            {
                "position": gym.spaces.Box(-10.0, 10.0, (2,), np.float32),
                "action_mask": gym.spaces.MultiBinary(3),
            }
        )
        self.action_space = gym.spaces.Tuple(
            (gym.spaces.Discrete(3), gym.spaces.Box(-1.0, 1.0, (2,), np.float32))
        )

    def _observation(self):
        return {"position": self._position.astype(np.float32), "action_mask": self._mask.copy()}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._position = self.np_random.uniform(-1.0, 1.0, 2)
        self._mask = np.array([1, 1, 0], np.int8)
        self._mask[self.np_random.integers(2)] = 1
        return self._observation(), {}

    def step(self, action):
        choice, move = action
        if not self._mask[int(choice)]:
            raise ValueError(f"masked action {int(choice)} chosen")
        self._t += 1
        self._position = np.clip(self._position + move, -10, 10)
        reward = float(choice) + float(np.sum(move))
        return self._observation(), reward, False, self._t >= self.length, {}


class FailingEnv(gym.Env):
    """CartPole-like spaces; `step` raises ValueError once `fail_at` steps have been taken."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, fail_at: int | None = None):
        self.fail_at = fail_at

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        self._t += 1
        if self.fail_at is not None and self._t >= self.fail_at:
            raise ValueError("the simulator diverged")
        return np.zeros(2, np.float32), 1.0, False, False, {}


class MalformedEnv(gym.Env):
    """A Box(2) observation and Discrete(2) action; from step `at` on (0: reset), one field of
    what it returns is wrong in the way `fault` names:

    `"shape"` (a 3-vector observation), `"strings"` (an observation of strings), `"arity"` (a
    4-tuple from step, the observation alone from reset), `"nan_observation"`, `"inf_reward"`,
    `"reward_type"` (a string reward) or `"die"` (the process kills itself: an async worker's
    death).
    """

    observation_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, fault: str | None = None, at: int = 1):
        self.fault, self.at = fault, at
        self._t = 0

    def _observation(self, broken: bool):
        if broken and self.fault == "shape":
            return np.zeros(3, np.float32)
        if broken and self.fault == "strings":
            return np.array(["a", "b"])
        if broken and self.fault == "nan_observation":
            return np.array([0.0, np.nan], np.float32)
        return np.zeros(2, np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        broken = self.at == 0
        if broken and self.fault == "arity":
            return self._observation(False)
        return self._observation(broken), {}

    def step(self, action):
        self._t += 1
        broken = self.at and self._t >= self.at
        if broken and self.fault == "die":
            import os
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
        if broken and self.fault == "arity":
            return self._observation(False), 1.0, False, {}
        reward = 1.0
        if broken and self.fault == "inf_reward":
            reward = float("inf")
        if broken and self.fault == "reward_type":
            reward = "one"
        return self._observation(broken), reward, False, False, {}
