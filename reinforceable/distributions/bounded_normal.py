"""`BoundedNormal`: a Normal squashed by tanh and rescaled to per-dimension bounds."""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable.distributions._tanh_moments import tanh_moments

tfd = tfp.distributions

__all__ = ["BoundedNormal"]


def _normal_of(distribution: tfd.Distribution) -> tfd.Normal:
    """The `Normal` inside `distribution`, which must be a Normal or an Independent Normal."""
    inner = distribution
    if isinstance(inner, tfd.Independent):
        inner = inner.distribution
    if not isinstance(inner, tfd.Normal):
        raise TypeError(
            "BoundedNormal: `distribution` must be a tfd.Normal or a tfd.Independent wrapping a "
            f"tfd.Normal; received {type(distribution).__name__}"
            + (f" wrapping {type(inner).__name__}" if inner is not distribution else "")
            + "."
        )
    return inner


def _canonical_bounds(
    bounds, distribution: tfd.Distribution, validate_args: bool
) -> tuple[tf.Tensor, list]:
    """Converts `bounds` to a tensor of shape `[..., *event_shape, 2]` and checks it.

    Returns the bounds and the runtime assertions to attach when `validate_args` is set.
    """
    event_shape = distribution.event_shape
    if not event_shape.is_fully_defined():
        raise ValueError(
            "BoundedNormal: the event shape of `distribution` must be known statically; received "
            f"{event_shape}."
        )
    bounds = tf.convert_to_tensor(bounds, dtype=distribution.dtype, name="bounds")
    shape = bounds.shape
    if shape.rank is None or shape.rank < 1 or shape[-1] != 2:
        raise ValueError(
            "BoundedNormal: `bounds` must have shape [..., 2] holding [low, high]; received shape "
            f"{shape}."
        )
    # Broadcast the trailing dimensions of `bounds` (before the [low, high] axis) onto the event
    # shape, so that event_ndims of `bounds` is always event rank + 1.
    value_shape = shape[:-1]
    rank = event_shape.rank
    leading = value_shape[: max(value_shape.rank - rank, 0)]
    trailing = value_shape[max(value_shape.rank - rank, 0) :]
    try:
        fitted = tf.broadcast_static_shape(trailing, event_shape)
    except ValueError:
        fitted = None
    if fitted is None or fitted != event_shape:
        expected = ", ".join(["...", *map(str, event_shape), "2"])
        raise ValueError(
            f"BoundedNormal: `bounds` of shape {shape} does not fit the event shape {event_shape} "
            f"of `distribution`; expected [{expected}] or a shape that broadcasts to it."
        )
    batch_shape = distribution.batch_shape
    if batch_shape.is_fully_defined():
        try:
            fits_batch = tf.broadcast_static_shape(leading, batch_shape) == batch_shape
        except ValueError:
            fits_batch = False
        if not fits_batch:
            # Bounds that widened the batch would need independent base draws per bound, which
            # the base cannot give; ask for a base with that batch shape instead.
            raise ValueError(
                f"BoundedNormal: the batch dimensions {leading} of `bounds` (shape {shape}) must "
                f"broadcast to the batch shape {batch_shape} of `distribution` without enlarging "
                "it; give `distribution` the full batch shape instead."
            )
    if trailing != event_shape:
        bounds = tf.broadcast_to(bounds, leading.concatenate(event_shape).concatenate([2]))

    assertions = []
    static = tf.get_static_value(bounds)
    if static is not None:
        if not np.all(np.isfinite(static)):
            raise ValueError(f"BoundedNormal: `bounds` must be finite; received {static.tolist()}.")
        if np.any(static[..., 0] >= static[..., 1]):
            raise ValueError(
                "BoundedNormal: `bounds` must satisfy low < high in every dimension; received "
                f"{static.tolist()}."
            )
    elif validate_args:
        assertions.append(
            tf.debugging.assert_less(
                bounds[..., 0], bounds[..., 1], message="BoundedNormal: `bounds` need low < high."
            )
        )
    return bounds, assertions


def log_tanh_derivative(x: tf.Tensor) -> tf.Tensor:
    """log(d tanh(x) / dx) = log(1 - tanh(x)^2), stable for all x.

    1 - tanh^2 x = sech^2 x = 4 / (e^x + e^-x)^2 = 4 e^{-2x} / (1 + e^{-2x})^2, so its log is
    2 (log 2 - x - softplus(-2x)). Evaluating 1 - tanh^2 x directly gives log(0) = -inf once tanh
    rounds to +-1 (|x| > 9 in float32); this form stays finite and exact.
    """
    return 2.0 * (math.log(2.0) - x - tf.nn.softplus(-2.0 * x))


