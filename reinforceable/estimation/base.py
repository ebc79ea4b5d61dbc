"""`StateEstimator`: the protocol of the filters, their beliefs, and the checks they share."""

from __future__ import annotations

import abc
import math
import warnings
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

from reinforceable._checks import check_covariance
from reinforceable._latch import FirstFault

__all__ = [
    "FilterResult",
    "GaussianBelief",
    "ParticleBelief",
    "SkippedObservationWarning",
    "StateEstimator",
    "nees",
]


class SkippedObservationWarning(UserWarning):
    """A filter skipped an observation that was not finite (NaN or infinite), once per filter.
    Where NaN marks missing readings on purpose, silence it with
    `warnings.filterwarnings("ignore", category=SkippedObservationWarning)`."""


class GaussianBelief(NamedTuple):
    """A Gaussian belief over the state of each system of a batch."""

    mean: tf.Tensor
    """`[B, state_dim]`."""
    covariance: tf.Tensor
    """`[B, state_dim, state_dim]`, symmetric positive (semi-)definite."""


class ParticleBelief(NamedTuple):
    """A weighted particle set per system of a batch."""

    particles: tf.Tensor
    """`[B, N, state_dim]`."""
    log_weights: tf.Tensor
    """`[B, N]`, normalised: `logsumexp(log_weights, axis=1) = 0`."""


class FilterResult(NamedTuple):
    """What `StateEstimator.filter` returns for a batch of observation sequences."""

    means: tf.Tensor
    """`[B, T, state_dim]`: the filtered means, after each observation."""
    covariances: tf.Tensor
    """`[B, T, state_dim, state_dim]`: the filtered covariances."""
    log_likelihoods: tf.Tensor
    """`[B, T]`: `log p(y_t | y_{<t})`, each observation's log-likelihood under the prediction."""


