"""TD3's and DDPG's maths as pure functions: the smoothed target action and the deterministic
policy loss (the critics' loss and the Polyak step are SAC's, `agents/sac/losses.py`)."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["deterministic_policy_loss", "smoothed_target_action"]


def smoothed_target_action(action, noise, std, clip, half_range, low, high) -> tf.Tensor:
    """TD3's target policy smoothing (Fujimoto et al. 2018, eq. 14),

        a' = clip(μ'(s') + clip(σ ε, -c, c) · h, low, high),    ε ~ N(0, I),

    with the noise in units of each dimension's half-range `h = (high - low) / 2` (SB3's
    actions rescaled to [-1, 1]); `σ = 0` gives DDPG's `a' = μ'(s')`.

    Args:
        action: `[B, C]`, the target actor's action `μ'(s')`.
        noise: `[B, C]`, standard normal draws `ε`.
        std: `σ`.
        clip: `c`.
        half_range: `[C]`, `h` (1 for an unbounded dimension).
        low: `[C]`, the lower bounds (`-inf` where unbounded).
        high: `[C]`, the upper bounds.

    Returns:
        `[B, C]`, `a'`.
    """
    smoothing = tf.clip_by_value(std * noise, -clip, clip) * half_range
    return tf.clip_by_value(action + smoothing, low, high)


def deterministic_policy_loss(q) -> tf.Tensor:
    """`-mean_b Q(s_b, μ(s_b))` (`q` `[B]`, the first critic's value of the actor's action): the
    deterministic policy gradient (Silver et al. 2014) follows `∇_a Q · ∇_θ μ`."""
    return -tf.reduce_mean(q)
