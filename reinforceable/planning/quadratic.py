"""Local models by autodiff: linear dynamics and quadratic costs around a trajectory.

These replace the symbolic (sympy) derivatives of the original guided-policy-search code: any TF
function of `(state, action)` is differentiated where it is evaluated, inside `tf.function`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import tensorflow as tf

from reinforceable.planning.lqr import AffineDynamics, QuadraticCost

__all__ = [
    "NONCONVEX_MODES",
    "check_convexity",
    "linearize",
    "make_positive_semidefinite",
    "quadratize",
]

NONCONVEX_MODES = ("clip", "raise", "allow")


def _flat(states, actions):
    states, actions = tf.convert_to_tensor(states), tf.convert_to_tensor(actions)
    actions = tf.cast(actions, states.dtype)
    lead = tf.shape(states)[:-1]
    n, m = states.shape[-1], actions.shape[-1]
    return tf.reshape(states, [-1, n]), tf.reshape(actions, [-1, m]), lead, n, m


def linearize(step: Callable, states, actions) -> AffineDynamics:
    """`f(x, u) ≈ f(x̄, ū) + F [x - x̄; u - ū]` at every `(x̄, ū)`, by autodiff.

    Args:
        step: `(state [P, n], action [P, m]) -> next state [P, n]`, row by row (a `Model.step`).
        states: `[..., n]`.
        actions: `[..., m]`, the same leading dimensions.

    Returns:
        `AffineDynamics` whose `matrix` is the Jacobian `[..., n, n + m]` and whose `offset` is
        `f(x̄, ū)`, `[..., n]`: the next state of the expansion point.
    """
    x, u, lead, n, m = _flat(states, actions)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, u])
        next_state = step(x, u)
    jacobian = tf.concat([tape.batch_jacobian(next_state, x), tape.batch_jacobian(next_state, u)],
                         axis=-1)  # fmt: skip
    return AffineDynamics(
        tf.reshape(jacobian, tf.concat([lead, [n, n + m]], 0)),
        tf.reshape(next_state, tf.concat([lead, [n]], 0)),
    )


def _expand(function, z, lead, size):
    """Value, gradient and Hessian of a row-wise scalar function of `z [P, size]`."""
    with tf.GradientTape() as outer:
        outer.watch(z)
        with tf.GradientTape() as inner:
            inner.watch(z)
            value = function(z)
            total = tf.reduce_sum(value)  # rows are independent: its gradient is per row
        gradient = inner.gradient(total, z)
    hessian = outer.batch_jacobian(gradient, z)
    return (
        tf.reshape(value, lead),
        tf.reshape(gradient, tf.concat([lead, [size]], 0)),
        tf.reshape(0.5 * (hessian + tf.linalg.matrix_transpose(hessian)),
                   tf.concat([lead, [size, size]], 0)),
    )  # fmt: skip


def quadratize(
    cost: Callable, states, actions, terminal_cost: Callable | None = None, final_state=None
) -> QuadraticCost:
    """The second-order Taylor expansion of a cost around a trajectory, by autodiff.

    In deviations `δz = [x - x̄; u - ū]`: `ℓ(z̄ + δz) ≈ ℓ(z̄) + ∇ℓᵀ δz + ½ δzᵀ ∇²ℓ δz`. The Hessians
    are symmetrised but not made positive semi-definite: see `make_positive_semidefinite`.

    Args:
        cost: `(state [P, n], action [P, m]) -> [P]`, row by row (a `Model.cost`).
        states: `[T, ..., n]`.
        actions: `[T, ..., m]`.
        terminal_cost: `state [P, n] -> [P]`, or `None` for no terminal cost.
        final_state: `x̄_T`, `[..., n]`, where the terminal cost is expanded (required with a
            `terminal_cost`; zeros otherwise).

    Returns:
        A `QuadraticCost` in deviation coordinates.
    """
    x, u, lead, n, m = _flat(states, actions)
    z = tf.concat([x, u], axis=-1)
    value, gradient, hessian = _expand(lambda z: cost(z[:, :n], z[:, n:]), z, lead, n + m)
    batch = lead[1:]
    if terminal_cost is None:
        zeros = tf.zeros(tf.concat([batch, [n]], 0), x.dtype)
        terminal = (zeros[..., 0], zeros, tf.zeros(tf.concat([batch, [n, n]], 0), x.dtype))
    else:
        if final_state is None:
            raise ValueError("quadratize: a `terminal_cost` needs the `final_state` to expand at.")
        final = tf.reshape(tf.cast(final_state, x.dtype), [-1, n])
        terminal = _expand(terminal_cost, final, batch, n)
    return QuadraticCost(hessian, gradient, value, terminal[2], terminal[1], terminal[0])


def make_positive_semidefinite(hessian: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """Clips the negative eigenvalues of symmetric matrices `[..., d, d]` to zero.

    Returns:
        `(the nearest positive semi-definite matrices in the Frobenius norm, the most negative
        eigenvalue found, [...])`.
    """
    eigenvalues, vectors = tf.linalg.eigh(hessian)
    clipped = tf.linalg.matmul(vectors * tf.maximum(eigenvalues, 0.0)[..., None, :], vectors,
                               transpose_b=True)  # fmt: skip
    return clipped, tf.minimum(tf.reduce_min(eigenvalues, axis=-1), 0.0)


def check_convexity(owner: str, mode: str, most_negative: float, tolerance: float = 1e-8) -> None:
    """After a solve: warn (`mode="clip"`) or raise (`"raise"`) if a cost Hessian had an
    eigenvalue below `-tolerance` (relative to 1); `"allow"` accepts it."""
    if mode == "allow" or most_negative >= -tolerance:
        return
    message = (
        f"{owner}: the cost's Hessian was not positive semi-definite along the trajectory (most "
        f"negative eigenvalue {most_negative:.3g})"
    )
    if mode == "raise":
        raise ValueError(
            f"{message}. Use a convex cost, or `nonconvex_cost='clip'` to clip the eigenvalues."
        )
    warnings.warn(f"{message}; its negative eigenvalues were clipped to 0.", stacklevel=3)
