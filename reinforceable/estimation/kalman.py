"""Gaussian filters: `KalmanFilter` (linear) and `ExtendedKalmanFilter` (autodiff Jacobians)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from reinforceable._checks import check_covariance, check_instance
from reinforceable.estimation.base import (
    GaussianBelief,
    StateEstimator,
    check_mean,
    check_shape,
    joseph_update,
    model_action,
    noise_covariances,
    symmetrize,
    validate_finite,
)
from reinforceable.models.base import Model

__all__ = ["ExtendedKalmanFilter", "KalmanFilter"]

MODEL = "a reinforceable.models.Model"


class GaussianFilter(StateEstimator):
    """What the Gaussian filters share: the initial belief, the noise covariances, the checks."""

    def _setup(
        self,
        state_dim: int,
        observation_dim: int,
        process_noise,
        observation_noise,
        initial_mean,
        initial_covariance,
        dtype,
        validate_args: bool,
        model: Model | None = None,
    ) -> None:
        owner = type(self).__name__
        self.state_dim, self.observation_dim = int(state_dim), int(observation_dim)
        self.dtype = tf.as_dtype(dtype)
        if not self.dtype.is_floating:
            raise TypeError(f"{owner}: `dtype` must be a floating dtype; received {self.dtype}.")
        self.validate_args = bool(validate_args)
        n, m = self.state_dim, self.observation_dim
        q, r = noise_covariances(owner, model, process_noise, observation_noise, n, m)
        self.process_noise = tf.constant(q, self.dtype)
        self.observation_noise = tf.constant(r, self.dtype)
        if initial_mean is None and model is not None:
            # The moments of the uniform box the modelled environment resets in.
            low, high = (np.asarray(b, np.float64) for b in model.initial_state_bounds())
            initial_mean = (low + high) / 2
            if initial_covariance is None:
                initial_covariance = np.diag(np.maximum((high - low) ** 2 / 12, 1e-6))
        if initial_mean is None:
            initial_mean = np.zeros(n)
        if initial_covariance is None:
            initial_covariance = np.eye(n)
        mean = check_mean(owner, initial_mean, n)
        covariance = check_covariance(initial_covariance, n, "initial_covariance", owner)
        self.initial_mean = tf.constant(mean, self.dtype)
        self.initial_covariance = tf.constant(covariance, self.dtype)

    def initial_belief(self, batch_size: int, seed=None) -> GaussianBelief:
        return GaussianBelief(
            mean=tf.tile(self.initial_mean[None], [batch_size, 1]),
            covariance=tf.tile(self.initial_covariance[None], [batch_size, 1, 1]),
        )

    def mean(self, belief) -> tf.Tensor:
        return belief.mean

    def covariance(self, belief) -> tf.Tensor:
        return belief.covariance

    def _observation(self, observation) -> tf.Tensor:
        observation = tf.cast(observation, self.dtype)
        check_shape(observation, [None, self.observation_dim], "observation", self)
        if self.validate_args:
            observation = validate_finite(observation, "observation", self)
        return observation

    def _posterior(self, prior, observation, mean, covariance, log_likelihood):
        """The updated belief and log-likelihood. A row whose observation is not finite (a
        dropped or broken reading) is not updated: it keeps `prior` and its log-likelihood is 0,
        so one bad reading never poisons the belief, nor a sum of log-likelihoods; the filter
        warns once (`observed`). (`validate_args` refuses it instead.)"""
        observed = self.observed(observation)
        mean = tf.where(observed[:, None], mean, prior.mean)
        covariance = tf.where(observed[:, None, None], covariance, prior.covariance)
        log_likelihood = tf.where(observed, log_likelihood, tf.zeros_like(log_likelihood))
        return self._checked(GaussianBelief(mean, covariance)), log_likelihood

    def _checked(self, belief: GaussianBelief) -> GaussianBelief:
        if not self.validate_args:
            return belief
        owner = type(self).__name__
        covariance = belief.covariance
        asymmetry = tf.reduce_max(tf.abs(covariance - tf.linalg.matrix_transpose(covariance)))
        scale = tf.maximum(tf.reduce_max(tf.abs(covariance)), 1.0)
        checks = [
            tf.debugging.assert_all_finite(belief.mean, f"{owner}: the belief's mean"),
            tf.debugging.assert_less_equal(
                asymmetry,
                tf.cast(1e-6, self.dtype) * scale,
                message=f"{owner}: the belief's covariance must be symmetric",
            ),
            tf.debugging.assert_non_negative(
                tf.linalg.diag_part(covariance),
                message=f"{owner}: the belief's covariance must be positive semi-definite",
            ),
        ]
        with tf.control_dependencies(checks):
            return tf.nest.map_structure(tf.identity, belief)


class KalmanFilter(GaussianFilter):
    """The Kalman filter of a linear-Gaussian system, batched and online:

        x_{t+1} = A x_t + B a_t + w_t,   w_t ~ N(0, Q)
        y_t     = C x_t + v_t,            v_t ~ N(0, R)

    The update is in Joseph form, so covariances stay symmetric positive semi-definite; the
    observation log-likelihood comes with every update. On the same system it matches TFP's
    `LinearGaussianStateSpaceModel.forward_filter` (means, covariances and log-likelihoods), and
    its `filter` is one XLA-compiled loop, several times faster.

    Args:
        transition_matrix: A, `[n, n]`, or `[batch, n, n]` for a batch of systems.
        observation_matrix: C, `[m, n]` or `[batch, m, n]`.
        process_noise: Q, `[n, n]` symmetric positive semi-definite.
        observation_noise: R, `[m, m]` symmetric positive definite.
        control_matrix: B, `[n, k]` or `[batch, n, k]`; `None` for an uncontrolled system.
        initial_mean: The mean of `x_0`, `[n]` (zeros by default).
        initial_covariance: The covariance of `x_0`, `[n, n]` (identity by default).
        dtype: float32 or float64.
        validate_args: Also check, at run time, that observations are finite and beliefs stay
            symmetric (an `InvalidArgumentError` naming what failed).

    Raises:
        ValueError: If a matrix has the wrong shape, or a covariance is not symmetric positive
            (semi-)definite. An observation whose last dimension is not m also raises one.

    Example:
        >>> kf = KalmanFilter(A, C, process_noise=Q, observation_noise=R)
        >>> belief = kf.initial_belief(batch_size=1)
        >>> belief, log_likelihood = kf.update(belief, y[None])
        >>> belief = kf.predict(belief)
    """

    def __init__(
        self,
        transition_matrix,
        observation_matrix,
        process_noise,
        observation_noise,
        control_matrix=None,
        initial_mean=None,
        initial_covariance=None,
        dtype=tf.float32,
        validate_args: bool = False,
    ):
        a = np.asarray(transition_matrix, np.float64)
        if a.ndim not in (2, 3) or a.shape[-1] != a.shape[-2]:
            raise ValueError(
                "KalmanFilter: `transition_matrix` must be square, [n, n] or [batch, n, n]; "
                f"received shape {a.shape}."
            )
        n = a.shape[-1]
        c = np.asarray(observation_matrix, np.float64)
        if c.ndim not in (2, 3) or c.shape[-1] != n:
            raise ValueError(
                f"KalmanFilter: `observation_matrix` must be [m, {n}] or [batch, m, {n}] (n from "
                f"`transition_matrix`); received shape {c.shape}."
            )
        self._setup(
            n, c.shape[-2], process_noise, observation_noise, initial_mean, initial_covariance,
            dtype, validate_args,
        )  # fmt: skip
        self.transition_matrix = tf.constant(a, self.dtype)
        self.observation_matrix = tf.constant(c, self.dtype)
        self.control_matrix = None
        if control_matrix is not None:
            b = np.asarray(control_matrix, np.float64)
            if b.ndim not in (2, 3) or b.shape[-2] != n:
                raise ValueError(
                    f"KalmanFilter: `control_matrix` must be [{n}, k] or [batch, {n}, k]; "
                    f"received shape {b.shape}."
                )
            self.control_matrix = tf.constant(b, self.dtype)

    @classmethod
    def from_model(cls, model: Model, **kwargs) -> KalmanFilter:
        """The filter of a linear `Model` (`LinearSystem`, `PointMass2D`, or one wrapped in
        `PartiallyObserved` with a linear `observe`): A, B and C are its Jacobians, and the noise
        covariances are the model's unless given in `kwargs` (the other `__init__` arguments).

        Raises:
            TypeError: If `step` or `observe` is not linear (checked at random points inside
                the action bounds).
        """
        n, k = model.state_dim, model.action_dim
        rng = np.random.default_rng(0)
        states = tf.constant(rng.normal(size=(8, n)))
        if model.action_low is not None:
            low, high = np.asarray(model.action_low), np.asarray(model.action_high)
            actions = tf.constant(low + (high - low) * rng.uniform(0.1, 0.9, size=(8, k)))
        else:
            actions = tf.constant(rng.normal(size=(8, k)))
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([states, actions])
            next_states, observations = model.step(states, actions), model.observe(states)
        a = tape.batch_jacobian(next_states, states).numpy()
        b = tape.batch_jacobian(next_states, actions).numpy()
        c = tape.batch_jacobian(observations, states).numpy()
        offsets = [next_states.numpy() - np.einsum("bij,bj->bi", a, states.numpy())
                   - np.einsum("bij,bj->bi", b, actions.numpy()),
                   observations.numpy() - np.einsum("bij,bj->bi", c, states.numpy())]  # fmt: skip
        constant = all(np.allclose(m, m[0], atol=1e-9) for m in (a, b, c))
        if not constant or any(np.abs(o).max() > 1e-9 for o in offsets):
            raise TypeError(
                f"KalmanFilter.from_model: `model` must be linear (x' = A x + B u, y = C x); "
                f"{type(model).__name__} is not. Use ExtendedKalmanFilter or "
                "UnscentedKalmanFilter for a nonlinear one."
            )
        kwargs.setdefault("process_noise", model.process_noise)
        kwargs.setdefault("observation_noise", model.observation_noise)
        return cls(a[0], c[0], control_matrix=b[0], **kwargs)

    def predict(self, belief, action=None, seed=None) -> GaussianBelief:
        a = self.transition_matrix
        mean = tf.linalg.matvec(a, belief.mean)
        if action is not None and self.control_matrix is not None:
            action = tf.cast(action, self.dtype)
            mean += tf.linalg.matvec(self.control_matrix, action)
        covariance = tf.matmul(tf.matmul(a, belief.covariance), a, transpose_b=True)
        covariance = symmetrize(covariance + self.process_noise)
        return self._checked(GaussianBelief(mean, covariance))

    def update(self, belief, observation, seed=None):
        observation = self._observation(observation)
        c = self.observation_matrix
        residual = observation - tf.linalg.matvec(c, belief.mean)
        c = tf.broadcast_to(c, tf.concat([tf.shape(belief.mean)[:1], tf.shape(c)[-2:]], 0))
        mean, covariance, log_likelihood = joseph_update(
            belief.mean, belief.covariance, residual, c, self.observation_noise
        )
        return self._posterior(belief, observation, mean, covariance, log_likelihood)


class ModelFilter(GaussianFilter):
    """A Gaussian filter of a nonlinear `Model`: noise and initial belief from the model."""

    def __init__(
        self,
        model: Model,
        process_noise=None,
        observation_noise=None,
        initial_mean=None,
        initial_covariance=None,
        dtype=tf.float32,
        validate_args: bool = False,
    ):
        check_instance(type(self).__name__, "model", model, Model, MODEL)
        self.model = model
        self._setup(
            model.state_dim, model.obs_dim, process_noise, observation_noise, initial_mean,
            initial_covariance, dtype, validate_args, model,
        )  # fmt: skip
        self.xla_compatible = model.xla_compatible

    def _action(self, action, like) -> tf.Tensor:
        return model_action(self, action, like)


class ExtendedKalmanFilter(ModelFilter):
    """The extended Kalman filter of a nonlinear `Model`:

        x_{t+1} = f(x_t, a_t) + w_t,   y_t = h(x_t) + v_t

    `f` is `model.step` and `h` is `model.observe`; their Jacobians come from autodiff at the
    current mean (`tf.GradientTape.batch_jacobian`), so no Jacobian is written by hand. The update
    is in Joseph form. On a linear model it is exactly the `KalmanFilter`.

    Args:
        model: The `Model` (a `PartiallyObserved` one carries the noise covariances).
        process_noise: Q `[n, n]`; the model's `process_noise` by default.
        observation_noise: R `[m, m]`; the model's `observation_noise` by default.
        initial_mean, initial_covariance: The belief about `x_0`; by default the mean and
            covariance of the box the model's `initial_state` draws from.
        dtype: float32 or float64.
        validate_args: Also check, at run time, that observations are finite and beliefs stay
            symmetric.

    Raises:
        TypeError: If `model` is not a `Model`.
        ValueError: If a covariance is missing, has the wrong shape or is not symmetric positive
            (semi-)definite.

    Example:
        >>> task = rf.models.PartiallyObserved(
        ...     rf.models.Pendulum(), observe=[0], observation_noise=[[0.01]],
        ...     process_noise=np.diag([1e-4, 1e-3]))
        >>> ekf = ExtendedKalmanFilter(task)
    """

    def predict(self, belief, action=None, seed=None) -> GaussianBelief:
        action = self._action(action, belief.mean)
        with tf.GradientTape() as tape:
            tape.watch(belief.mean)
            mean = self.model.step(belief.mean, action)
        jacobian = tape.batch_jacobian(mean, belief.mean)
        covariance = tf.matmul(tf.matmul(jacobian, belief.covariance), jacobian, transpose_b=True)
        return self._checked(GaussianBelief(mean, symmetrize(covariance + self.process_noise)))

    def update(self, belief, observation, seed=None):
        observation = self._observation(observation)
        with tf.GradientTape() as tape:
            tape.watch(belief.mean)
            predicted = self.model.observe(belief.mean)
        jacobian = tape.batch_jacobian(predicted, belief.mean)
        mean, covariance, log_likelihood = joseph_update(
            belief.mean,
            belief.covariance,
            observation - predicted,
            jacobian,
            self.observation_noise,
        )
        return self._posterior(belief, observation, mean, covariance, log_likelihood)
