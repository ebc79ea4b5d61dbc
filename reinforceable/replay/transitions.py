"""Replayed transitions (SAC, DQN, a shared replay): n-step transitions cut from a trajectory,
valid rows only, and their spec."""

from __future__ import annotations

import tensorflow as tf

from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.ops.returns import n_step_returns

__all__ = ["gather_following", "n_step_transitions", "transition_spec"]


def transition_spec(spec: EnvSpec) -> dict:
    """The unbatched spec of one stored transition."""
    return {
        "observation": spec.observation_spec,
        "action": spec.action_spec,
        "reward": tf.TensorSpec([], tf.float32),
        "next_observation": spec.observation_spec,
        "discount": tf.TensorSpec([], tf.float32),
    }


def gather_following(rows, next_index) -> tf.Tensor:
    """`result[t, b] = rows[next_index[t, b], b]`: for each row of a time-major `[T, B]` batch,
    the row `next_index` points at in `rows` (`[T + 1, B, ...]`, the last row being what follows
    the batch)."""
    columns = tf.zeros_like(next_index) + tf.range(tf.shape(next_index)[1])[None]
    return tf.gather_nd(rows, tf.stack([next_index, columns], -1))


def n_step_transitions(trajectory: Trajectory, discount: float, n: int) -> dict:
    """The trajectory's real transitions as `n`-step returns (`ops.n_step_returns`), flattened
    to `[N, ...]` (N the number of valid rows), in `transition_spec`'s structure: `reward` is
    `R_t`, `discount` is `γ^m` (0 where the episode terminated within the m steps) and
    `next_observation` is `s_{t+m}` (the final observation at a truncation)."""
    returns, discounts, next_index = n_step_returns(
        trajectory.reward,
        trajectory.terminated,
        trajectory.truncated,
        trajectory.valid,
        discount,
        n,
    )
    next_observation = tf.nest.map_structure(
        lambda rows, last: gather_following(tf.concat([rows, last[None]], 0), next_index),
        trajectory.observation,
        trajectory.next_timestep.observation,
    )
    items = {
        "observation": trajectory.observation,
        "action": trajectory.action,
        "reward": returns,
        "next_observation": next_observation,
        "discount": discounts,
    }
    valid = tf.reshape(trajectory.valid, [-1])

    def flat_valid(x):
        x = tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))
        return tf.boolean_mask(x, valid)

    return tf.nest.map_structure(flat_valid, items)
