"""`DenseNormal`: a Keras layer that outputs an (optionally bounded) Independent Normal."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable.distributions.bounded_normal import BoundedNormal
from reinforceable.layers._base import DenseDistributionLayer, event_shape_arg, input_features
from reinforceable.layers.gsde import GSDENoise
from reinforceable.layers.noisy_dense import NoisyDense

tfd = tfp.distributions

__all__ = ["DenseNormal", "gsde_layers"]


def _bounds_arg(output_bounds, event_shape: tuple[int, ...]) -> np.ndarray:
    """Validates `output_bounds` and broadcasts it to `[*event_shape, 2]`."""
    try:
        bounds = np.asarray(output_bounds, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"DenseNormal: `output_bounds` must be numbers of shape [..., 2]; received "
            f"{output_bounds!r}."
        ) from error
    expected = (*event_shape, 2)
    try:
        if bounds.ndim < 1 or bounds.shape[-1] != 2:
            raise ValueError
        bounds = np.broadcast_to(bounds, expected)
    except ValueError:
        raise ValueError(
            f"DenseNormal: `output_bounds` must have shape {expected} (or broadcast to it, for "
            f"example [low, high]) to fit `output_shape` {event_shape}; received shape "
            f"{bounds.shape}."
        ) from None
    if not np.all(np.isfinite(bounds)):
        raise ValueError(
            f"DenseNormal: `output_bounds` must be finite; received {bounds.tolist()}."
        )
    if np.any(bounds[..., 0] >= bounds[..., 1]):
        raise ValueError(
            "DenseNormal: `output_bounds` must have low < high in every dimension; received "
            f"{bounds.tolist()}."
        )
    return bounds


@keras.saving.register_keras_serializable(package="reinforceable")
class DenseNormal(DenseDistributionLayer):
    """A dense layer whose output is a Normal distribution over actions of shape `output_shape`.

    The location is a linear function of the inputs. The scale is either a learned vector shared by
    all inputs (`state_dependent_scale=False`, as in PPO) or a second linear function of the inputs
    (`True`, as in SAC), passed through softplus and shifted by `min_scale`.

    Bounds, when given, are applied in one of two ways:

    * soft (`hard_bounds=False`): the location is squashed into the bounds,
      `loc = mid + half * tanh(linear)`, and the distribution is an `Independent(Normal)`. Samples
      can fall outside the bounds; the environment (or a wrapper) clips them.
    * hard (`hard_bounds=True`): the distribution is a `BoundedNormal`, a Normal squashed by tanh
      into the bounds. Every sample lies inside, and `log_prob` accounts for the squashing.

    Args:
        output_shape: Event shape of the actions, an int or a tuple of ints.
        output_bounds: Optional `[low, high]` per action dimension: an array-like of shape
            `[*output_shape, 2]`, or any shape that broadcasts to it (`[-1.0, 1.0]` for all).
        hard_bounds: Use a `BoundedNormal` instead of squashing only the location. Needs
            `output_bounds`.
        state_dependent_scale: Make the scale a function of the inputs.
        initial_scale: The scale at initialisation (before the tanh, with hard bounds).
        min_scale: A floor added to the scale, which keeps `log_prob` finite.
        sde: Explore with generalised state-dependent exploration (gSDE, Raffin et al. 2021;
            see `reinforceable.layers.gsde`): the scale is `sqrt(z(s)² σ²)` for the layer's
            inputs `z(s)` (gradients stopped) and a learned `σ` `[features, actions]`, and a
            `KerasPolicy` acting with it holds its noise matrix fixed between resamples.
            Excludes `state_dependent_scale`.
        sde_sample_freq: With `sde`, resample the noise every this many steps of an
            environment, and at its episode starts; `-1` (the default, as in SB3) at episode
            starts only.
        sde_initial_std: With `sde`, the initial entries of `σ` (SB3's `exp(log_std_init)`).
        noisy: Make the location projection a `NoisyDense` (named `<name>_loc`, initialised as
            NoisyNet's layers are, `μ ~ U(±1/√p)`): a noisy output head, whose weight noise a
            `KerasPolicy` draws into its policy state and a deterministic policy acts with, so
            a deterministic actor (TD3) explores without action noise. Excludes `sde`.
        noisy_sample_freq: With `noisy`, the `NoisyDense`'s `sample_freq` (1: redraw every
            step; N: every N steps; -1: at episode starts only).
        noisy_sigma_zero: With `noisy`, its σ₀ (> 0).
        noisy_learn_sigma: With `noisy`, its `learn_sigma` (learn the noise scales).
        kernel_initializer: For the kernels. Defaults to orthogonal with gain 0.01, so the initial
            location is close to zero (the middle of the bounds).
        bias_initializer: For the location bias.
        kernel_regularizer, bias_regularizer: Optional Keras regularizers.
        validate_args: Passed to the TFP distributions.
        **kwargs: Passed to `keras.layers.Layer` (`name`, `dtype`, `trainable`).

    Input shape: `[batch, ..., features]`.
    Output: a distribution with batch shape `[batch, ...]` and event shape `output_shape`; a Keras
        functional model sees it as a float32 tensor `[batch, ..., *output_shape]`.

    Raises:
        ValueError: At construction, for a non-positive `output_shape`, bounds that are not finite,
            have low >= high or do not fit `output_shape`, `hard_bounds` without bounds, or a
            non-positive scale, `sde` with `noisy`, or noisy options `NoisyDense` refuses.

    Example:
        >>> x = keras.Input((16,))
        >>> h = keras.layers.Dense(64, activation="tanh")(x)
        >>> move = DenseNormal((2,), output_bounds=[-1.0, 1.0], hard_bounds=True)(h)
        >>> policy = keras.Model(x, move)
        >>> policy(tf.zeros([8, 16])).sample().shape   # [8, 2], inside [-1, 1]
    """

    def __init__(
        self,
        output_shape,
        output_bounds=None,
        hard_bounds: bool = False,
        state_dependent_scale: bool = False,
        initial_scale: float = 1.0,
        min_scale: float = 1e-4,
        kernel_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        validate_args: bool = False,
        sde: bool = False,
        sde_sample_freq: int = -1,
        sde_initial_std: float = 1.0,
        noisy: bool = False,
        noisy_sample_freq: int = 1,
        noisy_sigma_zero: float = 0.5,
        noisy_learn_sigma: bool = True,
        **kwargs,
    ):
        event_shape = event_shape_arg(output_shape, "output_shape", "DenseNormal")
        if sde and noisy:
            raise ValueError(
                "DenseNormal: `sde=True` and `noisy=True` are two kinds of exploration noise; "
                "choose one."
            )
        if sde and state_dependent_scale:
            raise ValueError(
                "DenseNormal: `sde=True` makes the scale state-dependent itself; it excludes "
                "`state_dependent_scale=True`."
            )
        bad_freq = isinstance(sde_sample_freq, bool) or not isinstance(sde_sample_freq, int)
        if bad_freq or sde_sample_freq == 0 or sde_sample_freq < -1:
            raise ValueError(
                "DenseNormal: `sde_sample_freq` must be a positive int or -1 (episode starts "
                f"only); received {sde_sample_freq!r}."
            )
        if not (sde_initial_std > 0.0):
            raise ValueError(
                f"DenseNormal: `sde_initial_std` must be > 0; received {sde_initial_std!r}."
            )
        bounds = None if output_bounds is None else _bounds_arg(output_bounds, event_shape)
        if hard_bounds and bounds is None:
            raise ValueError(
                "DenseNormal: `hard_bounds=True` needs `output_bounds`; received "
                "output_bounds=None."
            )
        if not (min_scale >= 0.0):
            raise ValueError(f"DenseNormal: `min_scale` must be >= 0; received {min_scale!r}.")
        if not (initial_scale > min_scale):
            raise ValueError(
                f"DenseNormal: `initial_scale` must be greater than `min_scale` ({min_scale}); "
                f"received {initial_scale!r}."
            )
        super().__init__(
            event_shape,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            validate_args=validate_args,
            **kwargs,
        )
        self.output_bounds = bounds
        self.hard_bounds = bool(hard_bounds)
        self.state_dependent_scale = bool(state_dependent_scale)
        self.initial_scale = float(initial_scale)
        self.min_scale = float(min_scale)
        self.sde = bool(sde)
        self.sde_sample_freq = int(sde_sample_freq)
        self.sde_initial_std = float(sde_initial_std)
        self.noisy = bool(noisy)
        self.noisy_loc = None
        if self.noisy:
            try:
                self.noisy_loc = NoisyDense(
                    int(np.prod(event_shape)),
                    sigma_zero=noisy_sigma_zero,
                    sample_freq=noisy_sample_freq,
                    learn_sigma=noisy_learn_sigma,
                    name=f"{self.name}_loc",
                )
            except ValueError as error:
                raise ValueError(
                    str(error).replace("NoisyDense: `", "DenseNormal: `noisy_")
                ) from None

    def build(self, input_shape):
        features = input_features(input_shape, "DenseNormal")
        if self.noisy:
            self.noisy_loc.build((None, features))
        else:
            self.loc_kernel, self.loc_bias = self.add_projection("loc", features, self.event_shape)
        if self.sde:
            self.sde_log_std = self.add_weight(
                name="sde_log_std",
                shape=(features, int(np.prod(self.event_shape))),
                initializer=keras.initializers.Constant(float(np.log(self.sde_initial_std))),
            )
            return
        # softplus(raw) + min_scale == initial_scale at initialisation.
        raw_scale = float(np.log(np.expm1(self.initial_scale - self.min_scale)))
        scale_bias_initializer = keras.initializers.Constant(raw_scale)
        if self.state_dependent_scale:
            self.scale_kernel, self.scale_bias = self.add_projection(
                "scale", features, self.event_shape, bias_initializer=scale_bias_initializer
            )
        else:
            self.scale_bias = self.add_weight(
                name="scale_bias", shape=self.event_shape, initializer=scale_bias_initializer
            )

    def call(self, inputs):
        if self.noisy:
            loc = self.to_event(inputs, self.noisy_loc(inputs), self.event_shape)
        else:
            loc = self.project(inputs, self.loc_kernel, self.loc_bias, self.event_shape)
        latent = std = None
        if self.sde:
            latent, std, scale = self._gsde_scale(inputs, loc)
        else:
            if self.state_dependent_scale:
                raw = self.project(inputs, self.scale_kernel, self.scale_bias, self.event_shape)
            else:
                raw = self.scale_bias + tf.zeros_like(loc)
            scale = tf.nn.softplus(raw) + self.min_scale
        bounds = None
        if self.output_bounds is not None:
            bounds = tf.constant(self.output_bounds, dtype=loc.dtype)
            if not self.hard_bounds:
                mid = (bounds[..., 1] + bounds[..., 0]) / 2.0
                half = (bounds[..., 1] - bounds[..., 0]) / 2.0
                loc = mid + half * tf.tanh(loc)
        distribution = self.independent(tfd.Normal(loc, scale, validate_args=self.validate_args))
        if self.hard_bounds:
            distribution = BoundedNormal(distribution, bounds, validate_args=self.validate_args)
        if self.sde:
            squash = distribution.squash if self.hard_bounds else (lambda u: u)
            distribution.gsde = GSDENoise(
                self.name, latent, std, self.event_shape, squash, self.sde_sample_freq
            )
        return distribution

    def _gsde_scale(self, inputs, loc):
        """gSDE's latent `z(s)` (gradients stopped), `σ` and the scale `sqrt(z² σ² + min²)`."""
        latent = tf.stop_gradient(tf.convert_to_tensor(inputs))
        std = tf.exp(self.sde_log_std)
        scale = tf.sqrt(tf.matmul(tf.square(latent), tf.square(std)) + self.min_scale**2)
        if len(self.event_shape) != 1:
            scale = tf.reshape(scale, tf.shape(loc))
        return latent, std, scale

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            output_shape=self.event_shape,
            output_bounds=None if self.output_bounds is None else self.output_bounds.tolist(),
            hard_bounds=self.hard_bounds,
            state_dependent_scale=self.state_dependent_scale,
            initial_scale=self.initial_scale,
            min_scale=self.min_scale,
        )
        if self.sde:  # only then, so configs saved before gSDE existed stay as they were
            config.update(
                sde=True,
                sde_sample_freq=self.sde_sample_freq,
                sde_initial_std=self.sde_initial_std,
            )
        if self.noisy:
            config.update(
                noisy=True,
                noisy_sample_freq=self.noisy_loc.sample_freq,
                noisy_sigma_zero=self.noisy_loc.sigma_zero,
                noisy_learn_sigma=self.noisy_loc.learn_sigma,
            )
        return config


def gsde_layers(model: keras.layers.Layer) -> list:
    """Every `DenseNormal` with `sde=True` in `model` (nested models included), by name."""
    found, seen = [], set()

    def visit(layer) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, DenseNormal) and layer.sde:
            found.append(layer)
        for child in layer.layers if isinstance(layer, keras.Model) else ():
            visit(child)

    visit(model)
    return found
