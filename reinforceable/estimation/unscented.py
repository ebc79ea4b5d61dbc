"""`UnscentedKalmanFilter`, with a configurable scaled sigma-point scheme."""

from __future__ import annotations

import dataclasses
import math

import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable.estimation.base import (
    GaussianBelief,
    gaussian_update,
    safe_cholesky,
    symmetrize,
)
from reinforceable.estimation.kalman import ModelFilter
from reinforceable.models.base import Model

__all__ = ["SigmaPoints", "UnscentedKalmanFilter"]


@dataclasses.dataclass(frozen=True)
class SigmaPoints:
    """The scaled sigma points of van der Merwe (2004): `2n + 1` points
    `m, m ± sqrt((n + λ) P)` with `λ = α² (n + κ) - n`.

    The defaults (α = 1, β = 2, κ = 0) put the points one `sqrt(n)` standard deviation out with
    non-negative weights, a robust choice for strongly nonlinear models; a small α (1e-3) gives
    the classic tightly scaled set, whose negative centre weight can make covariances indefinite.
    Julier's original points are α = 1, β = 0, κ = 3 - n.
    """

    alpha: float = 1.0
    """α in (0, 1]: the spread of the points."""
    beta: float = 2.0
    """β >= 0: prior knowledge of the distribution (2 is optimal for Gaussians)."""
    kappa: float = 0.0
    """κ: secondary scaling; `n + κ` must be positive."""

    def __post_init__(self):
        for name in ("alpha", "beta", "kappa"):
            value = getattr(self, name)
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if not number or not math.isfinite(value):
                raise ValueError(
                    f"SigmaPoints: `{name}` must be a finite number; received {value!r}."
                )
        if not 0 < self.alpha <= 1:
            raise ValueError(f"SigmaPoints: `alpha` must be in (0, 1]; received {self.alpha!r}.")
        if self.beta < 0:
            raise ValueError(f"SigmaPoints: `beta` must be >= 0; received {self.beta!r}.")

    def weights(self, n: int) -> tuple[float, list[float], list[float]]:
        """`(n + λ, mean weights, covariance weights)` for a state of dimension `n`."""
        scale = self.alpha**2 * (n + self.kappa)
        if scale <= 0:
            raise ValueError(
                f"SigmaPoints: alpha² (n + kappa) must be positive for n = {n}; received "
                f"alpha = {self.alpha}, kappa = {self.kappa}."
            )
        lam = scale - n
        rest = 1.0 / (2.0 * scale)
        mean = [lam / scale] + [rest] * (2 * n)
        covariance = [lam / scale + 1 - self.alpha**2 + self.beta] + [rest] * (2 * n)
        return scale, mean, covariance


class UnscentedKalmanFilter(ModelFilter):
    """The unscented Kalman filter of a nonlinear `Model` (Julier and Uhlmann; Wan and van der
    Merwe), with additive process and observation noise:

        x_{t+1} = f(x_t, a_t) + w_t,   y_t = h(x_t) + v_t

    Sigma points of the belief go through `model.step` (predict) and `model.observe` (update)
    as one batch `[B, 2n + 1, n]`; the moments of the images give the predicted belief, the
    innovation covariance and the cross-covariance. Exact on a linear model, it needs no Jacobian
    at all, so it also works with models that are not differentiable. TFP has no UKF.

    Args:
        model: The `Model` (a `PartiallyObserved` one carries the noise covariances).
        process_noise: Q `[n, n]`; the model's `process_noise` by default.
        observation_noise: R `[m, m]`; the model's `observation_noise` by default.
        initial_mean, initial_covariance: The belief about `x_0`; by default the mean and
            covariance of the box the model's `initial_state` draws from.
        sigma_points: A `SigmaPoints` scheme.
        dtype: float32 or float64.
        validate_args: Also check, at run time, that observations are finite and beliefs stay
            symmetric.

    Raises:
        TypeError: If `model` is not a `Model` or `sigma_points` not a `SigmaPoints`.
        ValueError: If a covariance is missing, has the wrong shape or is not symmetric positive
            (semi-)definite, or the sigma-point scaling is not positive.

    Example:
        >>> ukf = UnscentedKalmanFilter(task, sigma_points=SigmaPoints(alpha=0.5))
        >>> belief, log_likelihood = ukf.update(ukf.initial_belief(1), y[None])
    """

    def __init__(
        self,
        model: Model,
        process_noise=None,
        observation_noise=None,
        initial_mean=None,
        initial_covariance=None,
        sigma_points: SigmaPoints | None = None,
        dtype=tf.float32,
        validate_args: bool = False,
    ):
        super().__init__(
            model, process_noise, observation_noise, initial_mean, initial_covariance, dtype,
            validate_args,
        )  # fmt: skip
        sigma_points = SigmaPoints() if sigma_points is None else sigma_points
        check_instance("UnscentedKalmanFilter", "sigma_points", sigma_points, SigmaPoints)
        self.sigma_points = sigma_points
        scale, mean_weights, covariance_weights = sigma_points.weights(self.state_dim)
        self._scale = scale
        self._mean_weights = tf.constant(mean_weights, self.dtype)
        self._covariance_weights = tf.constant(covariance_weights, self.dtype)

    def _points(self, belief: GaussianBelief) -> tf.Tensor:
        """`[B, 2n + 1, n]`: the mean, then the mean ± the columns of `sqrt((n + λ) P)`."""
        root = math.sqrt(self._scale) * safe_cholesky(belief.covariance)  # columns: offsets
        offsets = tf.linalg.matrix_transpose(root)  # [B, n, n], row i = column i
        mean = belief.mean[:, None]
        return tf.concat([mean, mean + offsets, mean - offsets], axis=1)

    def _moments(self, points: tf.Tensor):
        mean = tf.einsum("k,bki->bi", self._mean_weights, points)
        centred = points - mean[:, None]
        covariance = tf.einsum("k,bki,bkj->bij", self._covariance_weights, centred, centred)
        return mean, centred, covariance

    def predict(self, belief, action=None, seed=None) -> GaussianBelief:
        points = self._points(belief)
        action = self._action(action, belief.mean)
        actions = tf.repeat(action[:, None], 2 * self.state_dim + 1, axis=1)
        mean, _, covariance = self._moments(self.model.step(points, actions))
        return self._checked(GaussianBelief(mean, symmetrize(covariance + self.process_noise)))

    def update(self, belief, observation, seed=None):
        observation = self._observation(observation)
        points = self._points(belief)
        predicted, centred_y, innovation = self._moments(self.model.observe(points))
        centred_x = points - belief.mean[:, None]
        cross = tf.einsum("k,bki,bkj->bij", self._covariance_weights, centred_x, centred_y)
        mean, covariance, log_likelihood = gaussian_update(
            belief.mean,
            belief.covariance,
            observation - predicted,
            innovation + self.observation_noise,
            cross,
        )
        return self._posterior(belief, observation, mean, covariance, log_likelihood)
