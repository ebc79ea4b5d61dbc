"""SAC's soft values and losses as pure functions, for continuous, discrete and hybrid actions.

A hybrid action is a continuous part `c` and a discrete part `d` (one or more categorical heads;
`d` ranges over their `K` combinations), drawn independently given the state. With temperatures
`α_c` and `α_d` for the two parts (Delalleau et al., 2019, "Discrete and Continuous Action
Representation for Practical RL in Video Games"), the soft value of a state is

    V(s) = Σ_k P(k|s) [Q(s, c, k) - α_d log P(k|s)] - α_c log π(c|s),    c ~ π(·|s)

The sum over the discrete combinations is exact (Christodoulou, 2019, "Soft Actor-Critic for
Discrete Action Settings"); the continuous part is a single reparameterised sample. A purely
continuous action is the case `K = 1`, `log P = 0`; a purely discrete one has `log π(c|s) = 0`.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = ["soft_q_target", "soft_state_value", "temperature_loss"]


def soft_state_value(
    q: tf.Tensor,
    discrete_log_prob: tf.Tensor,
    continuous_log_prob: tf.Tensor,
    alpha_discrete,
    alpha_continuous,
) -> tf.Tensor:
    """`V(s)` above, `[B]`.

    Args:
        q: `[B, K]`, `Q(s, c, k)` for every discrete combination (the minimum over the critics).
        discrete_log_prob: `[B, K]`, `log P(k|s)` (`[B, 1]` of zeros without a discrete part).
        continuous_log_prob: `[B]`, `log π(c|s)` of the sampled `c` (zeros without one).
        alpha_discrete, alpha_continuous: The temperatures.
    """
    probs = tf.exp(discrete_log_prob)
    # Masked choices have probability 0 and log-probability -inf: they contribute 0, not NaN.
    expected = tf.reduce_sum(
        tf.math.multiply_no_nan(q - alpha_discrete * discrete_log_prob, probs), axis=-1
    )
    return expected - alpha_continuous * continuous_log_prob


def soft_q_target(reward, discount, terminated, next_value) -> tf.Tensor:
    """`r + γ (1 - terminated) V(s')`, `[B]`: nothing is bootstrapped past a terminal state
    (a truncated one bootstraps from its final observation)."""
    return reward + discount * (1.0 - tf.cast(terminated, reward.dtype)) * next_value


def temperature_loss(log_alpha, entropy, target_entropy) -> tf.Tensor:
    """`log α · (H - H̄)`, averaged: its gradient lowers α while the policy's entropy `H` (a
    per-state estimate, `[B]`) is above the target `H̄`, and raises it while below."""
    return tf.reduce_mean(log_alpha * tf.stop_gradient(entropy - target_entropy))
