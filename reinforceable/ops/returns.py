"""Advantages and returns over time-major `[T, B]` trajectories."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["generalized_advantage_estimation", "n_step_returns"]


def _check(name: str, value, rank: int, dtype: tf.DType) -> tf.Tensor:
    value = tf.convert_to_tensor(value)
    if value.shape.rank != rank:
        raise ValueError(
            f"generalized_advantage_estimation: `{name}` must have rank {rank}; received shape "
            f"{value.shape}."
        )
    if dtype == tf.bool:
        if value.dtype != tf.bool:
            raise TypeError(
                f"generalized_advantage_estimation: `{name}` must be bool; received {value.dtype}."
            )
        return value
    if not value.dtype.is_floating:
        raise TypeError(
            f"generalized_advantage_estimation: `{name}` must be floating; received {value.dtype}."
        )
    return tf.cast(value, dtype)


def generalized_advantage_estimation(
    rewards,
    values,
    bootstrap_value,
    terminated,
    truncated,
    valid,
    discount: float,
    lambda_: float,
) -> tuple[tf.Tensor, tf.Tensor]:
    """GAE(λ) advantages and λ-returns, with termination and truncation kept apart.

    Row `t` is the transition `s_t --a_t--> (r_t, s_{t+1})`, where `s_{t+1}` is the state of row
    `t + 1` (or `bootstrap_value`'s state after the last row). With `V_t = values[t]` and
    `V_T = bootstrap_value`,

        δ_t = r_t + γ (1 - terminated_t) V_{t+1} - V_t
        A_t = δ_t + γ λ (1 - terminated_t) (1 - truncated_t) A_{t+1}

    (Schulman et al., 2016, "High-dimensional continuous control using generalized advantage
    estimation", eq. 16). A terminal state is worth 0, so nothing is bootstrapped past it. A
    truncated episode did not end, so its last TD error bootstraps from the value of the final
    observation, `V_{t+1}` (the value the policy computed on the row after it, which in gymnasium's
    next-step auto-reset layout is an invalid row holding that final observation). The recursion
    does not run across either boundary. Rows that are not `valid` (the step that crosses a reset)
    get an advantage of 0 and a return equal to their value.

    Args:
        rewards: float `[T, B]`, `r_t`.
        values: float `[T, B]`, `V(s_t)`.
        bootstrap_value: float `[B]`, `V(s_T)`, the value of the state after the last row.
        terminated: bool `[T, B]`, `s_{t+1}` is terminal.
        truncated: bool `[T, B]`, the episode was cut off at `s_{t+1}`.
        valid: bool `[T, B]`, row `t` is a real transition.
        discount: γ in `(0, 1]`.
        lambda_: λ in `[0, 1]`.

    Returns:
        `(advantages, returns)`, float `[T, B]` each, with `returns = advantages + values`.

    Raises:
        ValueError: For wrong ranks or mismatched shapes, or γ / λ out of range.
        TypeError: For wrong dtypes.
    """
    if not 0.0 < discount <= 1.0:
        raise ValueError(
            f"generalized_advantage_estimation: `discount` must be in (0, 1]; received {discount}."
        )
    if not 0.0 <= lambda_ <= 1.0:
        raise ValueError(
            f"generalized_advantage_estimation: `lambda_` must be in [0, 1]; received {lambda_}."
        )
    values = _check("values", values, 2, tf.float32)
    dtype = values.dtype
    rewards = _check("rewards", rewards, 2, dtype)
    bootstrap_value = _check("bootstrap_value", bootstrap_value, 1, dtype)
    terminated = _check("terminated", terminated, 2, tf.bool)
    truncated = _check("truncated", truncated, 2, tf.bool)
    valid = _check("valid", valid, 2, tf.bool)
    for name, tensor in (
        ("rewards", rewards),
        ("terminated", terminated),
        ("truncated", truncated),
        ("valid", valid),
    ):
        if not tensor.shape.is_compatible_with(values.shape):
            raise ValueError(
                f"generalized_advantage_estimation: `{name}` has shape {tensor.shape}, which does "
                f"not match `values` {values.shape}."
            )
    if not bootstrap_value.shape.is_compatible_with(values.shape[1:]):
        raise ValueError(
            f"generalized_advantage_estimation: `bootstrap_value` must be [B] = "
            f"{values.shape[1:]}; received {bootstrap_value.shape}."
        )

    not_terminal = 1.0 - tf.cast(terminated, dtype)
    continues = not_terminal * (1.0 - tf.cast(truncated, dtype))
    valid_f = tf.cast(valid, dtype)
    next_values = tf.concat([values[1:], bootstrap_value[None]], axis=0)
    deltas = (rewards + discount * not_terminal * next_values - values) * valid_f

    def backward(next_advantage, inputs):
        delta, continue_, is_valid = inputs
        return (delta + discount * lambda_ * continue_ * next_advantage) * is_valid

    advantages = tf.scan(
        backward,
        (deltas, continues, valid_f),
        initializer=tf.zeros_like(bootstrap_value),
        reverse=True,
    )
    return advantages, advantages + values


def n_step_returns(
    rewards, terminated, truncated, valid, discount: float, n: int
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """n-step returns of every row of a time-major rollout, for off-policy targets.

    For a real transition at row `t`, the return sums up to `n` discounted rewards of its episode,
    `R_t = Σ_{i<m} γ^i r_{t+i}`, stopping early where the episode ends (terminated or truncated)
    or the rollout does: `m <= n` steps are used. The target is then
    `R_t + γ_t V(s_{t+m})`, with `γ_t = γ^m`, or 0 where the episode terminated within the `m`
    steps (a truncated episode bootstraps from its final observation, `s_{t+m}`). `n = 1` gives
    the one-step transition (`R_t = r_t`, `γ_t = γ (1 - terminated_t)`).

    Args:
        rewards: float `[T, B]`.
        terminated, truncated: bool `[T, B]`: the action of row `t` ended the episode.
        valid: bool `[T, B]`: the row is a real transition (not the step that crosses a reset).
        discount: γ.
        n: The most steps to sum, >= 1.

    Returns:
        `(returns, discounts, next_index)`, each `[T, B]`: `R_t`, `γ_t`, and `t + m`, the row of
        `s_{t+m}` (`T` for the observation after the last row). Rows that are not valid get
        `R_t = 0`, `γ_t = 0` and `t + 1`.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n_step_returns: `n` must be an int >= 1; received {n!r}.")
    rewards = tf.convert_to_tensor(rewards, tf.float32)
    valid = tf.convert_to_tensor(valid, tf.bool)
    terminated = tf.convert_to_tensor(terminated, tf.bool)
    ended = terminated | tf.convert_to_tensor(truncated, tf.bool)
    steps = tf.shape(rewards)[0]
    rows = tf.range(steps)[:, None] + tf.zeros_like(rewards, tf.int32)

    def ahead(x, i, fill):
        """Row t of the result is row t + i of `x` (`fill` past the end)."""
        pad = tf.fill(tf.concat([[i], tf.shape(x)[1:]], 0), tf.constant(fill, x.dtype))
        return tf.concat([x, pad], 0)[i:]

    returns = tf.zeros_like(rewards)
    scale = tf.ones_like(rewards)
    next_index = rows + 1
    ended_terminal = tf.zeros_like(valid)
    going = valid
    for i in range(n):
        take = going & ahead(valid, i, False)
        returns += tf.where(take, scale * ahead(rewards, i, 0.0), 0.0)
        scale = tf.where(take, scale * discount, scale)
        next_index = tf.where(take, rows + i + 1, next_index)
        ended_terminal |= take & ahead(terminated, i, False)
        going = take & ~ahead(ended, i, False)
    discounts = tf.where(valid & ~ended_terminal, scale, 0.0)
    return returns, discounts, next_index
