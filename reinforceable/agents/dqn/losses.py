"""DQN's target, tensor in and tensor out (the loss is Keras's Huber, SB3's smooth L1)."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["dqn_target"]


def dqn_target(reward, discount, next_q_online, next_q_target, double: bool = True) -> tf.Tensor:
    """The n-step target of each transition, without gradient:

        y = R + γ^n Q'(s', argmax_a Q(s', a))     (double DQN: the online Q picks, Q' values)
        y = R + γ^n max_a Q'(s', a)               (DQN)

    Args:
        reward: `[B]`, the n-step return `R`.
        discount: `[B]`, `γ^n`, 0 where the episode terminated within the n steps.
        next_q_online: `[B, A]`, the online network at `s'`.
        next_q_target: `[B, A]`, the target network at `s'`.
        double: Double DQN (True) or DQN's max.

    Returns:
        `[B]`.
    """
    if double:
        choice = tf.argmax(next_q_online, axis=-1, output_type=tf.int32)
        value = tf.gather(next_q_target, choice, axis=1, batch_dims=1)
    else:
        value = tf.reduce_max(next_q_target, axis=-1)
    return tf.stop_gradient(reward + discount * value)
