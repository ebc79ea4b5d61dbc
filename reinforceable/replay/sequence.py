"""Sequence replay for recurrent off-policy learners (R2D2): fixed-length sequences cut from
trajectories, each with the recurrent state the actor had at its start, optionally prioritised."""

from __future__ import annotations

from typing import Any, NamedTuple

import tensorflow as tf

from reinforceable.driver.trajectory import Trajectory
from reinforceable.replay.buffer import ReplayBuffer

__all__ = [
    "SequenceBatch",
    "SequenceReplay",
    "sequence_priority",
    "sequence_starts",
    "trajectory_sequences",
]


class SequenceBatch(NamedTuple):
    """What `SequenceReplay.sample` returns."""

    steps: Any
    """The sequences' step fields, `[N, length(+1), ...]` per leaf."""
    state: Any
    """The actor's recurrent state before each sequence's first step, `[N, ...]`."""
    indices: tf.Tensor
    """int64 `[N]`, the rows sampled (for `update_priorities`)."""
    weights: tf.Tensor
    """float32 `[N]`, importance weights `(capacity P(i))^-β / max`; ones without
    prioritisation."""


def sequence_starts(steps: int, length: int, overlap: int) -> list[int]:
    """The first rows of the sequences cut from `steps` rows: `0, S, 2S, ...` with stride
    `S = length - overlap`, as long as a whole sequence fits.

    Raises:
        ValueError: If no sequence fits, or the overlap is not in `[0, length)`.
    """
    if not 0 <= overlap < length:
        raise ValueError(
            f"sequence_starts: `overlap` must be in [0, length={length}); received {overlap}."
        )
    if length > steps:
        raise ValueError(
            f"sequence_starts: a sequence of {length} steps does not fit a rollout of {steps}."
        )
    return list(range(0, steps - length + 1, length - overlap))


