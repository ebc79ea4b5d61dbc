"""SAC's soft values and losses as pure functions, for continuous, discrete and hybrid actions.

A hybrid action is a continuous part `c` and a discrete part `d` made of `H` categorical heads
(`d` ranges over their `K` combinations), all drawn independently given the state. Each discrete
head `h` has a temperature `α_h` of its own and the continuous part has `α_c` (Delalleau et al.,
2019, "Discrete and Continuous Action Representation for Practical RL in Video Games"); the soft
value of a state is

    V(s) = Σ_k P(k|s) Q(s, c, k) + Σ_h α_h H_h(s) - α_c log π(c|s),    c ~ π(·|s)

where `H_h` is the entropy of head `h`. The expectation over the discrete combinations is exact
(Christodoulou, 2019, "Soft Actor-Critic for Discrete Action Settings"); the continuous part is a
single reparameterised sample. With one temperature for all heads, `Σ_h α H_h` is the familiar
`-α Σ_k P(k|s) log P(k|s)`, since the heads are independent. A purely continuous action is the
case `K = 1`, `H = 0`; a purely discrete one has `log π(c|s) = 0`.
"""

from __future__ import annotations

import tensorflow as tf

__all__ = [
    "actor_loss",
    "critic_loss",
    "polyak_average",
    "soft_q_target",
    "soft_state_value",
    "temperature_loss",
    "weighted_mean",
]


def soft_state_value(
    q: tf.Tensor,
    discrete_probs: tf.Tensor,
    discrete_entropy: tf.Tensor,
    continuous_log_prob: tf.Tensor,
    alpha_discrete,
    alpha_continuous,
) -> tf.Tensor:
    """`V(s)` above, `[B]`.

    Args:
        q: `[B, K]`, `Q(s, c, k)` for every discrete combination (the minimum over the critics).
        discrete_probs: `[B, K]`, `P(k|s)` (`[B, 1]` of ones without a discrete part).
        discrete_entropy: `[B, H]`, the entropy of each discrete head (`[B, 0]` without one).
        continuous_log_prob: `[B]`, `log π(c|s)` of the sampled `c` (zeros without one).
        alpha_discrete: `[H]`, the temperature of each discrete head.
        alpha_continuous: The temperature of the continuous part.
    """
    # Masked choices have probability 0: they contribute 0 whatever their Q.
    expected = tf.reduce_sum(tf.math.multiply_no_nan(q, discrete_probs), axis=-1)
    bonus = tf.reduce_sum(discrete_entropy * alpha_discrete, axis=-1)
    return expected + bonus - alpha_continuous * continuous_log_prob


def soft_q_target(reward, discount, terminated, next_value) -> tf.Tensor:
    """`r + γ (1 - terminated) V(s')`, `[B]`: nothing is bootstrapped past a terminal state
    (a truncated one bootstraps from its final observation)."""
    return reward + discount * (1.0 - tf.cast(terminated, reward.dtype)) * next_value


def weighted_mean(x, weights=None) -> tf.Tensor:
    """`Σ_b w_b x_b / Σ_b w_b` over the first axis of `x` (`[B, ...]`); the plain mean without
    `weights` (`[B]`: a mask of the steps that count, times importance weights)."""
    if weights is None:
        return tf.reduce_mean(x, axis=0)
    weights = tf.reshape(tf.cast(weights, x.dtype), [-1] + [1] * (x.shape.rank - 1))
    return tf.reduce_sum(weights * x, axis=0) / tf.maximum(tf.reduce_sum(weights), 1e-8)


def temperature_loss(log_alpha, entropy, target_entropy, weights=None) -> tf.Tensor:
    """`log α · (H - H̄)`, averaged over the batch: its gradient lowers α while the policy's
    entropy `H` (a per-state estimate, `[B]`) is above the target `H̄`, and raises it while below.
    Several temperatures at once: `log_alpha` and `target_entropy` `[H]`, `entropy` `[B, H]`; the
    losses are summed over the heads. `weights` (`[B]`) as in `weighted_mean`."""
    terms = log_alpha * tf.stop_gradient(entropy - target_entropy)
    return tf.reduce_sum(weighted_mean(terms, weights))


def critic_loss(q_values, target, weights=None) -> tf.Tensor:
    """`Σ_i ½ mean((Q_i(s, a) - y)²)` over the critics' `[B]` estimates `q_values`, against the
    target `y` `[B]` (which carries no gradient); `weights` (`[B]`) as in `weighted_mean`."""
    target = tf.stop_gradient(target)
    return tf.add_n([0.5 * weighted_mean(tf.square(q - target), weights) for q in q_values])


def actor_loss(
    q,
    discrete_probs,
    discrete_entropy,
    continuous_log_prob,
    alpha_discrete,
    alpha_continuous,
    weights=None,
) -> tf.Tensor:
    """`-mean V(s)` of `soft_state_value` (same arguments): the actor maximises the soft value
    of its own action distribution under the current critics. `weights` as in `weighted_mean`."""
    return -weighted_mean(
        soft_state_value(
            q,
            discrete_probs,
            discrete_entropy,
            continuous_log_prob,
            alpha_discrete,
            alpha_continuous,
        ),
        weights,
    )


def polyak_average(target, source, tau):
    """`τ θ + (1 - τ) θ̄`: the target parameters `θ̄` moved a fraction `τ` towards `θ`."""
    return tau * source + (1.0 - tau) * target
