"""`RunnerLoop`: the Trainer's side of `Runners` (one training iteration's collection and
update), made by `Runners.loop`."""

from __future__ import annotations

import collections
import math
import time

import numpy as np

from reinforceable._checks import check_positive_int
from reinforceable.agents.capabilities import EpisodeStreamLearner, SharedReplayLearner
from reinforceable.distributed.replay import SharedReplay
from reinforceable.training.trainable import CollectorLoop

__all__ = ["RunnerLoop"]


class RunnerLoop(CollectorLoop):
    """Collects with `runners` for `agent` and trains it, one Trainer iteration at a time.

    * On-policy agents (`agent.off_policy` False: PPO, the score-function agent): every
      iteration sends the current acting state to every runner, waits for one chunk from each,
      observes them all (PPO concatenates them along the batch axis) and updates once. Every
      chunk carries the version it was collected with, which is the learner's current one.
      ARS (whose collection `splits_columns`) spreads its 2N perturbations over the runners,
      which must have 2N environments in all.
    * Off-policy agents (SAC): runners sample continuously, one request in flight each; every
      iteration observes the chunks that arrived (into the replay), updates (`utd_ratio`
      gradient steps per new env step), and broadcasts the acting state every
      `broadcast_every` updates without waiting for the runners. With a `replay`
      (`RayReplay`: Ape-X), the runners store their trajectories in it themselves and the
      learner samples its batches from it; before each checkpoint its contents are copied into
      the agent's buffer (so checkpoints hold them), and a resumed run loads them back into it.

    Args:
        agent: The `Agent`.
        runners: `Runners` (not started yet).
        seed: The run's seed, from which each runner derives its own.
        broadcast_every: Updates between broadcasts of the acting state (off-policy only).
        replay: A `SharedReplay` (agents that are a `SharedReplayLearner` only).

    Raises:
        ValueError: If the agent collects nothing (it learns from a model), the runners'
            environments have other spaces than the agent's spec, or `replay` is given for an
            agent that cannot learn from a shared replay.
    """

    def __init__(
        self, agent, runners, seed: int | None = None, broadcast_every: int = 1, replay=None
    ):
        if agent.collection is None:
            raise ValueError(
                f"Trainer: {type(agent).__name__} learns from its model and collects nothing, so "
                "it takes no runners."
            )
        check_positive_int("Trainer", "broadcast_every", broadcast_every)
        self.streams = isinstance(agent, EpisodeStreamLearner) and agent.streams_episodes
        if agent.collection.splits_columns and runners.num_envs != agent.spec.num_envs:
            raise ValueError(
                f"Trainer: {type(agent).__name__} runs a different policy in each of its "
                f"{agent.spec.num_envs} environments, so the runners must have that many in all;"
                f" received {runners.num_runners} x {runners.num_envs_per_runner}."
            )
        if self.streams and runners.num_envs != agent.spec.num_envs:
            raise ValueError(
                f"Trainer: {type(agent).__name__} keeps each environment's episodes whole "
                f"(hindsight replay), so the runners must have its {agent.spec.num_envs} "
                f"environments in all; received {runners.num_runners} x "
                f"{runners.num_envs_per_runner}."
            )
        if replay is not None:
            check_shared_replay(agent, replay)
        self.agent, self.runners, self.seed, self.replay = agent, runners, seed, replay
        self.broadcast_every = broadcast_every
        self.asynchronous = agent.off_policy
        self.episodes: collections.deque = collections.deque(maxlen=100)
        self._updates_since_broadcast = 0

    def start(self) -> None:
        """Starts the runners (after a resume, so that they act with the restored state)."""
        sink = None
        if self.replay is not None:
            self.replay.start(self.agent.replay_spec(), self.seed)
            contents = self.agent.replay_state()
            if contents is not None:  # resumed: the checkpoint's copy of the replay
                self.replay.load(contents)
            sink = self.replay.sink()
        spec = self.runners.start(
            self.agent.blueprint(), self.agent.collection, self.seed, replay=sink
        )
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
            if self.streams:  # runner i's environments are the learner's i * k onwards
                first = chunk.runner * self.runners.num_envs_per_runner
                self.agent.observe_columns(chunk.trajectory, first)
            elif self.replay is None:
                self.agent.observe(chunk.trajectory)
            else:  # the runner stored it in the replay
                self.agent.observe_shared(chunk.steps)
            self.episodes.extend(map(tuple, chunk.episodes))
        iterations = int(self.agent.iterations.numpy())
        lags = [iterations - chunk.version for chunk in chunks]
        metrics = self.agent.update() if self.replay is None else self.agent.update(self.replay)
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

    def before_checkpoint(self) -> None:
        """Copies a shared replay's contents into the agent's buffer (which checkpoints hold)."""
        if self.replay is not None:
            self.agent.set_replay_state(self.replay.state())

    def close(self) -> None:
        try:
            self.runners.close()
        finally:
            if self.replay is not None:
                self.replay.close()


def check_shared_replay(agent, replay) -> None:
    """A TypeError for a `replay` that is not a `SharedReplay`; a ValueError for an agent that
    cannot learn from one (one that is not a `SharedReplayLearner`)."""
    if not isinstance(replay, SharedReplay):
        raise TypeError(
            "Trainer: `replay` must be a reinforceable.distributed SharedReplay (RayReplay or "
            f"LocalReplay); received {type(replay).__name__}."
        )
    if not agent.off_policy:
        raise ValueError(
            f"Trainer: {type(agent).__name__} learns from the chunks of its current acting "
            "state, not from a replay: train it without `replay=`."
        )
    if not isinstance(agent, SharedReplayLearner):
        raise ValueError(
            f"Trainer: {type(agent).__name__} keeps its replay in the learner (it is not a "
            "SharedReplayLearner: a shared replay, RayReplay or LocalReplay, holds SACAgent's "
            "transitions); train it without `replay=`: the runners then send their experience "
            "to the learner."
        )
