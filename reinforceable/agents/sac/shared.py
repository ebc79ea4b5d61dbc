"""What SAC needs to learn from a shared replay (`reinforceable.distributed.RayReplay`, Ape-X):
the replay's spec, step counts without trajectories, and updates on the replay's batches."""

from __future__ import annotations

import functools

from reinforceable.agents.sac.transitions import n_step_transitions

__all__ = ["SharedReplayLearning"]


class SharedReplayLearning:
    """A mixin of `SACAgent` (before `Agent`): `_update(replay)` does the learning."""

    def replay_spec(self):
        """What a shared replay stores for this agent: its n-step transitions (the buffer's
        item spec and capacity), with the transform that cuts them from a trajectory."""
        from reinforceable.distributed.replay import ReplaySpec

        config = self.config
        transform = functools.partial(n_step_transitions, discount=config.discount, n=config.n_step)
        return ReplaySpec(self.buffer.item_spec, config.buffer_capacity, transform)

    def observe_shared(self, steps: int) -> None:
        """Counts `steps` env steps that runners stored in a shared replay themselves."""
        self.env_steps.assign_add(steps)
        self._new_steps += steps

    def update(self, replay=None) -> dict[str, float]:
        """Learns from the agent's buffer, or from `replay` (a `SharedReplay`: `utd_ratio`
        batches per new env step, sampled there); returns the metrics. The agent's own actor
        then takes the new acting state."""
        metrics = self._update(replay)
        self.actor.update(self.acting_state())
        return metrics
