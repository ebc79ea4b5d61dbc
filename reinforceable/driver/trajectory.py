"""`Trajectory` (what `Driver.run` returns) and `Transition` (what observers see each step)."""

from __future__ import annotations

from typing import Any, NamedTuple

from reinforceable.envs.timestep import Timestep

__all__ = ["Trajectory", "Transition"]


class Transition(NamedTuple):
    """One step of the loop, as observers see it: `[B, ...]` per field."""

    timestep: Timestep
    """The timestep the policy acted on."""
    action: Any
    """The action the policy chose."""
    extras: dict
    """The policy's extras for this step (`log_prob`, `value`, ...)."""
    next_timestep: Timestep
    """What the environments returned for the action."""


class Trajectory(NamedTuple):
    """A time-major chunk of experience from `Driver.run`: rows are `[T, B, ...]`.

    Row `t` holds the observation the policy saw, the action it took and what came of it. A row
    is a real transition only where `valid` is True: the action taken at a terminated or truncated
    step is ignored by the environment, which resets instead (see `Timestep`), so that row crosses
    a reset and must not be learned from. Such a row still carries the policy's extras for the
    final observation (its `value`, to bootstrap from at truncation).
    """

    observation: Any
    """`[T, B, ...]` (any nest): the observation at each step."""
    episode_start: Any
    """bool `[T, B]`: the observation starts an episode (recurrent state is reset here)."""
    action: Any
    """`[T, B, ...]` (any nest): the action taken, as the policy produced it (not clipped)."""
    extras: dict
    """`[T, B, ...]` each: the policy's extras (`log_prob`, `value`, ...)."""
    reward: Any
    """float32 `[T, B]`: the reward received for the action."""
    terminated: Any
    """bool `[T, B]`: the action ended the episode in a terminal state."""
    truncated: Any
    """bool `[T, B]`: the action ended the episode by truncation (bootstrap from the next value)."""
    valid: Any
    """bool `[T, B]`: the row is a real transition (False where the action was ignored)."""
    policy_state: Any
    """`[B, ...]` (any nest): the policy state before row 0, to replay the chunk from."""
    next_timestep: Timestep
    """`[B, ...]`: the timestep after the last row, where the next chunk starts."""
    next_policy_state: Any
    """`[B, ...]` (any nest): the policy state after the last row."""
