"""`Timestep`: what a batch of environments returns at each step."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["Timestep"]


class Timestep(NamedTuple):
    """One step of a batch of `B` environments, as the policy sees it. Every field is `[B, ...]`.

    Gymnasium 1.x vector environments auto-reset on the *next* step. When an episode ends, the step
    that ends it carries the episode's final observation with `terminated` or `truncated` set. The
    following step resets that environment: it ignores the action it was given and returns the
    first observation of the new episode, with `episode_start` set and a reward of 0. That step
    crosses a reset, so it is not a real transition; the Driver marks the action taken at a
    terminated or truncated step as invalid.

    So the final observation at truncation is simply `observation` where `truncated` is True: the
    policy is called on it as on any other step, and its value estimate there is the one to
    bootstrap from.
    """

    observation: Any
    """The observation (any nest), `[B, ...]`."""
    reward: Any
    """float32 `[B]`: the reward of the transition into this step; 0 at an episode start."""
    terminated: Any
    """bool `[B]`: the episode ended here in a terminal state (do not bootstrap)."""
    truncated: Any
    """bool `[B]`: the episode was cut off here (time limit); bootstrap from this observation."""
    episode_start: Any
    """bool `[B]`: this observation comes from a reset; recurrent state starts afresh here."""
    info: Any = {}  # noqa: RUF012 (never mutated: replace it with `_replace`)
    """dict of `[B, ...]` arrays: the gymnasium `info` entries the environment was asked to
    carry (`GymEnv(infos=...)`), e.g. `is_success`; empty by default."""
