"""Goal-conditioned tasks (gymnasium's `GoalEnv` convention): their Dict observations
(`observation`, `achieved_goal`, `desired_goal`) and `GoalReward`, a picklable handle on the
task's vectorised `compute_reward(achieved_goal, desired_goal, info)`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np

__all__ = ["GOAL_KEYS", "GoalReward", "goal_space_problem", "vector_goal_reward"]

GOAL_KEYS = ("observation", "achieved_goal", "desired_goal")


def goal_space_problem(space: gym.Space) -> str | None:
    """What keeps `space` from being a goal-conditioned observation space (a Dict with Box
    `achieved_goal` and `desired_goal` of one shape, and an `observation`), or `None`."""
    if not isinstance(space, gym.spaces.Dict):
        return f"the observation space is {type(space).__name__}, not a Dict with keys {GOAL_KEYS}"
    missing = [key for key in GOAL_KEYS if key not in space.spaces]
    if missing:
        return f"the observation Dict lacks the keys {missing} (it has {list(space.spaces)})"
    achieved, desired = space["achieved_goal"], space["desired_goal"]
    if not (isinstance(achieved, gym.spaces.Box) and isinstance(desired, gym.spaces.Box)):
        return "`achieved_goal` and `desired_goal` must be Box spaces"
    if achieved.shape != desired.shape:
        return (
            f"`achieved_goal` has shape {achieved.shape} but `desired_goal` has {desired.shape}; "
            "a relabelled goal must fit the desired goal's place"
        )
    return None


class GoalReward:
    """A goal task's vectorised `compute_reward`, callable in any process.

    `GoalReward(achieved, desired)` returns float32 `[N]` for goals `[N, *goal_shape]` (the info
    gymnasium passes is an empty dict). It calls the `compute_reward` of `env` (an environment
    already made) or, after crossing a process boundary (only `make` is pickled), of one
    environment it makes with `make` on its first call.

    Args:
        make: A picklable zero-argument factory of the task's `gymnasium.Env`, or `None`.
        env: An environment of the task already made (not pickled), or `None`.
        name: How messages name the task.
    """

    def __init__(self, make: Callable[[], gym.Env] | None, env: gym.Env | None = None,
                 name: str = "the environment"):  # fmt: skip
        self._make, self._env, self.name = make, env, name

    def __getstate__(self) -> dict:
        return {"_make": self._make, "_env": None, "name": self.name}

    def _function(self) -> Callable:
        if self._env is None:
            if self._make is None:
                raise ValueError(
                    f"GoalReward: {self.name} was given as a gymnasium VectorEnv, so its "
                    "`compute_reward` cannot be rebuilt in another process; give GymEnv an env "
                    "id or factories instead."
                )
            self._env = self._make()
        function = getattr(self._env.unwrapped, "compute_reward", None)
        if not callable(function):
            raise ValueError(
                f"GoalReward: {self.name} ({type(self._env.unwrapped).__name__}) has no "
                "`compute_reward(achieved_goal, desired_goal, info)` method."
            )
        return function

    def available(self) -> bool:
        """Whether the task has a `compute_reward` (making the environment if need be)."""
        try:
            self._function()
        except ValueError:
            return False
        return True

    def __call__(self, achieved_goal, desired_goal, info=None) -> np.ndarray:
        reward = self._function()(achieved_goal, desired_goal, {} if info is None else info)
        return np.asarray(reward, np.float32)

    def __repr__(self) -> str:
        return f"GoalReward({self.name})"


def vector_goal_reward(env, make_kwargs: dict, vector_env, env_id) -> GoalReward | None:
    """The `GoalReward` of a `GymEnv` made from `env` (an id, factories or a vector env) over
    `vector_env`, or `None` when its observations are not goal-conditioned (or, for a
    synchronous one, its environments have no `compute_reward`)."""
    if goal_space_problem(vector_env.single_observation_space) is not None:
        return None
    if isinstance(env, str):
        make = functools.partial(gym.make, env, **make_kwargs)
    elif isinstance(env, Sequence):
        make = env[0]
    else:
        make = None
    first = getattr(vector_env, "envs", [None])[0]  # synchronous ones are here already
    reward = GoalReward(make, first, name=env_id or "the environment")
    return reward if first is None or reward.available() else None
