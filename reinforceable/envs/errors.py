"""Errors raised by environments, named by their index in the vector, and the wrapper that
raises them from inside each sub-environment (also inside asynchronous workers)."""

from __future__ import annotations

import traceback
from collections.abc import Callable

import gymnasium as gym

from reinforceable._mujoco_quiet import quiet_mujoco
from reinforceable.envs._outputs import reset_mismatch, step_mismatch

__all__ = ["EnvError", "NonFiniteError", "non_finite_error", "report_errors"]


class EnvError(RuntimeError):
    """An environment raised inside `reset` or `step`.

    The message names the environment's index in the vector and carries the original exception's
    type, message and traceback (also across the process boundary of asynchronous environments).
    """


class NonFiniteError(EnvError, FloatingPointError):
    """An environment returned a NaN or infinite observation or reward (names the env and step)."""


def non_finite_error(owner: str, index: int, field: str, step: int, value) -> NonFiniteError:
    """The `NonFiniteError` of environment `index`'s non-finite `field` (`"reward"`,
    `"observation['x']"`) at `step` steps after `owner`'s (a `GymEnv`'s, a `TFEnv`'s) reset."""
    return NonFiniteError(
        f"environment {index} returned a non-finite {field} at step {step} after the {owner}'s "
        f"reset: {value!r}. Check the environment (or pass check_finite=False to let non-finite "
        "values through)."
    )


class _ReportErrors(gym.Wrapper):
    """Re-raises a sub-environment's exceptions as `EnvError`s that name its index, and checks
    its outputs against the spaces: on its first reset and first step, or on every call with
    `check_always` (inside asynchronous workers, where the check is cheap next to the pipe).
    After the first checks, a step costs one attribute test more than the bare env's: in the
    Driver's loop every Python operation of the step competes with TF's threads."""

    def __init__(self, env: gym.Env, index: int, check_always: bool = False):
        super().__init__(env)
        self.index = index
        self.check_always = check_always
        self.check_step = self.check_reset = True
        self.steps = 0  # steps of the episode, counted while checking

    def _error(self, method: str, error: BaseException) -> EnvError:
        trace = "".join(traceback.format_exception(error)).rstrip()
        return EnvError(
            f"environment {self.index} raised {type(error).__name__} in {method}(): {error}\n\n"
            f"Original traceback:\n{trace}"
        )

    def _checked(self, method: str, result):
        check = reset_mismatch if method == "reset" else step_mismatch
        if problem := check(self.observation_space, result):
            raise EnvError(
                f"environment {self.index} returned a malformed {method}() at step "
                f"{self.steps} of its episode: {problem}"
            )
        return result

    def step(self, action):
        checking = self.check_step
        if checking:
            self.check_step = self.check_always
            self.steps += 1
        try:
            result = self.env.step(action)
        except Exception as error:
            raise self._error("step", error) from error
        return self._checked("step", result) if checking else result

    def reset(self, **kwargs):
        self.steps = 0
        try:
            result = self.env.reset(**kwargs)
        except Exception as error:
            raise self._error("reset", error) from error
        if self.check_reset:
            self.check_reset = self.check_always
            return self._checked("reset", result)
        return result


def report_errors(
    make: Callable[[], gym.Env], index: int, check_always: bool, mujoco: bool = False
):
    """A factory of `make()`'s env wrapped to report its errors as environment `index`.

    The factory raises a `TypeError` naming `index` if `make` returns something that is not a
    `gymnasium.Env` (a factory is a zero-argument callable that makes one). With `mujoco`, it
    keeps MuJoCo's harmless warnings quiet first, in whatever process it runs."""

    def made() -> gym.Env:
        if mujoco:
            quiet_mujoco()
        env = make()
        if not isinstance(env, gym.Env):
            raise TypeError(
                f"GymEnv: env factory {index} returned {type(env).__name__} {env!r:.80}, not a "
                "gymnasium.Env; each factory is a zero-argument callable that makes one, such "
                "as `lambda: gym.make('CartPole-v1')`."
            )
        return _ReportErrors(env, index, check_always)

    return made