class StateEstimator(abc.ABC):
    """An online filter: a belief over the state, predicted through actions and updated by
    observations, one step at a time.

    Every method is batched over the systems `[B, ...]` and pure, so it works eagerly and inside
    `tf.function`, and the belief (a nest of tensors: a `GaussianBelief` or a `ParticleBelief`)
    can ride in the Driver's loop as a policy state (see `FilteredPolicy`).

    The time convention is a control loop's: the belief about `x_t` is updated with `y_t`, an
    action `a_t` is chosen, and the belief is predicted to `x_{t+1}` with `a_t`. `filter` runs it
    over whole sequences (the first observation updates the initial belief directly, as TFP's
    `LinearGaussianStateSpaceModel.forward_filter` does).
    """

    state_dim: int
    observation_dim: int
    dtype: tf.DType
    #: `filter` can be compiled with XLA.
    xla_compatible: bool = True

    @abc.abstractmethod
    def initial_belief(self, batch_size: int, seed=None) -> Any:
        """The belief about `x_0` for `batch_size` systems (`seed`: a stateless `[2]` seed, for
        estimators that sample)."""

    @abc.abstractmethod
    def predict(self, belief, action=None, seed=None) -> Any:
        """The belief about the next state after `action` `[B, action_dim]` (`None`: no control)."""

    @abc.abstractmethod
    def update(self, belief, observation, seed=None) -> tuple[Any, tf.Tensor]:
        """Conditions the belief on `observation` `[B, observation_dim]`.

        A row whose observation is not finite (NaN or infinite: a dropped or broken reading)
        is skipped: its belief stays the one given, never NaN, and its log-likelihood is 0 (a
        missing reading carries no evidence, so the sum over a sequence is the log-likelihood of
        the readings that were made). The filter warns once (`SkippedObservationWarning`,
        naming the batch row): eagerly at the call, else when `filter` returns or the Driver's
        run ends (`take_warnings`). Filters made with `validate_args=True` raise an
        `InvalidArgumentError` instead.

        Returns:
            `(belief, log_likelihood)`, the log-likelihood `[B]` of the observation under the
            belief that was given.
        """

    @abc.abstractmethod
    def mean(self, belief) -> tf.Tensor:
        """The belief's mean state, `[B, state_dim]`."""

    @abc.abstractmethod
    def covariance(self, belief) -> tf.Tensor:
        """The belief's covariance, `[B, state_dim, state_dim]`."""

    def sample(self, belief, num: int, seed) -> tf.Tensor:
        """`num` states per system drawn from the belief, `[B, num, state_dim]`."""
        mean, covariance = self.mean(belief), self.covariance(belief)
        scale = safe_cholesky(covariance)
        batch = tf.shape(mean)[0]
        noise = tf.random.stateless_normal(
            tf.stack([batch, num, self.state_dim]), seed, dtype=mean.dtype
        )
        return mean[:, None] + tf.einsum("bij,bnj->bni", scale, noise)

    # ------------------------------------------------------------------------ skipped readings

    def observed(self, observation) -> tf.Tensor:
        """bool `[B]`: the rows whose observation `[B, observation_dim]` is finite. The first
        row that is not is latched, and reported once (`take_warnings`; at once when eager)."""
        observed = tf.reduce_all(tf.math.is_finite(observation), axis=-1)
        latch = self.__dict__.get("_skipped")
        if latch is None:
            with tf.init_scope():  # its variables outside any graph being traced
                latch = self.__dict__["_skipped"] = FirstFault(0, "skipped_observation")
        with tf.control_dependencies(latch.record(~observed, 0, 0)):
            observed = tf.identity(observed)
        if tf.executing_eagerly():
            self._warn()
        return observed

    def take_warnings(self) -> list[str]:
        """Once per filter: the first batch row whose observation was skipped (not finite)."""
        latch = self.__dict__.get("_skipped")
        if latch is None or self.__dict__.get("_warned") or not latch.peek():
            return []
        self.__dict__["_warned"] = True
        row = latch.take(forget=False).row
        return [
            f"{type(self).__name__}: the observation of batch row {row} was not finite (NaN or "
            "infinite) and was skipped: that row's belief is the predicted one and its "
            "log-likelihood 0. A broken reading, or a missing one marked by NaN on purpose; "
            "validate_args=True raises instead. Later skips are not reported."
        ]

    def _warn(self) -> None:
        for message in self.take_warnings():
            warnings.warn(message, SkippedObservationWarning, stacklevel=4)

    # ------------------------------------------------------------------------------ sequences

    def filter(
        self, observations, actions=None, belief=None, seed=None, jit_compile: bool | None = None
    ) -> FilterResult:
        """Filters whole sequences in one compiled loop.

        Args:
            observations: `[B, T, observation_dim]`.
            actions: `[B, T, action_dim]` or `None`; `actions[:, t]` moves `x_t` to `x_{t+1}`
                (the last one is not used).
            belief: The belief about `x_0`; `initial_belief(B)` by default.
            seed: A stateless `[2]` seed for estimators that sample.
            jit_compile: Compile the loop with XLA (the default where `xla_compatible`).

        Returns:
            A `FilterResult` of the filtered means, covariances and log-likelihoods.
        """
        observations = tf.convert_to_tensor(observations, self.dtype)
        check_shape(observations, [None, None, self.observation_dim], "observations", self)
        if belief is None:
            belief = self.initial_belief(int(observations.shape[0]), seed)
        seed = tf.constant([0, 0]) if seed is None else tf.convert_to_tensor(seed)
        if actions is not None:
            actions = tf.convert_to_tensor(actions, self.dtype)
        jit = self.xla_compatible if jit_compile is None else bool(jit_compile)
        key = (jit, actions is None)
        cache = self.__dict__.setdefault("_filter_functions", {})
        if key not in cache:
            cache[key] = tf.function(self._filter, jit_compile=jit, reduce_retracing=True)
        result = cache[key](observations, actions, belief, seed)
        self._warn()
        return result

    def _filter(self, observations, actions, belief, seed) -> FilterResult:
        steps = tf.shape(observations)[1]
        arrays = [
            tf.TensorArray(self.dtype, size=steps, element_shape=shape)
            for shape in (
                [observations.shape[0], self.state_dim],
                [observations.shape[0], self.state_dim, self.state_dim],
                [observations.shape[0]],
            )
        ]

        def body(t, belief, means, covariances, likelihoods):
            seeds = tf.random.experimental.stateless_split(
                tf.random.experimental.stateless_fold_in(seed, t), 2
            )
            belief, log_likelihood = self.update(belief, observations[:, t], seeds[0])
            means = means.write(t, self.mean(belief))
            covariances = covariances.write(t, self.covariance(belief))
            likelihoods = likelihoods.write(t, log_likelihood)
            action = None if actions is None else actions[:, t]
            belief = self.predict(belief, action, seeds[1])
            return t + 1, belief, means, covariances, likelihoods

        _, _, means, covariances, likelihoods = tf.while_loop(
            lambda t, *_: t < steps, body, (tf.constant(0), belief, *arrays)
        )
        return FilterResult(
            means=tf.transpose(means.stack(), [1, 0, 2]),
            covariances=tf.transpose(covariances.stack(), [1, 0, 2, 3]),
            log_likelihoods=tf.transpose(likelihoods.stack()),
        )