class BoundedNormal(tfd.Distribution):
    """A Normal squashed by tanh and rescaled to `[low, high]` in every dimension.

    If X follows `distribution`, this is the law of

        Y = mid + half * tanh(X),   mid = (low + high) / 2,   half = (high - low) / 2,

    the squashed Gaussian of SAC (Haarnoja et al., 2018) with per-dimension bounds. It has the batch
    and event shapes of `distribution` and works eagerly and inside `tf.function`.

    * `sample()` draws X and squashes it. Samples are clipped to `[low, high]`, so float rounding of
      `mid + half * tanh(X)` can never leave the bounds.
    * `log_prob(y)` is the change-of-variables density
      log p_X(x) - sum_i [log half_i + log(1 - tanh^2 x_i)] with x = atanh((y - mid) / half).
      It is finite for every y in `[low, high]`, the bounds included: the pre-image is clipped to
      the largest float below 1 in magnitude, so actions at a bound, and float32 actions that
      rounded onto one, get a finite (very small or very large) density instead of +-inf.
    * `experimental_sample_and_log_prob()` scores each sample at its exact pre-image instead of
      inverting it, which is more accurate for saturated samples and gives better reparameterised
      gradients (use it for SAC). `log_prob(sample)` and the log-prob returned here agree except
      where |tanh(x)| rounds to 1.
    * `mode()` is `mid + half * tanh(mode of X)`: the deterministic action used for evaluation (as
      in SAC, SB3 and CleanRL). The Jacobian of the squashing reshapes the density, so this is not
      in general where the squashed density peaks; that peak can even sit at a bound.
    * `mean()`, `variance()` and `stddev()` are the true moments of Y, E[Y] = mid + half E[tanh X]
      and so on, not the squashed mean of X. They have no closed form and are computed by
      deterministic, differentiable quadrature, accurate to about 1e-9 (see `_tanh_moments.py`).
    * `entropy()` is the differential entropy of Y,
      H[Y] = H[X] + sum_i (log half_i + E[log(1 - tanh^2 X_i)]), with the expectation computed by
      the same quadrature: deterministic and differentiable, not a Monte Carlo estimate. It can be
      negative, and it falls as probability mass piles up against the bounds.

    KL divergence between two `BoundedNormal`s with the same bounds is the KL between their
    underlying Normals (KL is invariant under a shared bijection); with `validate_args=True` the
    bounds are checked to be equal.

    Args:
        distribution: A `tfd.Normal`, or a `tfd.Independent` wrapping one, over the pre-squash
            value.
        bounds: Array-like of shape `[..., 2]` holding `[low, high]`, with low < high and finite.
            Its dimensions before the last must broadcast onto the event shape of `distribution`
            (for example `[2]` for the same bounds everywhere, or `[*event_shape, 2]`); any further
            leading dimensions must broadcast to the batch shape of `distribution`.
        validate_args: Check `bounds` at run time when they are not known statically, and check
            that KL divergence is taken between equal bounds.
        allow_nan_stats: As in every TFP distribution.
        name: Name scope for the ops.

    Raises:
        TypeError: If `distribution` is not a Normal or Independent Normal.
        ValueError: If `bounds` has the wrong shape, is not finite, or has low >= high.

    Example:
        >>> base = tfd.Independent(tfd.Normal(loc=tf.zeros([8, 2]), scale=1.0), 1)
        >>> dist = BoundedNormal(base, bounds=[[-1.0, 1.0], [0.0, 5.0]])
        >>> action = dist.sample()          # shape [8, 2], inside the bounds
        >>> dist.log_prob(action).shape     # [8]
    """

    def __init__(
        self,
        distribution: tfd.Distribution,
        bounds,
        validate_args: bool = False,
        allow_nan_stats: bool = True,
        name: str = "BoundedNormal",
    ):
        parameters = dict(locals())
        self._normal = _normal_of(distribution)
        with tf.name_scope(name) as name:
            self._distribution = distribution
            self._bounds, assertions = _canonical_bounds(bounds, distribution, validate_args)
            if assertions:
                with tf.control_dependencies(assertions):
                    self._bounds = tf.identity(self._bounds)
            super().__init__(
                dtype=distribution.dtype,
                reparameterization_type=distribution.reparameterization_type,
                validate_args=validate_args,
                allow_nan_stats=allow_nan_stats,
                parameters=parameters,
                name=name,
            )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(
            distribution=tfp.util.BatchedComponentProperties(),
            bounds=tfp.util.ParameterProperties(
                event_ndims=lambda self: self.distribution.event_shape.rank + 1
            ),
        )

    @property
    def distribution(self) -> tfd.Distribution:
        """The distribution of the pre-squash value X."""
        return self._distribution

    @property
    def bounds(self) -> tf.Tensor:
        """The bounds, shape `[..., *event_shape, 2]`, holding `[low, high]`."""
        return self._bounds

    @property
    def low(self) -> tf.Tensor:
        return self._bounds[..., 0]

    @property
    def high(self) -> tf.Tensor:
        return self._bounds[..., 1]

    def _mid_and_half(self) -> tuple[tf.Tensor, tf.Tensor]:
        return (self.high + self.low) / 2.0, (self.high - self.low) / 2.0

    def _event_shape(self):
        return self._distribution.event_shape

    def _event_shape_tensor(self):
        return self._distribution.event_shape_tensor()

    def squash(self, x: tf.Tensor) -> tf.Tensor:
        """`x` (a value of the underlying Normal) mapped into the bounds (as samples are)."""
        return self._squash(x)

    def _squash(self, x: tf.Tensor) -> tf.Tensor:
        mid, half = self._mid_and_half()
        return tf.clip_by_value(mid + half * tf.tanh(x), self.low, self.high)

    def _unsquash(self, y: tf.Tensor) -> tf.Tensor:
        mid, half = self._mid_and_half()
        # The largest float below 1: atanh of it is finite (about 8.7 in float32, 19 in float64).
        limit = 1.0 - np.finfo(self.dtype.as_numpy_dtype).epsneg
        return tf.atanh(tf.clip_by_value((y - mid) / half, -limit, limit))

    def _log_jacobian(self, x: tf.Tensor) -> tf.Tensor:
        """log |dY/dX| summed over the event dimensions."""
        _, half = self._mid_and_half()
        per_dim = tf.math.log(half) + log_tanh_derivative(x)
        event_axes = list(range(-self._distribution.event_shape.rank, 0))
        return tf.reduce_sum(per_dim, axis=event_axes) if event_axes else per_dim

    def _sample_n(self, n, seed=None):
        return self._squash(self._distribution.sample(n, seed=seed))

    def _sample_and_log_prob(self, sample_shape, seed):
        x, log_prob = self._distribution.experimental_sample_and_log_prob(sample_shape, seed=seed)
        return self._squash(x), log_prob - self._log_jacobian(x)

    def _log_prob(self, y):
        x = self._unsquash(y)
        return self._distribution.log_prob(x) - self._log_jacobian(x)

    def _mode(self):
        return self._squash(self._distribution.mode())

    def _tanh_moments(self):
        return tanh_moments(self._normal.loc, self._normal.scale)

    def _full_shape(self, value: tf.Tensor) -> tf.Tensor:
        return tf.broadcast_to(
            value, tf.concat([self.batch_shape_tensor(), self.event_shape_tensor()], axis=0)
        )

    def _mean(self):
        mid, half = self._mid_and_half()
        return self._full_shape(mid + half * self._tanh_moments().mean)

    def _variance(self):
        _, half = self._mid_and_half()
        return self._full_shape(tf.square(half) * self._tanh_moments().variance)

    def _stddev(self):
        return tf.sqrt(self._variance())

    def _entropy(self):
        _, half = self._mid_and_half()
        per_dim = self._full_shape(tf.math.log(half) + self._tanh_moments().log_jacobian)
        event_axes = list(range(-self._distribution.event_shape.rank, 0))
        log_jacobian = tf.reduce_sum(per_dim, axis=event_axes) if event_axes else per_dim
        return self._distribution.entropy() + log_jacobian


@tfd.RegisterKL(BoundedNormal, BoundedNormal)
def _kl_bounded_normal(a: BoundedNormal, b: BoundedNormal, name=None):
    with tf.name_scope(name or "kl_bounded_normal"):
        kl = a.distribution.kl_divergence(b.distribution)
        if a.validate_args or b.validate_args:
            with tf.control_dependencies(
                [
                    tf.debugging.assert_equal(
                        a.bounds, b.bounds, message="KL between BoundedNormals needs equal bounds."
                    )
                ]
            ):
                kl = tf.identity(kl)
        return kl
