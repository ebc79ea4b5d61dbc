"""`ParticleFilter`: a bootstrap particle filter with systematic resampling."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from reinforceable._checks import check_covariance, check_instance
from reinforceable.estimation.base import (
    ParticleBelief,
    StateEstimator,
    check_mean,
    check_shape,
    gaussian_log_prob,
    model_action,
    noise_covariances,
    split_seed,
    validate_finite,
)
from reinforceable.models.base import Model

__all__ = ["ParticleFilter"]


class ParticleFilter(StateEstimator):
    """The bootstrap particle filter (Gordon et al., 1993) of a `Model`, batched and online.

    Predict moves every particle through `model.step` and adds process noise `N(0, Q)`; update
    adds `log N(y; h(x), R)` to each particle's log-weight, and resamples (systematic resampling,
    one uniform draw per system) where the effective sample size `1 / Σ w²` falls below
    `resample_threshold · N`. Weights live in log space and are normalised with log-sum-exp, so
    observations that are very unlikely under every particle do not underflow. If the observation
    has no finite likelihood under any particle (a NaN or infinite observation), the belief is
    kept as it was, never NaN, and the returned log-likelihood says so (`-inf` or NaN); with
    `validate_args` such an observation raises an `InvalidArgumentError` instead.

    Args:
        model: The `Model` (a `PartiallyObserved` one carries the noise covariances).
        num_particles: N, particles per system.
        process_noise: Q `[n, n]`, positive semi-definite; the model's by default. A particle
            filter needs some (without it resampled particles collapse onto a few states).
        observation_noise: R `[m, m]`, positive definite; the model's by default.
        initial_mean, initial_covariance: A Gaussian belief about `x_0` to draw the first
            particles from; by default they are drawn as the model's `initial_state` draws.
        resample_threshold: In [0, 1]: resample when ESS < threshold · N (1: every step; 0:
            never).
        dtype: float32 or float64.
        validate_args: Raise an `InvalidArgumentError` on non-finite observations.

    Raises:
        TypeError: If `model` is not a `Model`.
        ValueError: For a bad `num_particles`, `resample_threshold` or covariance.

    Example:
        >>> pf = ParticleFilter(task, num_particles=500)
        >>> belief = pf.initial_belief(4, seed=[0, 1])
        >>> belief, log_likelihood = pf.update(belief, y, seed=[0, 2])
    """

    def __init__(
        self,
        model: Model,
        num_particles: int = 1000,
        process_noise=None,
        observation_noise=None,
        initial_mean=None,
        initial_covariance=None,
        resample_threshold: float = 0.5,
        dtype=tf.float32,
        validate_args: bool = False,
    ):
        check_instance("ParticleFilter", "model", model, Model, "a reinforceable.models.Model")
        if (
            isinstance(num_particles, bool)
            or not isinstance(num_particles, int)
            or (num_particles < 2)
        ):
            raise ValueError(
                f"ParticleFilter: `num_particles` must be an int >= 2; received {num_particles!r}."
            )
        if (
            isinstance(resample_threshold, bool)
            or not isinstance(resample_threshold, int | float)
            or not 0 <= resample_threshold <= 1
        ):
            raise ValueError(
                "ParticleFilter: `resample_threshold` must be in [0, 1]; received "
                f"{resample_threshold!r}."
            )
        self.model, self.num_particles = model, num_particles
        self.resample_threshold = float(resample_threshold)
        self.dtype = tf.as_dtype(dtype)
        self.validate_args = bool(validate_args)
        self.state_dim, self.observation_dim = model.state_dim, model.obs_dim
        self.xla_compatible = model.xla_compatible
        n, m = self.state_dim, self.observation_dim
        q, r = noise_covariances("ParticleFilter", model, process_noise, observation_noise, n, m)
        self.process_noise = tf.constant(q, self.dtype)
        self.observation_noise = tf.constant(r, self.dtype)
        self._process_scale = tf.constant(np.linalg.cholesky(q + 1e-12 * np.eye(n)), self.dtype)
        self._observation_scale = tf.constant(np.linalg.cholesky(r), self.dtype)
        self._uniform_log_weight = tf.constant(-math.log(num_particles), self.dtype)
        self._initial = None
        if initial_mean is not None or initial_covariance is not None:
            mean = check_mean(
                "ParticleFilter", np.zeros(n) if initial_mean is None else initial_mean, n
            )
            cov = np.eye(n) if initial_covariance is None else initial_covariance
            cov = check_covariance(cov, n, "initial_covariance", "ParticleFilter", False)
            self._initial = (
                tf.constant(mean, self.dtype),
                tf.constant(np.linalg.cholesky(cov + 1e-12 * np.eye(n)), self.dtype),
            )

    # ------------------------------------------------------------------------------ protocol

    def initial_belief(self, batch_size: int, seed=None) -> ParticleBelief:
        seed = split_seed(seed, 1)[0]
        if self._initial is None:
            particles = self.model.initial_state([batch_size, self.num_particles], seed, self.dtype)
        else:
            mean, scale = self._initial
            noise = tf.random.stateless_normal(
                [batch_size, self.num_particles, self.state_dim], seed, dtype=self.dtype
            )
            particles = mean + tf.einsum("ij,bnj->bni", scale, noise)
        log_weights = tf.fill([batch_size, self.num_particles], self._uniform_log_weight)
        return ParticleBelief(particles, log_weights)

    def predict(self, belief, action=None, seed=None) -> ParticleBelief:
        particles = belief.particles
        action = model_action(self, action, particles)
        actions = tf.repeat(action[:, None], self.num_particles, axis=1)
        moved = self.model.step(particles, actions)
        noise = tf.random.stateless_normal(
            tf.shape(moved), split_seed(seed, 1)[0], dtype=self.dtype
        )
        moved += tf.einsum("ij,bnj->bni", self._process_scale, noise)
        return ParticleBelief(moved, belief.log_weights)

    def update(self, belief, observation, seed=None):
        observation = tf.cast(observation, self.dtype)
        check_shape(observation, [None, self.observation_dim], "observation", self)
        if self.validate_args:
            observation = validate_finite(observation, "observation", self)
        predicted = self.model.observe(belief.particles)  # [B, N, m]
        residual = observation[:, None] - predicted
        chol = tf.broadcast_to(
            self._observation_scale, tf.concat([tf.shape(residual), [self.observation_dim]], 0)
        )
        log_weights = belief.log_weights + gaussian_log_prob(residual, chol)
        log_likelihood = tf.reduce_logsumexp(log_weights, axis=1)  # weights were normalised
        # A reading that is not finite is skipped (log-likelihood 0, warned once), and so is one
        # whose likelihood underflows for every particle (its weights are kept).
        observed = self.observed(observation)
        finite = tf.math.is_finite(log_likelihood) & observed
        safe = tf.where(finite, log_likelihood, tf.zeros_like(log_likelihood))
        log_weights = tf.where(finite[:, None], log_weights - safe[:, None], belief.log_weights)
        log_likelihood = tf.where(observed, log_likelihood, tf.zeros_like(log_likelihood))
        belief = self._resample(ParticleBelief(belief.particles, log_weights), seed)
        return belief, log_likelihood

    def mean(self, belief) -> tf.Tensor:
        weights = tf.exp(belief.log_weights)
        return tf.einsum("bn,bni->bi", weights, belief.particles)

    def covariance(self, belief) -> tf.Tensor:
        weights = tf.exp(belief.log_weights)
        centred = belief.particles - self.mean(belief)[:, None]
        return tf.einsum("bn,bni,bnj->bij", weights, centred, centred)

    def sample(self, belief, num: int, seed) -> tf.Tensor:
        """`num` particles per system, drawn by weight (systematic resampling)."""
        indices = self._systematic(belief.log_weights, num, split_seed(seed, 1)[0])
        return tf.gather(belief.particles, indices, batch_dims=1)

    def effective_sample_size(self, belief) -> tf.Tensor:
        """`1 / Σ w²`, `[B]`."""
        return tf.exp(-tf.reduce_logsumexp(2.0 * belief.log_weights, axis=1))

    # ------------------------------------------------------------------------------ resampling

    def _systematic(self, log_weights, num: int, seed) -> tf.Tensor:
        """Indices `[B, num]`: one uniform offset per system, `num` evenly spaced positions."""
        batch = tf.shape(log_weights)[0]
        offset = tf.random.stateless_uniform([batch, 1], seed, dtype=self.dtype)
        positions = (tf.cast(tf.range(num), self.dtype)[None] + offset) / num
        cumulative = tf.math.cumsum(tf.exp(log_weights), axis=1)
        indices = tf.searchsorted(cumulative, positions, side="right")
        return tf.minimum(indices, tf.shape(log_weights)[1] - 1)

    def _resample(self, belief: ParticleBelief, seed) -> ParticleBelief:
        if self.resample_threshold == 0.0:
            return belief
        needed = self.effective_sample_size(belief) < self.resample_threshold * self.num_particles
        if self.resample_threshold == 1.0:
            needed = tf.ones_like(needed)
        indices = self._systematic(belief.log_weights, self.num_particles, split_seed(seed, 1)[0])
        particles = tf.gather(belief.particles, indices, batch_dims=1)
        uniform = tf.fill(tf.shape(belief.log_weights), self._uniform_log_weight)
        return ParticleBelief(
            tf.where(needed[:, None, None], particles, belief.particles),
            tf.where(needed[:, None], uniform, belief.log_weights),
        )
