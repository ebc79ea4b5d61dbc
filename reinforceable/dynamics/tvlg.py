"""Time-varying linear-Gaussian (TVLG) dynamics fitted from sampled trajectories."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from reinforceable.dynamics.prior import GMMPrior, NIWPrior

__all__ = ["TVLGDynamics", "fit_tvlg", "joint_gaussian"]


class TVLGDynamics(NamedTuple):
    """`x_{t+1} ~ N(F_t [x_t; u_t] + f_t, Σ_t)`, NumPy float64. It converts to the planners'
    `AffineDynamics` with `AffineDynamics(*dynamics)`.

    Attributes:
        matrix: `F`, `[T, n, n + m]`.
        offset: `f`, `[T, n]`.
        covariance: `Σ`, `[T, n, n]`, the residual noise.
    """

    matrix: np.ndarray
    offset: np.ndarray
    covariance: np.ndarray


def joint_gaussian(data: np.ndarray, prior: NIWPrior | None = None) -> tuple[np.ndarray, ...]:
    """The mean and covariance of `data [N, d]`: empirical, or the mode of the normal-inverse-
    Wishart posterior under `prior`,

        μ = (κ μ₀ + N μ̂) / (κ + N),
        Σ = (Φ + N Σ̂ + N κ / (N + κ) (μ̂ - μ₀)(μ̂ - μ₀)ᵀ) / (N + ν),

    with the empirical `μ̂`, `Σ̂` (Murphy, 2007; Levine et al., 2016, appendix)."""
    count = data.shape[0]
    mean = data.mean(0)
    centered = data - mean
    covariance = centered.T @ centered / count
    if prior is None:
        return mean, covariance
    offset = (mean - prior.mean)[:, None]
    kappa, nu = prior.mean_strength, prior.covariance_strength
    covariance = (
        prior.scatter + count * covariance + count * kappa / (count + kappa) * offset @ offset.T
    ) / (count + nu)
    return (kappa * prior.mean + count * mean) / (kappa + count), covariance


def fit_tvlg(
    states, actions, prior: GMMPrior | None = None, regularization: float = 1e-6
) -> TVLGDynamics:
    """Fits `x_{t+1} ≈ F_t [x_t; u_t] + f_t` at every step, from N sampled trajectories.

    At each step, a Gaussian is fitted to the N points `[x_t, u_t, x_{t+1}]` (with a `prior`, the
    normal-inverse-Wishart posterior of `joint_gaussian`), and conditioned on `[x_t, u_t]`:
    `F = Σ_yz Σ_zz⁻¹`, `f = μ_y - F μ_z`, `Σ = Σ_yy - F Σ_zz Fᵀ`. Without a prior this is least
    squares with an intercept (ridge `regularization` on `Σ_zz`).

    Args:
        states: `[N, T + 1, n]`.
        actions: `[N, T, m]`.
        prior: A fitted `GMMPrior` (of transitions from any step and iteration), for fits from
            fewer samples than `n + m + 1`.
        regularization: Added to the diagonal of `Σ_zz`.

    Returns:
        `TVLGDynamics` over T steps.

    Raises:
        ValueError: For shapes that do not agree, non-finite data, or (without a prior) fewer than
            `n + m + 1` trajectories: the message says how many are needed.
    """
    states, actions = np.asarray(states, np.float64), np.asarray(actions, np.float64)
    if states.ndim != 3 or actions.ndim != 3:
        raise ValueError(
            f"fit_tvlg: `states` must be [N, T + 1, n] and `actions` [N, T, m]; received "
            f"shapes {states.shape} and {actions.shape}."
        )
    count, steps, m = actions.shape
    n = states.shape[-1]
    if states.shape[:2] != (count, steps + 1):
        raise ValueError(
            f"fit_tvlg: `states` must be [N, T + 1, n] = [{count}, {steps + 1}, n] to match "
            f"`actions` {actions.shape}; received {states.shape}."
        )
    if not (np.all(np.isfinite(states)) and np.all(np.isfinite(actions))):
        raise ValueError("fit_tvlg: `states` and `actions` must be finite.")
    needed = n + m + 1
    if prior is None and count < needed:
        raise ValueError(
            f"fit_tvlg: fitting {n} + {m} inputs and an offset needs at least {needed} "
            f"trajectories without a prior; received {count}. Sample at least {needed}, or pass "
            "a fitted `GMMPrior`."
        )
    if prior is not None and not isinstance(prior, GMMPrior):
        raise TypeError(f"fit_tvlg: `prior` must be a GMMPrior; received {type(prior).__name__}.")
    matrices, offsets, covariances = [], [], []
    ridge = regularization * np.eye(n + m)
    for t in range(steps):
        data = np.concatenate([states[:, t], actions[:, t], states[:, t + 1]], axis=-1)
        niw = prior.evaluate(data) if prior is not None else None
        mean, covariance = joint_gaussian(data, niw)
        zz = covariance[: n + m, : n + m] + ridge
        yz = covariance[n + m :, : n + m]
        matrix = np.linalg.solve(zz, yz.T).T
        matrices.append(matrix)
        offsets.append(mean[n + m :] - matrix @ mean[: n + m])
        residual = covariance[n + m :, n + m :] - matrix @ zz @ matrix.T
        covariances.append(0.5 * (residual + residual.T))
    return TVLGDynamics(np.stack(matrices), np.stack(offsets), np.stack(covariances))