def trajectory_sequences(trajectory: Trajectory, length: int, overlap: int) -> tuple[dict, Any]:
    """Cuts a time-major trajectory into overlapping sequences, batch-major.

    Sequence `k · B + b` covers rows `s_k ... s_k + length - 1` of environment `b`, with
    `s_k = k (length - overlap)` (`sequence_starts`). Each holds `length` steps of `action`,
    `reward`, `terminated`, `truncated` and `valid`, and `length + 1` rows of `observation` and
    `episode_start`: the extra row is the observation after the last step (from
    `next_timestep` for the last sequence), which its critic target bootstraps from. The state of
    each sequence is the one the actor recorded before its first row
    (`trajectory.sequence_states`, recorded every `length - overlap` rows).

    Args:
        trajectory: `[T, B, ...]` rows, with `sequence_states` `[T // S, B, ...]`.
        length: `L`, the steps per sequence.
        overlap: Steps shared by consecutive sequences, in `[0, L)`.

    Returns:
        `(steps, states)`: the step fields, `[K·B, L(+1), ...]`, and the states `[K·B, ...]`.

    Raises:
        ValueError: If the sequence does not fit the trajectory, or the trajectory has no states
            recorded every `L - overlap` rows.
    """
    rows = int(trajectory.reward.shape[0])
    starts = sequence_starts(rows, length, overlap)
    stride = length - overlap
    states = trajectory.sequence_states
    leaves = tf.nest.flatten(states)
    if leaves and (rows % stride or leaves[0].shape[0] != rows // stride):
        raise ValueError(
            f"trajectory_sequences: the trajectory must record its policy state every "
            f"{stride} rows (Driver(sequence_length={stride})) over a multiple of {stride} "
            f"rows; received {leaves[0].shape[0]} states over {rows} rows."
        )
    where = tf.constant(starts)[:, None]  # [K, 1]

    def cut(x, span):
        picked = tf.gather(x, where + tf.range(span)[None])  # [K, span, B, ...]
        picked = tf.transpose(picked, [0, 2, 1, *range(3, picked.shape.rank)])
        return tf.reshape(picked, [-1, span, *picked.shape[3:]])  # [K·B, span, ...]

    def with_next(rows_, last):
        return cut(tf.concat([rows_, last[None]], 0), length + 1)

    steps = {
        "observation": tf.nest.map_structure(
            with_next, trajectory.observation, trajectory.next_timestep.observation
        ),
        "episode_start": with_next(
            trajectory.episode_start, trajectory.next_timestep.episode_start
        ),
        "action": tf.nest.map_structure(lambda x: cut(x, length), trajectory.action),
    }
    for name in ("reward", "terminated", "truncated", "valid"):
        steps[name] = cut(getattr(trajectory, name), length)
    picked = [start // stride for start in starts]
    states = tf.nest.map_structure(
        lambda x: tf.reshape(tf.gather(x, picked), [-1, *x.shape[2:]]), states
    )
    return steps, states


def sequence_priority(td_error, mask, eta: float = 0.9) -> tf.Tensor:
    """R2D2's priority of each sequence, `η max_t |δ_t| + (1 - η) mean_t |δ_t|` over its
    trained steps, `[N]`.

    Args:
        td_error: `[N, T]` TD errors.
        mask: `[N, T]`, 1 where the step counts (trained and valid).
        eta: `η` in [0, 1].
    """
    mask = tf.cast(mask, td_error.dtype)
    error = tf.abs(td_error) * mask
    mean = tf.reduce_sum(error, 1) / tf.maximum(tf.reduce_sum(mask, 1), 1.0)
    return eta * tf.reduce_max(error, 1) + (1.0 - eta) * mean


class SequenceReplay(ReplayBuffer):
    """A ring buffer of sequences and their initial recurrent states, sampled in the graph.

    Each item is `{"steps": <sequence fields, [L(+1), ...] per leaf>, "state": <the actor's
    state before the first step>}` (`trajectory_sequences` makes them). Uniform by default;
    with `prioritized`, sequence `i` is drawn with probability `P(i) = p_i^α / Σ_j p_j^α`
    (R2D2: α = 0.9) and carries the importance weight `(n P(i))^-β / max_batch` (n the items
    held); new sequences get the largest priority seen so far, and the learner sets each sampled
    sequence's priority after its update (`update_priorities`, with `sequence_priority`). Like
    `ReplayBuffer`, it is a `tf.Module`: contents, cursor, size and priorities are checkpointed.

    Args:
        step_spec: Unbatched `tf.TensorSpec` nest of one sequence's step fields (time axis first).
        state_spec: Unbatched `tf.TensorSpec` nest of the recurrent state.
        capacity: Sequences kept.
        prioritized: Prioritised sampling.
        priority_exponent: `α`.
        importance_exponent: `β`.

    Raises:
        ValueError: As `ReplayBuffer`, and for exponents outside [0, 1].

    Example:
        >>> replay = SequenceReplay(step_spec, state_spec, capacity=10_000, prioritized=True)
        >>> replay.add(*trajectory_sequences(trajectory, length=16, overlap=8))
        >>> batch = replay.sample(32, seed=[0, 1])       # batch.steps, .state, .weights
        >>> replay.update_priorities(batch.indices, sequence_priority(td, mask))
    """

    def __init__(
        self,
        step_spec: Any,
        state_spec: Any,
        capacity: int,
        prioritized: bool = False,
        priority_exponent: float = 0.9,
        importance_exponent: float = 0.6,
        name: str = "sequence_replay",
    ):
        for argument, value in (
            ("priority_exponent", priority_exponent),
            ("importance_exponent", importance_exponent),
        ):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"SequenceReplay: `{argument}` must be in [0, 1]; got {value!r}.")
        super().__init__({"steps": step_spec, "state": state_spec}, capacity, name=name)
        self.prioritized = bool(prioritized)
        self.priority_exponent = float(priority_exponent)
        self.importance_exponent = float(importance_exponent)
        self._priorities = tf.Variable(tf.zeros([capacity]), trainable=False, name="priorities")
        self._max_priority = tf.Variable(1.0, trainable=False, name="max_priority")

    def add(self, steps: Any, states: Any) -> tf.Tensor:  # type: ignore[override]
        """Appends `N` sequences (`[N, L(+1), ...]` steps, `[N, ...]` states); returns their rows.
        They get the largest priority so far."""
        rows = super().add({"steps": steps, "state": states})
        self._priorities.scatter_nd_update(
            rows[:, None], tf.fill(tf.shape(rows), self._max_priority.read_value())
        )
        return rows

    def sample(self, batch_size: int, seed) -> SequenceBatch:  # type: ignore[override]
        """`batch_size` sequences (with replacement), their rows and importance weights."""
        if not self.prioritized:
            indices = self._uniform_indices(batch_size, seed)
            weights = tf.ones([batch_size])
        else:
            indices, weights = self._prioritized_indices(batch_size, seed)
        items = self.gather(indices)
        return SequenceBatch(items["steps"], items["state"], indices, weights)

    def _prioritized_indices(self, batch_size: int, seed):
        size = self._size.read_value()
        check = tf.debugging.assert_greater_equal(
            size,
            tf.constant(batch_size, tf.int64),
            message=f"SequenceReplay.sample: fewer sequences than batch_size={batch_size}",
        )
        with tf.control_dependencies([check]):
            held = self._priorities[:size]
        logits = self.priority_exponent * tf.math.log(tf.maximum(held, 1e-8))
        indices = tf.random.stateless_categorical(logits[None], batch_size, seed, dtype=tf.int64)[0]
        probabilities = tf.gather(tf.nn.softmax(logits), indices)
        weights = tf.pow(tf.cast(size, tf.float32) * probabilities, -self.importance_exponent)
        return indices, weights / tf.reduce_max(weights)

    def update_priorities(self, indices, priorities) -> None:
        """Sets the priorities of rows `indices` (`[N]`, non-negative; non-finite ones are
        ignored)."""
        priorities = tf.cast(priorities, tf.float32)
        keep = tf.math.is_finite(priorities)
        indices, priorities = tf.boolean_mask(indices, keep), tf.boolean_mask(priorities, keep)
        priorities = tf.maximum(priorities, 1e-6)
        self._priorities.scatter_nd_update(indices[:, None], priorities)
        self._max_priority.assign(
            tf.maximum(self._max_priority, tf.reduce_max(tf.concat([priorities, [0.0]], 0)))
        )

    @property
    def priorities(self) -> tf.Tensor:
        """The priority of each row held, `[size]`."""
        return self._priorities[: self._size.read_value()]
