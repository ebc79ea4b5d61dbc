"""Finite-horizon, time-varying LQR and LQG: the backward pass that iLQR and guided policy search
share, as pure tensor functions.

Shapes are time-major: `[T, ...]` with any batch dimensions after the time axis. A step's state
and action are stacked as `z = [x; u]` (`n + m`).
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

__all__ = [
    "AffineDynamics",
    "LQRSolution",
    "LinearGaussianController",
    "QuadraticCost",
    "lqr",
]


class AffineDynamics(NamedTuple):
    """`x_{t+1} = F_t [x_t; u_t] + f_t (+ noise of covariance Σ_t)`.

    Attributes:
        matrix: `F`, `[T, ..., n, n + m]`.
        offset: `f`, `[T, ..., n]`.
        covariance: `Σ`, `[T, ..., n, n]`, or `None` (noiseless).
    """

    matrix: tf.Tensor
    offset: tf.Tensor
    covariance: tf.Tensor | None = None


class QuadraticCost(NamedTuple):
    """`ℓ_t(z) = ½ zᵀ C_t z + c_tᵀ z + c0_t` for `t < T`, and `ℓ_T(x) = ½ xᵀ C_T x + c_Tᵀ x + c0_T`.

    The coordinates are the caller's: deviations from a nominal trajectory (iLQR) or absolute
    states and actions (trajectory optimisation under fitted dynamics).

    Attributes:
        hessian: `C`, `[T, ..., n + m, n + m]`, symmetric.
        gradient: `c`, `[T, ..., n + m]`.
        value: `c0`, `[T, ...]`.
        terminal_hessian: `[..., n, n]`.
        terminal_gradient: `[..., n]`.
        terminal_value: `[...]`.
    """

    hessian: tf.Tensor
    gradient: tf.Tensor
    value: tf.Tensor
    terminal_hessian: tf.Tensor
    terminal_gradient: tf.Tensor
    terminal_value: tf.Tensor


class LinearGaussianController(NamedTuple):
    """`u_t ~ N(K_t x_t + k_t, Σ_t)`: a time-varying linear-Gaussian controller.

    Attributes:
        gains: `K`, `[T, ..., m, n]`.
        offsets: `k`, `[T, ..., m]`.
        covariance: `Σ`, `[T, ..., m, m]` (zeros for a deterministic controller).
    """

    gains: tf.Tensor
    offsets: tf.Tensor
    covariance: tf.Tensor


class LQRSolution(NamedTuple):
    """What `lqr` returns.

    Attributes:
        controller: The optimal controller; its covariance is `Q_uu⁻¹`, the maximum-entropy
            (LQG) solution of the same cost.
        value_hessian: `V_t`, `[T + 1, ..., n, n]`: the cost-to-go is `½ xᵀ V_t x + v_tᵀ x + ...`.
        value_gradient: `v_t`, `[T + 1, ..., n]`.
        expected_linear: `Σ_t k_tᵀ q_u`, `[...]`: with `expected_quadratic`, the cost change of a
            step of size α along the offsets is `α · linear + α² · quadratic` (iLQR's line search).
        expected_quadratic: `Σ_t ½ k_tᵀ Q_uu k_t`, `[...]`.
        positive_definite: bool `[...]`: `Q_uu + μ I` was positive definite at every step. Where
            it was not, the gains of that batch entry are meaningless (raise `μ` and solve again).
    """

    controller: LinearGaussianController
    value_hessian: tf.Tensor
    value_gradient: tf.Tensor
    expected_linear: tf.Tensor
    expected_quadratic: tf.Tensor
    positive_definite: tf.Tensor


def _symmetric(matrix):
    return 0.5 * (matrix + tf.linalg.matrix_transpose(matrix))


def _clamp(Quu, Qux, qu, k, K, lower, upper):
    """`(K, k)` with `k` in `[lower, upper]`: clamped dimensions get no feedback, free ones are
    re-solved with the clamped ones held at their bounds."""
    clamped = tf.clip_by_value(k, lower, upper)
    free = tf.cast(tf.equal(clamped, k), k.dtype)  # [..., m]
    held = (1.0 - free) * clamped
    eye = tf.eye(tf.shape(k)[-1], dtype=k.dtype)
    # The free block of Q_uu, with ones on the diagonal of the clamped dimensions.
    reduced = Quu * free[..., :, None] * free[..., None, :] + eye * (1.0 - free[..., None, :])
    rhs_k = free * (qu + tf.linalg.matvec(Quu, held))
    k_free = -tf.linalg.solve(reduced, rhs_k[..., None])[..., 0]
    K_free = -tf.linalg.solve(reduced, Qux * free[..., :, None])
    return K_free, k_free + held


def lqr(
    dynamics: AffineDynamics, cost: QuadraticCost, regularization=0.0, control_bounds=None
) -> LQRSolution:
    """The finite-horizon time-varying LQR backward pass (dynamic programming on `Q`).

    With the cost-to-go `V_{t+1}(x) = ½ xᵀ V x + vᵀ x`, the step's action-value is quadratic in
    `z = [x; u]`:

        Q_zz = C_t + Fᵀ V F,    q_z = c_t + Fᵀ (V f + v),

    and the minimising action is `u = K x + k` with `K = -Q_uu⁻¹ Q_ux`, `k = -Q_uu⁻¹ q_u`. Then

        V_t = Q_xx + Q_xu K + Kᵀ Q_ux + Kᵀ Q_uu K,    v_t = q_x + Q_xu k + Kᵀ q_u + Kᵀ Q_uu k

    (the symmetric form, which keeps `V_t` symmetric in floating point). Process noise adds only a
    constant to the cost-to-go, so the same gains solve the LQG problem; `Q_uu⁻¹` is the
    covariance of its maximum-entropy controller (Levine & Abbeel, 2014). Levenberg-Marquardt
    regularisation adds `μ I` to `Q_uu` (Tassa et al., 2012).

    Args:
        dynamics: `AffineDynamics` over `T` steps.
        cost: `QuadraticCost` over the same steps.
        regularization: `μ >= 0`, a scalar or `[...]` per batch entry.
        control_bounds: `(lower, upper)`, each `[T, ..., m]`, or `None`: box bounds on the
            offsets `k` (control-limited DDP, Tassa et al., 2014). The unconstrained `k` is
            clipped into the box; the dimensions it clamps get no feedback (their rows of `K` are
            zero), and the free ones are re-solved with the clamped ones held:
            `k_f = -Q_ff⁻¹ (q_f + Q_fc k_c)`, `K_f = -Q_ff⁻¹ Q_fx`. For one action dimension this
            is the exact box-constrained solution; for more it is one projected-Newton step.

    Returns:
        An `LQRSolution`.

    Raises:
        ValueError: If the shapes of `dynamics` and `cost` do not agree.
    """
    F = tf.convert_to_tensor(dynamics.matrix)
    dtype = F.dtype
    f = tf.convert_to_tensor(dynamics.offset, dtype)
    C = tf.convert_to_tensor(cost.hessian, dtype)
    c = tf.convert_to_tensor(cost.gradient, dtype)
    VT = tf.convert_to_tensor(cost.terminal_hessian, dtype)
    vT = tf.convert_to_tensor(cost.terminal_gradient, dtype)
    if F.shape.rank is None or F.shape.rank < 3:
        raise ValueError(f"lqr: `dynamics.matrix` must be [T, ..., n, n + m]; received {F.shape}.")
    n, nm = F.shape[-2], F.shape[-1]
    if n is None or nm is None:
        raise ValueError(f"lqr: the last two dimensions of `dynamics.matrix` must be known; "
                         f"received {F.shape}.")  # fmt: skip
    m = nm - n
    expected = {
        "dynamics.offset": (f, F.shape[:-1]),
        "cost.hessian": (C, F.shape[:-2].concatenate([nm, nm])),
        "cost.gradient": (c, F.shape[:-2].concatenate([nm])),
        "cost.terminal_hessian": (VT, F.shape[1:-2].concatenate([n, n])),
        "cost.terminal_gradient": (vT, F.shape[1:-2].concatenate([n])),
    }
    for name, (value, shape) in expected.items():
        if not value.shape.is_compatible_with(shape):
            raise ValueError(f"lqr: `{name}` must have shape {shape}; received {value.shape}.")
    if m < 1:
        raise ValueError(f"lqr: `dynamics.matrix` must be [T, ..., n, n + m] with m >= 1; "
                         f"received {F.shape}.")  # fmt: skip
    mu = tf.convert_to_tensor(regularization, dtype)
    eye = tf.eye(m, dtype=dtype)
    batch = tf.shape(vT)[:-1]

    def backward(carry, inputs):
        V, v, _, _, _, linear, quadratic, ok = carry
        Ft, ft, Ct, ct = inputs[:4]
        bounds = inputs[4:] or None
        Fv = tf.linalg.matvec(V, ft) + v
        Qzz = _symmetric(Ct + tf.linalg.matmul(Ft, tf.linalg.matmul(V, Ft), transpose_a=True))
        qz = ct + tf.linalg.matvec(Ft, Fv, transpose_a=True)
        Qxx, Qux, Quu = Qzz[..., :n, :n], Qzz[..., n:, :n], Qzz[..., n:, n:]
        qx, qu = qz[..., :n], qz[..., n:]
        Quu_reg = Quu + mu[..., None, None] * eye if mu.shape.rank else Quu + mu * eye
        smallest = tf.reduce_min(tf.linalg.eigvalsh(Quu_reg), axis=-1)
        definite = smallest > 0
        safe = tf.where(definite[..., None, None], Quu_reg, tf.broadcast_to(eye, tf.shape(Quu)))
        chol = tf.linalg.cholesky(safe)
        K = -tf.linalg.cholesky_solve(chol, Qux)
        k = -tf.linalg.cholesky_solve(chol, qu[..., None])[..., 0]
        covariance = tf.linalg.cholesky_solve(chol, tf.broadcast_to(eye, tf.shape(Quu)))
        if bounds is not None:
            K, k = _clamp(safe, Qux, qu, k, K, bounds[0], bounds[1])
        KtQuu = tf.linalg.matmul(K, Quu, transpose_a=True)
        Qxu = tf.linalg.matrix_transpose(Qux)
        V_new = _symmetric(
            Qxx + tf.linalg.matmul(Qxu, K) + tf.linalg.matmul(K, Qux, transpose_a=True)
            + tf.linalg.matmul(KtQuu, K)
        )  # fmt: skip
        v_new = (
            qx + tf.linalg.matvec(Qxu, k) + tf.linalg.matvec(K, qu, transpose_a=True)
            + tf.linalg.matvec(KtQuu, k)
        )  # fmt: skip
        linear = linear + tf.reduce_sum(k * qu, -1)
        quadratic = quadratic + 0.5 * tf.reduce_sum(k * tf.linalg.matvec(Quu, k), -1)
        return (V_new, v_new, K, k, covariance, linear, quadratic, ok & definite)

    zeros = tf.zeros(batch, dtype)
    initial = (
        _symmetric(VT), vT,
        tf.zeros(tf.concat([batch, [m, n]], 0), dtype), tf.zeros(tf.concat([batch, [m]], 0), dtype),
        tf.zeros(tf.concat([batch, [m, m]], 0), dtype), zeros, zeros, tf.ones(batch, tf.bool),
    )  # fmt: skip
    inputs = (F, f, C, c)
    if control_bounds is not None:
        inputs += tuple(tf.convert_to_tensor(b, dtype) for b in control_bounds)
    V, v, K, k, covariance, linear, quadratic, ok = tf.scan(
        backward, inputs, initializer=initial, reverse=True
    )
    return LQRSolution(
        controller=LinearGaussianController(K, k, covariance),
        value_hessian=tf.concat([V, _symmetric(VT)[None]], 0),
        value_gradient=tf.concat([v, vT[None]], 0),
        expected_linear=linear[0],
        expected_quadratic=quadratic[0],
        positive_definite=ok[0],
    )
