"""A Gaussian-mixture prior over transitions, giving a normal-inverse-Wishart prior per step."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["GMMPrior", "NIWPrior"]


class NIWPrior(NamedTuple):
    """A normal-inverse-Wishart prior `N(μ | μ₀, Σ/κ) IW(Σ | Φ, ν)`.

    Attributes:
        mean: `μ₀`, `[d]`.
        scatter: `Φ`, `[d, d]` (`ν` times a prior covariance).
        mean_strength: `κ`, pseudo-observations behind `μ₀`.
        covariance_strength: `ν`, pseudo-observations behind `Φ`.
    """

    mean: np.ndarray
    scatter: np.ndarray
    mean_strength: float
    covariance_strength: float


def _log_densities(data, means, covariances):
    """`[N, K]` log N(data_i | μ_k, Σ_k)."""
    d = data.shape[-1]
    chol = np.linalg.cholesky(covariances)  # [K, d, d]
    diff = data[None] - means[:, None]  # [K, N, d]
    solved = np.linalg.solve(chol, np.swapaxes(diff, 1, 2))  # [K, d, N]
    mahalanobis = np.sum(solved**2, axis=1)  # [K, N]
    log_det = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=-1)
    return (-0.5 * (mahalanobis + log_det[:, None] + d * np.log(2 * np.pi))).T


def _responsibilities(data, weights, means, covariances):
    """`[N, K]` posterior probabilities of the components for each point."""
    log_joint = _log_densities(data, means, covariances) + np.log(weights)
    return np.exp(log_joint - np.logaddexp.reduce(log_joint, axis=1, keepdims=True))


class GMMPrior:
    """A Gaussian mixture over transitions `[x_t, u_t, x_{t+1}]` from every step and iteration,
    turned into a normal-inverse-Wishart prior for the fit at one step (Levine et al., 2016).

    For the points of one step, the mixture's responsibilities, averaged, weight its components:
    `μ₀ = Σ w_k μ_k` and `Φ/ν = Σ w_k (Σ_k + (μ_k - μ₀)(μ_k - μ₀)ᵀ)`. A mixture over the whole
    state space captures the dynamics where a single step's few samples cannot, so `fit_tvlg`
    then needs far fewer samples per step than `n + m + 1`.

    Args:
        components: K, mixture components (fewer are used while there are few points).
        strength: κ = ν, the pseudo-observations the prior counts for.
        max_points: Transitions kept (the newest).
        iterations: EM iterations per `update`.
        regularization: Added to the diagonal of each component's covariance.
        seed: Seed of the initial assignment.

    Raises:
        ValueError: For a non-positive `components`, `strength` or `max_points`.
    """

    def __init__(
        self,
        components: int = 8,
        strength: float = 1.0,
        max_points: int = 20000,
        iterations: int = 100,
        regularization: float = 1e-6,
        seed: int = 0,
    ):
        for name, value in (("components", components), ("max_points", max_points),
                            ("iterations", iterations)):  # fmt: skip
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"GMMPrior: `{name}` must be a positive int; received {value!r}.")
        if not strength > 0:
            raise ValueError(f"GMMPrior: `strength` must be > 0; received {strength!r}.")
        self.components, self.strength = components, float(strength)
        self.max_points, self.iterations = max_points, iterations
        self.regularization, self.seed = regularization, seed
        self.points: np.ndarray | None = None
        self.weights = self.means = self.covariances = None

    def update(self, states, actions) -> GMMPrior:
        """Adds the transitions of `states [N, T + 1, n]`, `actions [N, T, m]` and refits."""
        states, actions = np.asarray(states, np.float64), np.asarray(actions, np.float64)
        points = np.concatenate([states[:, :-1], actions, states[:, 1:]], -1)
        points = points.reshape(-1, points.shape[-1])
        if self.points is not None:
            if points.shape[-1] != self.points.shape[-1]:
                raise ValueError(
                    f"GMMPrior.update: transitions must have {self.points.shape[-1]} entries "
                    f"(2 n + m) like the earlier ones; received {points.shape[-1]}."
                )
            points = np.concatenate([self.points, points])
        self.points = points[-self.max_points :]
        self._fit()
        return self

    def _fit(self) -> None:
        data = self.points
        count, d = data.shape
        k = max(1, min(self.components, count // (2 * d)))
        rng = np.random.default_rng(self.seed)
        responsibilities = np.eye(k)[rng.integers(k, size=count)]
        eye = self.regularization * np.eye(d)
        for _ in range(self.iterations):
            mass = responsibilities.sum(0) + 1e-12  # [K]
            weights = mass / count
            means = responsibilities.T @ data / mass[:, None]
            diff = data[None] - means[:, None]
            covariances = np.einsum("nk,kni,knj->kij", responsibilities, diff, diff)
            covariances = covariances / mass[:, None, None] + eye
            new = _responsibilities(data, weights, means, covariances)
            if np.max(np.abs(new - responsibilities)) < 1e-6:
                responsibilities = new
                break
            responsibilities = new
        self.weights, self.means, self.covariances = weights, means, covariances

    def evaluate(self, points) -> NIWPrior:
        """The prior for a step whose points are `[N, 2 n + m]`.

        Raises:
            ValueError: Before the first `update`, or for points of the wrong width.
        """
        if self.means is None:
            raise ValueError("GMMPrior.evaluate: call `update` with transitions first.")
        points = np.asarray(points, np.float64)
        if points.ndim != 2 or points.shape[-1] != self.means.shape[-1]:
            raise ValueError(
                f"GMMPrior.evaluate: `points` must be [N, {self.means.shape[-1]}] (2 n + m); "
                f"received {points.shape}."
            )
        weights = _responsibilities(points, self.weights, self.means, self.covariances).mean(0)
        mean = weights @ self.means
        diff = self.means - mean
        covariance = np.einsum("k,kij->ij", weights, self.covariances) + np.einsum(
            "k,ki,kj->ij", weights, diff, diff
        )
        return NIWPrior(mean, self.strength * covariance, self.strength, self.strength)