# ---------------------------------------------------------------------------------- helpers


def check_shape(value: tf.Tensor, expected: list, argument: str, owner) -> None:
    """A `ValueError` naming `argument` when the static shape does not fit `expected`."""
    shape = value.shape
    fits = shape.rank is None or (
        shape.rank == len(expected)
        and all(e is None or s is None or s == e for s, e in zip(shape, expected, strict=True))
    )
    if not fits:
        wanted = "[" + ", ".join("?" if e is None else str(e) for e in expected) + "]"
        raise ValueError(
            f"{type(owner).__name__}: `{argument}` must have shape {wanted}; received shape "
            f"{shape}."
        )


def noise_covariances(owner: str, model, process_noise, observation_noise, n: int, m: int):
    """The checked `(Q, R)` NumPy covariances: the arguments, or else the model's."""
    if model is not None:
        process_noise = model.process_noise if process_noise is None else process_noise
        if observation_noise is None:
            observation_noise = model.observation_noise
    if process_noise is None or observation_noise is None:
        raise ValueError(
            f"{owner}: `process_noise` and `observation_noise` covariances are needed "
            "(pass them, or give a PartiallyObserved model that has them)."
        )
    q = check_covariance(process_noise, n, "process_noise", owner, definite=False)
    return q, check_covariance(observation_noise, m, "observation_noise", owner)


def check_mean(owner: str, value, n: int) -> np.ndarray:
    mean = np.asarray(value, np.float64)
    if mean.shape != (n,) or not np.all(np.isfinite(mean)):
        raise ValueError(
            f"{owner}: `initial_mean` must hold {n} finite numbers (the state dimension); "
            f"received shape {mean.shape}."
        )
    return mean


def nees(states, means, covariances) -> np.ndarray:
    """The normalised estimation error squared `(x - m)ᵀ P⁻¹ (x - m)` of each estimate.

    For a consistent filter it is χ²-distributed with `state_dim` degrees of freedom, so its
    average over runs should lie in the χ² band (Bar-Shalom et al., 2001).

    Args:
        states: True states `[..., n]`.
        means, covariances: The filter's means `[..., n]` and covariances `[..., n, n]`.

    Returns:
        `[...]` NumPy values.
    """
    error = np.asarray(states, np.float64) - np.asarray(means, np.float64)
    solved = np.linalg.solve(np.asarray(covariances, np.float64), error[..., None])[..., 0]
    return np.sum(error * solved, axis=-1)


def symmetrize(matrix: tf.Tensor) -> tf.Tensor:
    return 0.5 * (matrix + tf.linalg.matrix_transpose(matrix))


def safe_cholesky(covariance: tf.Tensor) -> tf.Tensor:
    """Cholesky factor of a covariance that may be only semi-definite: a jitter of a few machine
    epsilons relative to its largest variance."""
    dim = tf.shape(covariance)[-1]
    dtype = covariance.dtype.as_numpy_dtype
    scale = tf.reduce_max(tf.abs(tf.linalg.diag_part(covariance)), axis=-1)
    jitter = 16 * np.finfo(dtype).eps * tf.maximum(scale, np.finfo(dtype).tiny)
    eye = tf.eye(dim, dtype=covariance.dtype)
    return tf.linalg.cholesky(covariance + jitter[..., None, None] * eye)


