"""`RunnerCollection`: the Trainer's side of `Runners` (one training iteration's collection and
update)."""

from __future__ import annotations

import collections
import math
import time

import numpy as np

from reinforceable._checks import check_positive_int
from reinforceable.distributed.runners import Runners

__all__ = ["RunnerCollection"]


class RunnerCollection:
    """Collects with `runners` for `agent` and trains it, one Trainer iteration at a time.

    * On-policy agents (`agent.off_policy` False: PPO, the score-function agent): every
      iteration sends the current acting state to every runner, waits for one chunk from each,
      observes them all (PPO concatenates them along the batch axis) and updates once. Every
      chunk carries the version it was collected with, which is the learner's current one.
      ARS (`agent.splits_columns`) spreads its 2N perturbations over the runners, which must
      have 2N environments in all.
    * Off-policy agents (SAC): runners sample continuously, one request in flight each; every
      iteration observes the chunks that arrived (into the replay), updates (`utd_ratio`
      gradient steps per new env step), and broadcasts the acting state every
      `broadcast_every` updates without waiting for the runners.

    Args:
        agent: The `Agent`.
        runners: `Runners` (not started yet).
        seed: The run's seed, from which each runner derives its own.
        broadcast_every: Updates between broadcasts of the acting state (off-policy only).

    Raises:
        TypeError: If `runners` is not a `Runners`.
        ValueError: If the agent collects nothing (it learns from a model), or the runners'
            environments have other spaces than the agent's spec.
    """

    def __init__(self, agent, runners, seed: int | None = None, broadcast_every: int = 1):
        if not isinstance(runners, Runners):
            raise TypeError(
                "Trainer: `runners` must be reinforceable.distributed Runners (LocalRunners or "
                f"RayRunners); received {type(runners).__name__}."
            )
        if agent.collection is None:
            raise ValueError(
                f"Trainer: {type(agent).__name__} learns from its model and collects nothing, so "
                "it takes no runners."
            )
        check_positive_int("Trainer", "broadcast_every", broadcast_every)
        if agent.splits_columns and runners.num_envs != agent.spec.num_envs:
            raise ValueError(
                f"Trainer: {type(agent).__name__} runs a different policy in each of its "
                f"{agent.spec.num_envs} environments, so the runners must have that many in all;"
                f" received {runners.num_runners} x {runners.num_envs_per_runner}."
            )
        self.agent, self.runners, self.seed = agent, runners, seed
        self.broadcast_every = broadcast_every
        self.asynchronous = agent.off_policy
        self.episodes: collections.deque = collections.deque(maxlen=100)
        self._updates_since_broadcast = 0

    def start(self) -> None:
        """Starts the runners (after a resume, so that they act with the restored state)."""
        spec = self.runners.start(self.agent.blueprint(), self.agent.collection, self.seed)
        self.agent.spec.check_compatible(spec, "Trainer", "the runners' environments")
        if self.asynchronous:
            self.runners.broadcast(self.agent.acting_state())

    def iteration(self) -> tuple[dict[str, float], dict[str, float], float]:
        """Collects and updates once; returns (the agent's metrics, the Trainer's charts,
        seconds spent waiting for chunks)."""
        start = time.perf_counter()
        if self.asynchronous:
            chunks = self.runners.poll()
        else:
            chunks = self.runners.sample(self.agent.acting_state())
        waited = time.perf_counter() - start
        for chunk in chunks:
            self.agent.observe(chunk.trajectory)
            self.episodes.extend(map(tuple, chunk.episodes))
        iterations = int(self.agent.iterations.numpy())
        lags = [iterations - chunk.version for chunk in chunks]
        metrics = self.agent.update()
        if self.asynchronous:
            self._updates_since_broadcast += 1
            if self._updates_since_broadcast >= self.broadcast_every:
                self.runners.broadcast(self.agent.acting_state())
                self._updates_since_broadcast = 0
        episodes = np.array(self.episodes, np.float64).reshape(-1, 2)
        charts = {
            "charts/episode_return": float(episodes[:, 0].mean()) if len(episodes) else math.nan,
            "charts/episode_length": float(episodes[:, 1].mean()) if len(episodes) else math.nan,
            "charts/policy_lag": float(np.mean(lags)),
            "charts/policy_lag_max": float(np.max(lags)),
            "charts/chunks": float(len(chunks)),
            "charts/runner_restarts": float(self.runners.restarts),
        }
        return metrics, charts, waited

    def close(self) -> None:
        self.runners.close()
