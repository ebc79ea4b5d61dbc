"""The PPO loss as a pure function of tensors."""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

__all__ = ["PPOBatch", "masked_mean", "ppo_loss"]


class PPOBatch(NamedTuple):
    """What the loss needs from a minibatch; every field is float `[N]` (or bool for `mask`)."""

    log_prob: tf.Tensor
    """log π_θ(a|s) under the parameters being trained."""
    old_log_prob: tf.Tensor
    """log π_old(a|s), recorded during the rollout."""
    advantage: tf.Tensor
    """A(s, a), from GAE."""
    value: tf.Tensor
    """V_θ(s)."""
    old_value: tf.Tensor
    """V_old(s), recorded during the rollout."""
    returns: tf.Tensor
    """The value target, A + V_old."""
    entropy: tf.Tensor
    """H[π_θ(·|s)]."""
    discrete_entropy: tf.Tensor
    """H_d, the part of `entropy` that the discrete heads have (0 without one)."""
    mask: tf.Tensor
    """bool: the step is a real transition (the others do not count)."""


def masked_mean(x: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Mean of `x` over the entries where `mask` is True (0 if there are none)."""
    weights = tf.cast(mask, x.dtype)
    return tf.reduce_sum(x * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)


def explained_variance(values: tf.Tensor, returns: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """`1 - Var(G - V) / Var(G)` over the entries where `mask` is True: how much of the returns'
    variance the value estimates explain (1 is perfect, 0 no better than a constant)."""

    def variance(x):
        return masked_mean(tf.square(x - masked_mean(x, mask)), mask)

    return 1.0 - variance(returns - values) / variance(returns)


def ppo_loss(
    batch: PPOBatch,
    clip_range,
    value_coef: float,
    entropy_coef,
    clip_range_value: float | None = None,
    normalize_advantages: bool = True,
    discrete_entropy_coef=None,
) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
    """The clipped-surrogate PPO loss (Schulman et al., 2017, eq. 7 and 9).

    With ratio `ρ = exp(log π_θ - log π_old)` and (optionally standardised) advantages `Â`:

        L_policy  = -E[min(ρ Â, clip(ρ, 1 - ε, 1 + ε) Â)]
        L_value   = ½ E[(V_θ - R)²], or with `clip_range_value = c`
                    ½ E[max((V_θ - R)², (V_old + clip(V_θ - V_old, -c, c) - R)²)]
        L         = L_policy + value_coef L_value - c_c E[H - H_d] - c_d E[H_d]

    where `H_d` is the discrete heads' part of the entropy `H`, `c_c = entropy_coef` and
    `c_d = discrete_entropy_coef` (`entropy_coef` when `None`: one weight for all, `-c E[H]`).
    Expectations are means over the masked-in steps. Advantages are standardised with the mean
    and standard deviation of those steps.

    Returns:
        `(loss, metrics)`, the metrics namespaced under `losses/`: `policy_loss`, `value_loss`,
        `entropy`, `discrete_entropy`, `approx_kl` (the low-variance estimator E[(ρ - 1) -
        log ρ], Schulman's "Approximating KL divergence"), and `clip_fraction` (share of steps
        with |ρ - 1| > ε).
    """
    if discrete_entropy_coef is None:
        discrete_entropy_coef = entropy_coef
    mask = batch.mask
    advantage = batch.advantage
    if normalize_advantages:
        mean = masked_mean(advantage, mask)
        std = tf.sqrt(masked_mean(tf.square(advantage - mean), mask))
        advantage = (advantage - mean) / (std + 1e-8)
    log_ratio = batch.log_prob - batch.old_log_prob
    ratio = tf.exp(log_ratio)
    clipped_ratio = tf.clip_by_value(ratio, 1.0 - clip_range, 1.0 + clip_range)
    policy_loss = -masked_mean(tf.minimum(ratio * advantage, clipped_ratio * advantage), mask)

    value_error = tf.square(batch.value - batch.returns)
    if clip_range_value is not None:
        clipped_value = batch.old_value + tf.clip_by_value(
            batch.value - batch.old_value, -clip_range_value, clip_range_value
        )
        value_error = tf.maximum(value_error, tf.square(clipped_value - batch.returns))
    value_loss = 0.5 * masked_mean(value_error, mask)
    entropy = masked_mean(batch.entropy, mask)
    discrete = masked_mean(batch.discrete_entropy, mask)
    bonus = entropy_coef * (entropy - discrete) + discrete_entropy_coef * discrete
    loss = policy_loss + value_coef * value_loss - bonus

    ratio = tf.stop_gradient(ratio)
    log_ratio = tf.stop_gradient(log_ratio)
    metrics = {
        "losses/policy_loss": policy_loss,
        "losses/value_loss": value_loss,
        "losses/entropy": entropy,
        "losses/discrete_entropy": discrete,
        "losses/approx_kl": masked_mean((ratio - 1.0) - log_ratio, mask),
        "losses/clip_fraction": masked_mean(
            tf.cast(tf.abs(ratio - 1.0) > clip_range, ratio.dtype), mask
        ),
    }
    return loss, metrics