def gaussian_log_prob(residual: tf.Tensor, chol: tf.Tensor) -> tf.Tensor:
    """`log N(residual; 0, L Lᵀ)` for residuals `[B, m]` and Cholesky factors `[B, m, m]`."""
    dim = tf.cast(tf.shape(residual)[-1], residual.dtype)
    solved = tf.linalg.triangular_solve(chol, residual[..., None], lower=True)[..., 0]
    log_det = 2.0 * tf.reduce_sum(tf.math.log(tf.linalg.diag_part(chol)), axis=-1)
    return -0.5 * (tf.reduce_sum(tf.square(solved), -1) + log_det + dim * math.log(2 * math.pi))


def gaussian_update(mean, covariance, residual, innovation_covariance, cross_covariance):
    """The Kalman update from first and second moments (the unscented form).

    `K = Pxy S⁻¹`, `m' = m + K r`, `P' = P - K S Kᵀ`. Returns `(mean, covariance,
    log_likelihood)`.
    """
    chol = tf.linalg.cholesky(symmetrize(innovation_covariance))
    # K = Pxy S^-1  <=>  Kᵀ = S^-1 Pxyᵀ.
    gain = tf.linalg.matrix_transpose(
        tf.linalg.cholesky_solve(chol, tf.linalg.matrix_transpose(cross_covariance))
    )
    mean = mean + tf.linalg.matvec(gain, residual)
    covariance = covariance - tf.matmul(gain, cross_covariance, transpose_b=True)
    return mean, symmetrize(covariance), gaussian_log_prob(residual, chol)


def joseph_update(mean, covariance, residual, jacobian, noise):
    """The Kalman update of a linear(ised) observation `y ≈ H x + v`, `v ~ N(0, R)`, in Joseph
    form: `P' = (I - K H) P (I - K H)ᵀ + K R Kᵀ`, which stays symmetric positive semi-definite
    even when the gain is computed with round-off. Returns `(mean, covariance, log_likelihood)`.
    """
    ph = tf.matmul(covariance, jacobian, transpose_b=True)  # P Hᵀ [B, n, m]
    innovation = symmetrize(tf.matmul(jacobian, ph) + noise)
    chol = tf.linalg.cholesky(innovation)
    gain = tf.linalg.matrix_transpose(
        tf.linalg.cholesky_solve(chol, tf.linalg.matrix_transpose(ph))
    )  # [B, n, m]
    mean = mean + tf.linalg.matvec(gain, residual)
    eye = tf.eye(tf.shape(covariance)[-1], dtype=covariance.dtype)
    factor = eye - tf.matmul(gain, jacobian)
    covariance = tf.matmul(tf.matmul(factor, covariance), factor, transpose_b=True) + tf.matmul(
        tf.matmul(gain, noise), gain, transpose_b=True
    )
    return mean, symmetrize(covariance), gaussian_log_prob(residual, chol)


def model_action(estimator, action, like: tf.Tensor) -> tf.Tensor:
    """The `[B, action_dim]` action for `estimator.model.step`: zeros for `None` (no control),
    cast and shape-checked otherwise; `like` `[B, ...]` gives the batch."""
    action_dim = estimator.model.action_dim
    if action is None:
        return tf.zeros(tf.stack([tf.shape(like)[0], action_dim]), estimator.dtype)
    action = tf.cast(action, estimator.dtype)
    check_shape(action, [None, action_dim], "action", estimator)
    return action


def as_seed(seed) -> tf.Tensor:
    return tf.constant([0, 0]) if seed is None else tf.convert_to_tensor(seed)


def split_seed(seed, num: int) -> list[tf.Tensor]:
    return tf.unstack(tf.random.experimental.stateless_split(as_seed(seed), num))


def validate_finite(value: tf.Tensor, argument: str, owner) -> tf.Tensor:
    """With `validate_args`: an `InvalidArgumentError` naming `argument` if it is not finite."""
    message = f"{type(owner).__name__}: `{argument}` must be finite"
    return tf.debugging.assert_all_finite(value, message)
