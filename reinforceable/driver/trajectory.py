"""`Trajectory` (what `Driver.run` returns) and `Transition` (what observers see each step)."""

from __future__ import annotations

from typing import Any, NamedTuple

import tensorflow as tf

from reinforceable.envs.timestep import Timestep

__all__ = ["Trajectory", "Transition", "concatenate", "pad_rows"]


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

    A trajectory is plain data: it converts to NumPy (`tf.nest.map_structure(np.asarray, t)`) to
    cross a process boundary, and learners accept it back in that form.
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
    sequence_states: Any = ()
    """`[T // L, B, ...]` (the policy state's nest): the state before rows 0, L, 2L, ..., for a
    Driver made with `sequence_length=L`, so that a learner can replay each sequence of L rows
    from the state the actor had; `()` otherwise. Row 0's is `policy_state`."""
    policy_version: Any = ()
    """int64 `[B]`: the version of the acting state that produced the rows (`Policy.version`),
    to measure how far behind the learner the data are; `()` in a hand-made trajectory."""
    info: Any = {}  # noqa: RUF012 (never mutated: replace it with `_replace`)
    """dict of `[T, B, ...]`: the `info` entries the environment carries (`GymEnv(infos=...)`)
    that came with each row's reward, e.g. `is_success` or a safety `cost`; empty by default."""


_BATCH_MAJOR = ("policy_state", "next_timestep", "next_policy_state", "policy_version")


def concatenate(trajectories: list[Trajectory]) -> Trajectory:
    """Trajectories of the same length side by side, `[T, B1 + B2 + ...]`: the chunks that
    several actors collected for one on-policy update. Their recorded fields must agree (all
    with sequence states of the same length, or none)."""
    fields = {}
    for name in Trajectory._fields:
        values = [getattr(t, name) for t in trajectories]
        axis = 0 if name in _BATCH_MAJOR else 1
        fields[name] = tf.nest.map_structure(lambda *p, axis=axis: tf.concat(p, axis), *values)
    return Trajectory(**fields)


def pad_rows(trajectory: Trajectory, length: int) -> Trajectory:
    """The trajectory with rows appended up to `length`, so that chunks of different lengths
    (one episode per environment, on several runners) go side by side with `concatenate`.

    Appended rows are zeros, not transitions (`valid` False) and each starts an episode
    (`episode_start` True), so that nothing counts them into an episode or learns from them.
    Recorded sequence states are not padded (they need rows in multiples of their length).
    """
    rows = int(trajectory.reward.shape[0])
    if rows >= length:
        return trajectory

    def pad(value, fill=0):
        value = tf.convert_to_tensor(value)
        extra = tf.fill([length - rows, *value.shape[1:]], tf.cast(fill, value.dtype))
        return tf.concat([value, extra], 0)

    time_major = {
        name: tf.nest.map_structure(pad, getattr(trajectory, name))
        for name in ("observation", "action", "extras", "reward", "terminated", "truncated", "info")
    }
    return trajectory._replace(
        **time_major,
        episode_start=pad(trajectory.episode_start, True),
        valid=pad(trajectory.valid, False),
    )
