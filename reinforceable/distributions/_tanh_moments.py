"""Moments of tanh(X) for X ~ Normal(loc, scale), computed deterministically.

`BoundedNormal` needs E[tanh X], Var[tanh X] and E[log(1 - tanh^2 X)] (the expected
log-det-Jacobian, for the entropy). None has a closed form. Plain Gauss-Hermite quadrature fails for
wide scales: there tanh is a step relative to the Gaussian, and log(1 - tanh^2 x) grows like
-2|x|. So we split each integrand into a part with a closed form and a bounded bump that decays like
exp(-2|x|):

    tanh x            = sign x - 2 sign(x) sigmoid(-2|x|)
    1 - tanh^2 x      = sech^2 x                                  (a bump)
    log(1 - tanh^2 x) = 2 log 2 - 2|x| - 2 softplus(-2|x|)

with E[sign X] = erf(loc / (scale sqrt 2)) and E|X| = scale sqrt(2/pi) exp(-loc^2 / 2 scale^2)
+ loc erf(loc / (scale sqrt 2)) (the folded-normal mean). Only the bumps need quadrature. They are
integrated with Gauss-Legendre over the intersection of their support [-12, 12] (beyond which they
are below 1e-10) with loc +- 9 scale (the Gaussian's support), in two pieces split at 0, where |x|
kinks.
Against scipy.integrate.quad this is within 1e-9 for scale in [1e-4, 100] (see the tests).

For small scales, 1 - E[sech^2] - E[tanh]^2 cancels catastrophically, so the variance there is taken
directly as E[(tanh X - tanh loc)^2] - (E[tanh X] - tanh loc)^2 over loc +- 9 scale.

Everything runs in float64 and is differentiable with respect to loc and scale.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import tensorflow as tf

_NODES_PER_PIECE = 32
_BUMP_SUPPORT = 12.0
_GAUSSIAN_SUPPORT = 9.0
# Below this scale the variance is computed directly (see the module docstring).
_DIRECT_VARIANCE_SCALE = 0.5

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(_NODES_PER_PIECE)


class TanhMoments(NamedTuple):
    """Elementwise moments of tanh(X), X ~ Normal(loc, scale)."""

    mean: tf.Tensor
    """E[tanh X]."""
    variance: tf.Tensor
    """Var[tanh X]."""
    log_jacobian: tf.Tensor
    """E[log(1 - tanh^2 X)], the expected log-derivative of tanh."""


def _expectation(fn, loc: tf.Tensor, scale: tf.Tensor, lo: tf.Tensor, hi: tf.Tensor) -> tf.Tensor:
    """Integral of fn(x) N(x; loc, scale) over [lo, hi], split at 0 when 0 lies inside."""
    nodes = tf.constant(_NODES, tf.float64)
    weights = tf.constant(_WEIGHTS, tf.float64)
    hi = tf.maximum(hi, lo)
    split = tf.clip_by_value(tf.zeros_like(lo), lo, hi)
    total = tf.zeros_like(loc)
    for a, b in ((lo, split), (split, hi)):
        half_width = (b - a)[..., None] / 2.0
        x = (a + b)[..., None] / 2.0 + half_width * nodes
        z = (x - loc[..., None]) / scale[..., None]
        density = tf.exp(-0.5 * z * z) / (scale[..., None] * math.sqrt(2.0 * math.pi))
        total += tf.reduce_sum(weights * fn(x) * density * half_width, axis=-1)
    return total


def tanh_moments(loc: tf.Tensor, scale: tf.Tensor) -> TanhMoments:
    """Elementwise E[tanh X], Var[tanh X] and E[log(1 - tanh^2 X)] for X ~ Normal(loc, scale).

    Args:
        loc: Means, any shape and float dtype.
        scale: Standard deviations, positive, broadcastable with `loc`.

    Returns:
        `TanhMoments` with the broadcast shape of `loc` and `scale`, in the dtype of `loc`.
    """
    dtype = loc.dtype
    loc = tf.cast(loc, tf.float64)
    scale = tf.cast(scale, tf.float64)
    loc, scale = loc + tf.zeros_like(scale), scale + tf.zeros_like(loc)

    bump_lo = tf.maximum(loc - _GAUSSIAN_SUPPORT * scale, -_BUMP_SUPPORT)
    bump_hi = tf.minimum(loc + _GAUSSIAN_SUPPORT * scale, _BUMP_SUPPORT)

    def bump(fn):
        return _expectation(fn, loc, scale, bump_lo, bump_hi)

    expected_sign = tf.math.erf(loc / (scale * math.sqrt(2.0)))
    expected_abs = (
        scale * math.sqrt(2.0 / math.pi) * tf.exp(-0.5 * tf.square(loc / scale))
        + loc * expected_sign
    )
    mean = expected_sign - 2.0 * bump(lambda x: tf.sign(x) * tf.sigmoid(-2.0 * tf.abs(x)))
    expected_sech2 = bump(lambda x: 1.0 / tf.square(tf.cosh(x)))
    log_jacobian = (
        2.0 * math.log(2.0)
        - 2.0 * expected_abs
        - 2.0 * bump(lambda x: tf.nn.softplus(-2.0 * tf.abs(x)))
    )

    wide_variance = 1.0 - expected_sech2 - tf.square(mean)
    centre = tf.tanh(loc)
    narrow_variance = _expectation(
        lambda x: tf.square(tf.tanh(x) - centre[..., None]),
        loc,
        scale,
        loc - _GAUSSIAN_SUPPORT * scale,
        loc + _GAUSSIAN_SUPPORT * scale,
    ) - tf.square(mean - centre)
    variance = tf.maximum(
        tf.where(scale < _DIRECT_VARIANCE_SCALE, narrow_variance, wide_variance), 0.0
    )
    return TanhMoments(
        mean=tf.cast(mean, dtype),
        variance=tf.cast(variance, dtype),
        log_jacobian=tf.cast(log_jacobian, dtype),
    )
