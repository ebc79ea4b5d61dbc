"""Advantages and returns over time-major `[T, B]` trajectories."""

from __future__ import annotations

import tensorflow as tf

__all__ = ["generalized_advantage_estimation"]


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
