"""Sequence chunks for recurrent minibatches, and the recurrent state each chunk starts from."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory

__all__ = ["chunk_initial_states", "chunk_states", "recorded_states", "to_chunks"]


def to_chunks(nest: Any, length: int) -> Any:
    """Cuts time-major `[T, B, ...]` tensors into `[K * B, length, ...]` sequence chunks.

    `K = T // length`. Chunk `k * B + b` holds steps `k * length ... (k + 1) * length - 1` of
    environment `b`, so every step lands in exactly one chunk, in order.
    """

    def cut(x):
        steps, envs = x.shape[0], x.shape[1]
        if steps % length:
            raise ValueError(
                f"to_chunks: the time axis ({steps}) must be a multiple of `length` ({length})."
            )
        rest = x.shape[2:]
        x = tf.reshape(x, [steps // length, length, envs, *rest])
        x = tf.transpose(x, [0, 2, 1, *range(3, 3 + len(rest))])
        return tf.reshape(x, [steps // length * envs, length, *rest])

    return tf.nest.map_structure(cut, nest)


def chunk_initial_states(policy: KerasPolicy, trajectory: Trajectory, length: int) -> Any:
    """The policy state at the first step of every chunk of `to_chunks(..., length)`.

    The first chunk of each environment starts from `trajectory.policy_state`. Later chunks start
    from the state the policy reached after the chunk before, which is replayed here with the
    current parameters: called before any update, that is exactly the state the policy had during
    the rollout (the same weights on the same inputs, with resets where episodes started).
    Returns the state nest with `[K * B, ...]` leaves, in chunk order.
    """
    state = trajectory.policy_state
    if not tf.nest.flatten(state):
        return state
    steps = trajectory.reward.shape[0]
    states = [state]
    for k in range(steps // length - 1):

        def batch_major(x, k=k):
            return tf.transpose(x[k * length : (k + 1) * length], [1, 0, *range(2, x.shape.rank)])

        evaluation = policy.evaluate(
            tf.nest.map_structure(batch_major, trajectory.observation),
            batch_major(trajectory.episode_start),
            state,
            tf.nest.map_structure(batch_major, trajectory.action),
        )
        state = tf.nest.map_structure(tf.stop_gradient, evaluation.final_state)
        states.append(state)
    return tf.nest.map_structure(lambda *parts: tf.concat(parts, 0), *states)


def recorded_states(trajectory: Trajectory, length: int) -> bool:
    """Whether the trajectory holds the states its actor had at every `length`-step boundary
    (`Trajectory.sequence_states`, `[T // length, B, ...]`)."""
    leaves = tf.nest.flatten(trajectory.sequence_states)
    return bool(leaves) and leaves[0].shape[0] == trajectory.reward.shape[0] // length


def chunk_states(policy: KerasPolicy, trajectory: Trajectory, length: int) -> Any:
    """Each chunk's initial state, `[K * B, ...]` in chunk order: the states the actor recorded
    at the chunk boundaries (`Trajectory.sequence_states`, `[K, B, ...]`) where the trajectory
    has them, or else replayed with the current parameters (`chunk_initial_states`)."""
    if recorded_states(trajectory, length):
        # [K, B, ...] -> [K * B, ...]: chunk k * B + b, as `to_chunks` orders them.
        recorded = trajectory.sequence_states
        return tf.nest.map_structure(lambda x: tf.reshape(x, [-1, *x.shape[2:]]), recorded)
    return chunk_initial_states(policy, trajectory, length)
