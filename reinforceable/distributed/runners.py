"""`Runners`: where an agent's experience is collected. `LocalRunners` run in this process;
`RayRunners` (in `ray_runners.py`) run one Ray actor each."""

from __future__ import annotations

import abc

from reinforceable._checks import check_positive_int
from reinforceable.distributed.loop import RunnerLoop
from reinforceable.distributed.runner import Chunk, Runner, check_env
from reinforceable.training.trainable import Collectors

__all__ = ["LocalRunners", "Runners"]


class Runners(Collectors):
    """A set of runners, each with its own environments, actor and Driver (`Runner`).

    The Trainer uses them as follows (`agent.fit(total_steps, runners=...)`):

    * `start(blueprint, collection, seed)` once: every runner builds its environments and its
      actor, with seeds derived from `seed` and its index (`runner_seeds`).
    * On-policy agents (PPO, the score-function agent): `sample(acting_state)` each iteration:
      every runner takes that acting state and collects one chunk; the chunks come back in
      runner order, so an update is exactly on-policy.
    * Off-policy agents (SAC): `broadcast(acting_state)` whenever the learner wants (it does not
      wait), and `poll()` for the chunks finished since the last call (at least one). Each runner
      has one request in flight, made with the newest acting state broadcast when it starts.
    * `close()` at the end, or on error.

    Only NumPy crosses processes: the blueprint (plain data), the acting state (a dict of
    arrays) and the chunks (`Chunk`: a NumPy `Trajectory` and episode statistics).
    """

    num_runners: int
    num_envs_per_runner: int
    restarts: int = 0
    """Runners restarted after their process died (each losing its chunk in flight)."""

    @property
    def num_envs(self) -> int:
        """Environments over all runners."""
        return self.num_runners * self.num_envs_per_runner

    def loop(self, agent, seed: int | None, broadcast_every: int, replay):
        """The Trainer's loop over these runners for `agent` (a `RunnerLoop`)."""
        return RunnerLoop(agent, self, seed, broadcast_every, replay)

    @abc.abstractmethod
    def start(self, blueprint, collection, seed: int | None = None, replay=None):
        """Builds every runner; returns the `EnvSpec` of runner 0's environments. With `replay`
        (a `SharedReplay.sink()`), runners store their trajectories there themselves."""

    @abc.abstractmethod
    def sample(self, acting_state) -> list[Chunk]:
        """One chunk from every runner, each collected with `acting_state` (runner order)."""

    @abc.abstractmethod
    def broadcast(self, acting_state) -> None:
        """Makes `acting_state` the one that the next requests collect with."""

    @abc.abstractmethod
    def poll(self) -> list[Chunk]:
        """The chunks finished since the last call (waits for at least one); every runner
        then has a request in flight again."""

    @abc.abstractmethod
    def close(self) -> None:
        """Closes the runners' environments and ends their processes."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class LocalRunners(Runners):
    """Runners in this process, one after the other: for tests, and for one machine.

    Args:
        num_runners: How many runners (streams of experience, each with its own seeds).
        env: A gymnasium id (each runner makes a synchronous `GymEnv`) or a factory
            `env(num_envs, seed) -> Environment`.
        num_envs_per_runner: Environments per runner.

    Raises:
        ValueError: If `num_runners` or `num_envs_per_runner` is not a positive int.
    """

    def __init__(self, num_runners: int, env, num_envs_per_runner: int):
        check_runner_arguments("LocalRunners", num_runners, env, num_envs_per_runner)
        self.num_runners, self.num_envs_per_runner = num_runners, num_envs_per_runner
        self.env = env
        self.runners: list[Runner] = []
        self._state = None

    def start(self, blueprint, collection, seed=None, replay=None):
        self.runners = []
        try:
            for index in range(self.num_runners):
                self.runners.append(
                    Runner(
                        index,
                        blueprint,
                        collection,
                        self.env,
                        self.num_envs_per_runner,
                        seed,
                        replay=replay,
                    )
                )
        except Exception:
            self.close()
            raise
        return self.runners[0].spec

    def sample(self, acting_state):
        return [runner.collect(acting_state) for runner in self.runners]

    def broadcast(self, acting_state):
        self._state = acting_state

    def poll(self):
        if self._state is None:
            raise RuntimeError("LocalRunners.poll: broadcast an acting state first.")
        return self.sample(self._state)

    def close(self):
        for runner in self.runners:
            runner.close()
        self.runners = []


def check_runner_arguments(owner: str, num_runners, env, num_envs_per_runner) -> None:
    """ValueError for a count that is not a positive int or an unknown gymnasium id; TypeError
    for an `env` that is neither a gymnasium id nor a factory."""
    check_positive_int(owner, "num_runners", num_runners)
    check_positive_int(owner, "num_envs_per_runner", num_envs_per_runner)
    check_env(owner, env)
