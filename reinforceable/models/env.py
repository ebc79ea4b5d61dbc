"""`ModelEnv`: a gymnasium environment built from any `Model`."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable.models.base import Model

__all__ = ["ModelEnv", "model_spaces"]


def model_spaces(model: Model) -> tuple[gym.spaces.Box, gym.spaces.Box]:
    """The gymnasium observation and action spaces of a model's environment (`ModelEnv` and
    `TFEnv` alike): float32 observations of `obs_dim`, unbounded, and float32 actions of
    `action_dim` in the model's action bounds (unbounded where it has none)."""
    observation = gym.spaces.Box(-np.inf, np.inf, (model.obs_dim,), np.float32)
    if model.action_low is not None:
        low = np.asarray(model.action_low, np.float32)
        high = np.asarray(model.action_high, np.float32)
    else:
        low = np.full(model.action_dim, -np.inf, np.float32)
        high = np.full(model.action_dim, np.inf, np.float32)
    return observation, gym.spaces.Box(low, high, dtype=np.float32)


class ModelEnv(gym.Env):
    """Steps a `Model` in float64, so planners and agents can be tested on a known system.

    `reset` draws the state with `model.initial_state`; `step` applies `model.step` and
    `model.reward`, ends the episode where `model.terminal` holds and truncates it after
    `max_episode_steps`. Observations are `model.observe(state)` in float32; `info["state"]` holds
    the full state. A model with `process_noise` or `observation_noise` covariances (a
    `PartiallyObserved` one) has Gaussian noise added to every next state and every observation,
    drawn from the env's seeded generator.

    Args:
        model: A `Model`.
        max_episode_steps: Steps before truncation.
        initial_state: A fixed `[state_dim]` state for every episode (a pendulum hanging at rest,
            say); `None` draws it with `model.initial_state`.

    Raises:
        TypeError: If `model` is not a `Model`.
        ValueError: If `max_episode_steps` is not a positive int or `initial_state` does not have
            `state_dim` finite entries.

    Example:
        >>> env = rf.GymEnv([lambda: ModelEnv(models.Pendulum(), 200)] * 8, seed=0)
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, model: Model, max_episode_steps: int = 200, initial_state=None):
        check_instance("ModelEnv", "model", model, Model, "a reinforceable.models.Model")
        if (
            isinstance(max_episode_steps, bool)
            or not isinstance(max_episode_steps, int)
            or max_episode_steps <= 0
        ):
            raise ValueError(
                f"ModelEnv: `max_episode_steps` must be a positive int; received "
                f"{max_episode_steps!r}."
            )
        self.model = model
        self.max_episode_steps = max_episode_steps
        self.initial_state = None
        if initial_state is not None:
            state = np.asarray(initial_state, np.float64)
            if state.shape != (model.state_dim,) or not np.all(np.isfinite(state)):
                raise ValueError(
                    f"ModelEnv: `initial_state` must hold {model.state_dim} finite numbers "
                    f"(`state_dim`); received {np.asarray(initial_state).tolist()}."
                )
            self.initial_state = state
        self._noise = {
            name: None if cov is None else np.linalg.cholesky(cov + 1e-12 * np.eye(len(cov)))
            for name, cov in (
                ("process", model.process_noise),
                ("observation", model.observation_noise),
            )
        }
        self.observation_space, self.action_space = model_spaces(model)
        self._state = np.zeros(model.state_dim)
        self._steps = 0

    def _disturb(self, value: np.ndarray, kind: str) -> np.ndarray:
        scale = self._noise[kind]
        if scale is None:
            return value
        return value + scale @ self.np_random.standard_normal(len(scale))

    def _observation(self) -> np.ndarray:
        observation = np.asarray(self.model.observe(tf.constant(self._state)), np.float64)
        return self._disturb(observation, "observation").astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        draw = self.np_random.integers(0, 2**31 - 1, size=2)
        if self.initial_state is not None:
            self._state = self.initial_state.copy()
        else:
            self._state = self.model.initial_state([], tf.constant(draw), tf.float64).numpy()
        self._steps = 0
        return self._observation(), {"state": self._state.copy()}

    def step(self, action):
        action = np.asarray(action, np.float64).reshape(self.model.action_dim)
        state = tf.constant(self._state)
        reward = float(self.model.reward(state, action))
        self._state = self._disturb(self.model.step(state, action).numpy(), "process")
        self._steps += 1
        terminated = bool(self.model.terminal(tf.constant(self._state)))
        truncated = self._steps >= self.max_episode_steps
        return self._observation(), reward, terminated, truncated, {"state": self._state.copy()}
