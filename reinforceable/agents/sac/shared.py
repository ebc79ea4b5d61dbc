"""`SharedReplayLearning`: what the memoryless replay actor-critics (`SACAgent`, `TD3Agent`,
`DDPGAgent`) share: a replay of n-step transitions, collected `steps_per_iteration` steps at a
time, and their side of the `SharedReplayLearner` capability (a shared replay,
`reinforceable.distributed.RayReplay`, Ape-X): the replay's spec, step counts without
trajectories, updates on the replay's batches, and the replay's contents for checkpoints."""

from __future__ import annotations

import functools
from typing import Any

import keras
import tensorflow as tf

from reinforceable.agents.base import Collection, as_trajectory
from reinforceable.agents.capabilities import EpisodeStreamLearner, SharedReplayLearner
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.replay.buffer import ReplayBuffer
from reinforceable.replay.hindsight import HindsightReplay
from reinforceable.replay.spec import ReplaySpec
from reinforceable.replay.transitions import n_step_transitions, transition_spec

__all__ = ["SharedReplayLearning"]


class SharedReplayLearning(SharedReplayLearner, EpisodeStreamLearner):
    """A mixin (before `ReplayActorCritic`) of the memoryless replay actor-critics: a memoryless
    actor's distributions, the critics as one list, a `ReplayBuffer` of n-step transitions
    (what the shared replay holds too), and `_update(replay)` for the learning."""

    def _example_distributions(self, example):
        distributions, _ = self.learner_policy.distributions(example.observation)
        return distributions

    def _critic_models(self) -> list[keras.Model]:
        return list(self.critics)

    def _target_critic_models(self) -> list[keras.Model]:
        return list(self.target_critics)

    def _make_buffer(self, spec: EnvSpec) -> ReplayBuffer | HindsightReplay:
        config = self.config
        if config.hindsight is None:
            return ReplayBuffer(transition_spec(spec), config.buffer_capacity)
        try:
            return HindsightReplay(
                spec,
                config.buffer_capacity,
                strategy=config.hindsight,
                n_sampled_goal=config.n_sampled_goal,
                discount=config.discount,
            )
        except ValueError as error:
            raise ValueError(f"{type(self).__name__} with `hindsight`: {error}") from None

    @property
    def collection(self) -> Collection:
        """`steps_per_iteration` steps per environment."""
        return Collection(steps_per_env=self.config.steps_per_iteration)

    def _add(self, trajectory: Trajectory, first_column=0):
        if self.observation_normalizer is not None:
            self.observation_normalizer.update(trajectory.observation)
        if isinstance(self.buffer, HindsightReplay):
            self.buffer.add_trajectory(trajectory, first_column)
            self.env_steps.assign_add(tf.size(trajectory.reward, tf.int64))
            return
        transitions = n_step_transitions(trajectory, self.config.discount, self.config.n_step)
        self.buffer.add(transitions)
        self.env_steps.assign_add(tf.size(trajectory.reward, tf.int64))

    @property
    def streams_episodes(self) -> bool:
        return isinstance(self.buffer, HindsightReplay)

    def observe_columns(self, trajectory, first_column: int) -> None:
        trajectory = as_trajectory(trajectory, f"{type(self).__name__}.observe_columns")
        if not self.streams_episodes:
            self._observe(trajectory)
            return
        if self._add_columns_graph is None:
            self._add_columns_graph = tf.function(self._add, autograph=False, reduce_retracing=True)
        self._add_columns_graph(trajectory, tf.constant(first_column, tf.int64))
        self._new_steps += int(tf.size(trajectory.reward))

    _add_columns_graph = None

    def replay_spec(self) -> ReplaySpec:
        config = self.config
        if config.hindsight is not None:
            raise ValueError(
                f"{type(self).__name__}: a shared replay holds transitions, not whole episodes, "
                "so it cannot relabel goals; with `hindsight`, train with the agent's own "
                "replay (runners without `replay=`)."
            )
        transform = functools.partial(n_step_transitions, discount=config.discount, n=config.n_step)
        return ReplaySpec(self.buffer.item_spec, config.buffer_capacity, transform)

    def observe_shared(self, steps: int) -> None:
        self.env_steps.assign_add(steps)
        self._new_steps += steps

    def update(self, replay=None) -> dict[str, float]:
        metrics = self._update(replay)
        self.actor.update(self.acting_state())
        return metrics

    def replay_state(self) -> dict[str, Any] | None:
        return self.buffer.get_state() if int(self.buffer.size) > 0 else None

    def set_replay_state(self, state: dict[str, Any]) -> None:
        self.buffer.set_state(state)
