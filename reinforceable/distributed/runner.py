"""`Runner`: one stream of experience (its environments, an actor and a Driver), in any process.

Both `LocalRunners` (in this process) and `RayRunners` (one Ray actor each) run this class, so a
Ray runner collects exactly what a local one collects from the same seeds and acting state.
"""

from __future__ import annotations

import dataclasses
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["Chunk", "EnvFactory", "Runner", "RunnerError", "check_env", "runner_seeds"]

EnvFactory = Callable[[int, int], Any]
"""`factory(num_envs, seed) -> Environment`; or a gymnasium id (a synchronous `GymEnv`)."""


class RunnerError(RuntimeError):
    """A runner failed outside the environments' steps (its env factory, its actor); the
    message names the runner and carries the original traceback."""


@dataclasses.dataclass
class Chunk:
    """One collection of one runner, as plain data (NumPy), with what the learner logs."""

    runner: int
    """The runner's index."""
    trajectory: Any
    """The `Trajectory` (NumPy arrays), already processed by the runner's actor; `None` where
    the runner stored it in a shared replay itself."""
    version: int
    """The acting state's version it was collected with (the learner's iteration count)."""
    episodes: np.ndarray
    """float64 `[n, 2]`: (return, length) of the episodes that finished in it, oldest first."""
    seconds: float
    """Wall-clock time of the collection on the runner."""
    steps: int = 0
    """Env steps collected (over the runner's environments)."""
    process: str = ""
    """Which process collected it (`RayRunners`: the Ray worker's id). A runner whose chunks
    come from a new process was restarted: its envs and episodes began again."""


def runner_seeds(seed: int | None, index: int, restarts: int = 0) -> tuple[int | None, int | None]:
    """(env seed, Driver seed) of runner `index`: distinct per runner (and per restart),
    derived reproducibly from the run's seed; `(None, None)` for an unseeded run."""
    if seed is None:
        return None, None
    env_seed, driver_seed = np.random.SeedSequence([seed, index, restarts]).generate_state(2)
    return int(env_seed % 2**31), int(driver_seed % 2**31)


def check_env(owner: str, env) -> None:
    """TypeError for an `env` that is neither a gymnasium id nor a factory; ValueError for an id
    that gymnasium does not know (`module:id` imports the module first, as `gym.make` does), so
    that a wrong id fails here rather than inside every runner."""
    if not (isinstance(env, str) or callable(env)):
        raise TypeError(
            f"{owner}: `env` must be a gymnasium id or a factory `env(num_envs, seed)` returning "
            f"a reinforceable Environment; received {type(env).__name__}."
        )
    if isinstance(env, str):
        from reinforceable.envs.ids import registered_spec

        registered_spec(env, owner)


def make_env(env, num_envs: int, seed: int | None):
    """The runner's environments: a gymnasium id makes a synchronous `GymEnv` (no fork inside
    a runner's process); a callable is called as `env(num_envs, seed)`."""
    if isinstance(env, str):
        from reinforceable.envs.vector import GymEnv

        return GymEnv(env, num_envs, seed=seed)
    return env(num_envs, seed)


class Runner:
    """Builds its environments, its actor (from the agent's blueprint) and a Driver, then
    collects one chunk per `collect(acting_state)`.

    Args:
        index: The runner's index (in error messages and seeds).
        blueprint: `agent.blueprint()`.
        collection: `agent.collection`.
        env: A gymnasium id or a factory `env(num_envs, seed) -> Environment`.
        num_envs: Environments of this runner.
        seed: The run's seed (the runner derives its own, `runner_seeds`).
        restarts: How many times this runner was restarted (it then draws other seeds).
        replay: Where the runner stores its trajectories itself (an object with
            `add(trajectory)`: a shared replay's sink); its chunks then carry none.

    Raises:
        RunnerError: If the env factory or the actor cannot be built (names the runner; the
            original traceback is in the message and as the cause).
        ValueError: If the environments' spaces differ from the agent's spec.
    """

    def __init__(
        self, index, blueprint, collection, env, num_envs, seed=None, restarts=0, replay=None
    ):
        from reinforceable.driver.driver import Driver
        from reinforceable.driver.observers import EpisodeStatistics

        self.index = index
        self.collection, self.replay = collection, replay
        env_seed, driver_seed = runner_seeds(seed, index, restarts)
        try:
            self.env = make_env(env, num_envs, env_seed)
        except Exception as error:
            raise RunnerError(
                f"runner {index}: the env factory failed ({type(error).__name__}: {error}).\n"
                + traceback.format_exc()
            ) from error
        if self.env.num_envs != num_envs:
            self.env.close()
            raise RunnerError(
                f"runner {index}: the env factory must make num_envs={num_envs} environments; "
                f"it made {self.env.num_envs}."
            )
        try:
            blueprint.spec.check_compatible(self.spec, f"runner {index}", "its environments")
        except ValueError:
            self.env.close()
            raise
        try:
            self.actor = blueprint.build()
            if collection.splits_columns:  # ARS: the runner acts its columns' perturbations
                self.actor.assign_columns(index * num_envs, num_envs)
            self.statistics = EpisodeStatistics()
            self.driver = Driver(
                self.actor.policy,
                self.env,
                [self.statistics],
                seed=driver_seed,
                sequence_length=collection.sequence_length,
            )
        except Exception as error:
            self.env.close()
            raise RunnerError(
                f"runner {index}: its actor or Driver cannot be built ({type(error).__name__}: "
                f"{error}).\n" + traceback.format_exc()
            ) from error

        self._version: int | None = None  # of the acting state last taken
        self._episodes = 0  # finished so far

    @property
    def spec(self):
        from reinforceable.envs.env_spec import EnvSpec

        return EnvSpec.of(self.env, f"runner {self.index}")

    def collect(self, acting_state) -> Chunk:
        """Takes `acting_state`, collects one chunk as `collection` says, and returns it as
        NumPy (or stores its trajectory in the shared replay and returns the rest).

        Raises:
            EnvError: From the environments, with the runner's index before the env index.
        """
        from reinforceable._nest import numpy_nest
        from reinforceable.envs.vector import EnvError

        start = time.perf_counter()
        version = int(acting_state["version"])
        if version != self._version:  # the learner's version grows with every update
            self.actor.update(acting_state)
            self._version = version
        try:
            trajectory = self.actor.process(self.collection.run(self.driver))
        except EnvError as error:
            raise type(error)(f"runner {self.index}: {error}") from error
        before, self._episodes = self._episodes, int(self.statistics.episodes().numpy())
        finished = np.zeros([0, 2])
        if self._episodes > before:
            values = self.statistics.values().numpy().astype(np.float64)
            finished = values[len(values) - min(self._episodes - before, len(values)) :]
        trajectory = numpy_nest(trajectory)
        steps = int(np.size(trajectory.reward))
        if self.replay is not None:
            self.replay.add(trajectory)
            trajectory = None
        return Chunk(
            runner=self.index,
            trajectory=trajectory,
            version=version,
            episodes=finished,
            seconds=time.perf_counter() - start,
            steps=steps,
        )

    def close(self) -> None:
        self.env.close()
