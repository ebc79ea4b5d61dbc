"""KL-constrained LQG: a new linear-Gaussian controller that stays within a KL step of a
reference, under time-varying linear-Gaussian dynamics (the C-step of guided policy search).

NumPy float64 around the `lqr` backward pass. Shapes are one trajectory's: `[T, ...]`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import tensorflow as tf

from reinforceable.planning.lqr import (
    AffineDynamics,
    LinearGaussianController,
    QuadraticCost,
    lqr,
)

__all__ = [
    "KLConstrainedSolution",
    "TrajectoryDistribution",
    "brent",
    "expected_cost",
    "kl_constrained_lqg",
    "trajectory_distribution",
    "trajectory_kl",
]


# One traced graph per problem shape; the dozens of solves of one search reuse it (about 20x
# faster than eagerly). It holds no state beyond TF's trace cache.
_lqr = tf.function(lqr)


class TrajectoryDistribution(NamedTuple):
    """The Gaussian marginals of `z_t = [x_t; u_t]` under a controller and dynamics.

    Attributes:
        means: `[T, n + m]`.
        covariances: `[T, n + m, n + m]`.
    """

    means: np.ndarray
    covariances: np.ndarray


class KLConstrainedSolution(NamedTuple):
    """What `kl_constrained_lqg` returns.

    Attributes:
        controller: The new `LinearGaussianController` (NumPy, `[T, ...]`).
        eta: The dual variable η of the KL constraint.
        kl: `KL(p(τ) ‖ p̄(τ))` of the new controller.
        evaluations: LQG solves the search took.
    """

    controller: LinearGaussianController
    eta: float
    kl: float
    evaluations: int


def _numpy(controller) -> LinearGaussianController:
    return LinearGaussianController(*(np.asarray(v, np.float64) for v in controller))


def trajectory_distribution(
    dynamics: AffineDynamics, controller: LinearGaussianController, initial_mean, initial_covariance
) -> TrajectoryDistribution:
    """Propagates `x_0 ~ N(μ_0, S_0)` through `u = K x + k + N(0, Σ)` and the dynamics:

    μ_z = [μ; K μ + k],  S_z = [[S, S Kᵀ], [K S, K S Kᵀ + Σ]],
    μ' = F μ_z + f,      S' = F S_z Fᵀ + W.
    """
    F, f = np.asarray(dynamics.matrix, np.float64), np.asarray(dynamics.offset, np.float64)
    W = np.zeros(F.shape[:1] + F.shape[1:2] * 2) if dynamics.covariance is None else (
        np.asarray(dynamics.covariance, np.float64)
    )  # fmt: skip
    K, k, Sigma = _numpy(controller)
    mean, cov = np.asarray(initial_mean, np.float64), np.asarray(initial_covariance, np.float64)
    means, covariances = [], []
    for t in range(F.shape[0]):
        action_mean = K[t] @ mean + k[t]
        cross = K[t] @ cov
        joint = np.block([[cov, cross.T], [cross, cross @ K[t].T + Sigma[t]]])
        means.append(np.concatenate([mean, action_mean]))
        covariances.append(joint)
        mean = F[t] @ means[-1] + f[t]
        cov = F[t] @ joint @ F[t].T + W[t]
        cov = 0.5 * (cov + cov.T)
    return TrajectoryDistribution(np.stack(means), np.stack(covariances))


def expected_cost(cost: QuadraticCost, distribution: TrajectoryDistribution) -> float:
    """`E[Σ_t ℓ_t(z_t)]` of a quadratic cost in absolute coordinates (terminal cost left out):
    `½ tr(C S) + ½ μᵀ C μ + cᵀ μ + c0` per step."""
    C, c = np.asarray(cost.hessian, np.float64), np.asarray(cost.gradient, np.float64)
    mu, S = distribution.means, distribution.covariances
    return float(
        np.sum(0.5 * np.einsum("tij,tji->t", C, S) + 0.5 * np.einsum("ti,tij,tj->t", mu, C, mu)
               + np.einsum("ti,ti->t", c, mu) + np.asarray(cost.value, np.float64))
    )  # fmt: skip


def trajectory_kl(
    distribution: TrajectoryDistribution,
    controller: LinearGaussianController,
    reference: LinearGaussianController,
) -> float:
    """`KL(p(τ) ‖ p̄(τ))` of two controllers under the same dynamics and initial state, from the
    state marginals of `p`: `Σ_t E_{x ~ p_t} KL(p(u|x) ‖ p̄(u|x))`, where for Gaussians

        2 KL = tr(P̄ Σ) - m + log |Σ̄| / |Σ| + (δK μ + δk)ᵀ P̄ (δK μ + δk) + tr(δKᵀ P̄ δK S),

    with `P̄ = Σ̄⁻¹`, `δK = K - K̄`, `δk = k - k̄` and the state marginal `N(μ, S)`."""
    K, k, Sigma = _numpy(controller)
    Kr, kr, Sigma_r = _numpy(reference)
    n = K.shape[-1]
    mu, S = distribution.means[:, :n], distribution.covariances[:, :n, :n]
    precision = np.linalg.inv(Sigma_r)
    dK, dk = K - Kr, k - kr
    offset = np.einsum("tij,tj->ti", dK, mu) + dk
    m = K.shape[1]
    total = (
        np.einsum("tij,tji->t", precision, Sigma) - m
        + np.linalg.slogdet(Sigma_r)[1] - np.linalg.slogdet(Sigma)[1]
        + np.einsum("ti,tij,tj->t", offset, precision, offset)
        + np.einsum("tji,tjk,tki->t", dK, precision, np.einsum("tkl,tli->tki", dK, S))
    )  # fmt: skip
    return float(0.5 * np.sum(total))


def _log_reference(reference: LinearGaussianController, n: int):
    """`-log p̄(u|x)` as a quadratic in `z = [x; u]` (up to a constant): Hessian and gradient."""
    K, k, Sigma = _numpy(reference)
    P = np.linalg.inv(Sigma)
    KtP = np.swapaxes(K, -1, -2) @ P
    hessian = np.block([[KtP @ K, -KtP], [-P @ K, P]])
    gradient = np.concatenate([np.einsum("tij,tj->ti", KtP, k), -np.einsum("tij,tj->ti", P, k)],
                              -1)  # fmt: skip
    return hessian, gradient


def brent(
    function: Callable[[float], float], low: float, high: float, tolerance: float, iterations: int
) -> tuple[float, int]:
    """A root of `function` in `[low, high]` (where it changes sign) by Brent's method (Brent,
    1973): inverse quadratic interpolation or the secant where they stay inside the bracket and
    shrink it fast enough, bisection otherwise.

    Stops when `|function(x)| <= tolerance` or the bracket is narrower than `1e-12` of `x`.

    Returns:
        `(x, evaluations)`.
    """
    a, b = low, high
    fa, fb = function(a), function(b)
    evaluations = 2
    if fa * fb > 0:
        raise ValueError(f"brent: the function has the same sign at {low} and {high}.")
    if abs(fa) < abs(fb):
        a, b, fa, fb = b, a, fb, fa
    c, fc, d, bisected = a, fa, a, True
    for _ in range(iterations):
        if abs(fb) <= tolerance or abs(b - a) <= 1e-12 * max(1.0, abs(b)):
            break
        if fa != fc and fb != fc:  # inverse quadratic interpolation
            s = (a * fb * fc / ((fa - fb) * (fa - fc)) + b * fa * fc / ((fb - fa) * (fb - fc))
                 + c * fa * fb / ((fc - fa) * (fc - fb)))  # fmt: skip
        else:  # secant
            s = b - fb * (b - a) / (fb - fa)
        between = min((3 * a + b) / 4, b) < s < max((3 * a + b) / 4, b)
        slow = abs(s - b) >= (abs(b - c) / 2 if bisected else abs(c - d) / 2)
        if not between or slow:
            s, bisected = (a + b) / 2, True
        else:
            bisected = False
        fs = function(s)
        evaluations += 1
        d, c, fc = c, b, fb
        if fa * fs < 0:
            b, fb = s, fs
        else:
            a, fa = s, fs
        if abs(fa) < abs(fb):
            a, b, fa, fb = b, a, fb, fa
    return b, evaluations


def kl_constrained_lqg(
    dynamics: AffineDynamics,
    cost: QuadraticCost,
    reference: LinearGaussianController,
    step: float,
    initial_mean,
    initial_covariance,
    eta_bounds: tuple[float, float] = (1e-8, 1e16),
    tolerance: float = 0.1,
    max_evaluations: int = 50,
) -> KLConstrainedSolution:
    """The linear-Gaussian controller that minimises the expected cost subject to
    `KL(p(τ) ‖ p̄(τ)) <= step` (Levine & Abbeel, 2014).

    For a dual variable η the Lagrangian's minimiser is the maximum-entropy LQG solution of the
    cost `ℓ/η - log p̄(u|x)`: `lqr` on that quadratic gives `u ~ N(K x + k, Q_uu⁻¹)`. Its KL to
    the reference falls as η grows, so η is found by Brent's method on `log η` until
    `|KL - step| <= tolerance · step`. If even the smallest η keeps the KL below the step, the
    constraint is inactive and that η is returned.

    Args:
        dynamics: `AffineDynamics` `[T, ...]` in absolute coordinates (a `TVLGDynamics` works:
            `AffineDynamics(*tvlg)`).
        cost: `QuadraticCost` in absolute coordinates (the terminal terms are ignored).
        reference: The controller `p̄` to stay close to (the previous local controller, or the
            global policy's linearisation), with positive definite covariances.
        step: ε, the KL step, > 0.
        initial_mean: `[n]`, the mean of `x_0`.
        initial_covariance: `[n, n]`.
        eta_bounds: The bracket of η.
        tolerance: Relative tolerance on the KL.
        max_evaluations: LQG solves at most.

    Returns:
        A `KLConstrainedSolution`.

    Raises:
        ValueError: For a non-positive `step`, or a reference covariance that is not positive
            definite.
    """
    if not step > 0:
        raise ValueError(f"kl_constrained_lqg: `step` must be > 0; received {step!r}.")
    reference = _numpy(reference)
    if np.any(np.linalg.eigvalsh(reference.covariance) <= 0):
        raise ValueError(
            "kl_constrained_lqg: the reference controller's covariances must be positive definite."
        )
    F = np.asarray(dynamics.matrix, np.float64)
    n = F.shape[-1] - reference.gains.shape[-2]
    log_hessian, log_gradient = _log_reference(reference, n)
    C, c = np.asarray(cost.hessian, np.float64), np.asarray(cost.gradient, np.float64)
    plain = AffineDynamics(F, np.asarray(dynamics.offset, np.float64))
    zeros = np.zeros(F.shape[0])
    solved: dict[float, tuple[LinearGaussianController, float]] = {}

    def solve(log_eta: float) -> float:
        if log_eta in solved:  # Brent starts at the bracket's ends; the lower is already solved
            return solved[log_eta][1] - step
        eta = float(np.exp(log_eta))
        modified = QuadraticCost(C / eta + log_hessian, c / eta + log_gradient, zeros,
                                 np.zeros((n, n)), np.zeros(n), 0.0)  # fmt: skip
        controller = _numpy(_lqr(plain, tf.nest.map_structure(tf.constant, modified)).controller)
        distribution = trajectory_distribution(dynamics, controller, initial_mean,
                                               initial_covariance)  # fmt: skip
        kl = trajectory_kl(distribution, controller, reference)
        solved[log_eta] = (controller, kl)
        return kl - step

    low, high = np.log(eta_bounds[0]), np.log(eta_bounds[1])
    if solve(low) <= tolerance * step:  # the constraint is inactive even at the smallest η
        controller, kl = solved[low]
        return KLConstrainedSolution(controller, float(eta_bounds[0]), kl, 1)
    log_eta, _ = brent(solve, low, high, tolerance * step, max_evaluations)
    controller, kl = solved[log_eta]
    return KLConstrainedSolution(controller, float(np.exp(log_eta)), kl, len(solved))
