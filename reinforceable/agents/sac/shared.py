"""`SharedReplayLearning`: `SACAgent`'s side of the `SharedReplayLearner` capability (a shared
replay, `reinforceable.distributed.RayReplay`, Ape-X): the replay's spec, step counts without
trajectories, updates on the replay's batches, and the replay's contents for checkpoints."""

from __future__ import annotations

import functools
from typing import Any

from reinforceable.agents.capabilities import SharedReplayLearner
from reinforceable.replay.spec import ReplaySpec
from reinforceable.replay.transitions import n_step_transitions

__all__ = ["SharedReplayLearning"]


class SharedReplayLearning(SharedReplayLearner):
    """A mixin of `SACAgent` (before `SACBase`): its transitions buffer is what the shared replay
    holds, and `_update(replay)` does the learning."""

    def replay_spec(self) -> ReplaySpec:
        config = self.config
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
