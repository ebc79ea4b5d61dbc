"""Capabilities that some agents declare beyond the `Agent` contract. A caller checks for one
with `isinstance`, never by probing for methods."""

from __future__ import annotations

import abc
from typing import Any

from reinforceable.replay.spec import ReplaySpec

__all__ = ["EpisodeStreamLearner", "SharedReplayLearner"]


class SharedReplayLearner(abc.ABC):
    """Learns from a replay that lives outside the agent (a `SharedReplay`: Ape-X).

    With `agent.fit(..., runners=..., replay=...)`, the runners store their trajectories in the
    shared replay themselves (cut as `replay_spec().transform` says), the learner only counts
    their steps (`observe_shared`) and samples its update batches from the replay
    (`update(replay)`). The replay's contents travel through the agent's own buffer for
    checkpoints: `set_replay_state` before each save, `replay_state` to refill a new replay
    after a resume. `SACAgent` is one; `RecurrentSACAgent` is not (its sequence replay, with
    priorities and stored states, stays in the learner).
    """

    @abc.abstractmethod
    def replay_spec(self) -> ReplaySpec:
        """What the shared replay stores for this agent: the item spec, the capacity, and the
        picklable transform that cuts items from a trajectory."""

    @abc.abstractmethod
    def observe_shared(self, steps: int) -> None:
        """Counts `steps` env steps that runners stored in the shared replay themselves."""

    @abc.abstractmethod
    def update(self, replay=None) -> dict[str, float]:
        """Learns from the agent's own buffer, or from `replay` (a `SharedReplay`) when one is
        given; returns the metrics, and the agent's own actor takes the new acting state."""

    @abc.abstractmethod
    def replay_state(self) -> dict[str, Any] | None:
        """The contents of the agent's buffer (a checkpoint's copy of the shared replay), to
        refill a new shared replay after a resume; `None` when it is empty."""

    @abc.abstractmethod
    def set_replay_state(self, state: dict[str, Any]) -> None:
        """Copies a shared replay's contents (`SharedReplay.state()`) into the agent's buffer,
        which checkpoints hold."""


class EpisodeStreamLearner(abc.ABC):
    """Keeps each environment's episodes whole across trajectories (hindsight replay), so it
    must know which environment each trajectory column is.

    With runners, when `streams_episodes` is true, the runners' environments together must be
    the spec's `num_envs`, and the learner stores runner `i`'s chunks (of `k` environments
    each) as its columns `i * k` to `(i + 1) * k - 1` (`observe_columns`).
    """

    @property
    @abc.abstractmethod
    def streams_episodes(self) -> bool:
        """Whether the learner keeps episodes per environment (with its present config)."""

    @abc.abstractmethod
    def observe_columns(self, trajectory, first_column: int) -> None:
        """`observe(trajectory)` for a trajectory whose columns are the learner's environments
        `first_column` onwards."""
