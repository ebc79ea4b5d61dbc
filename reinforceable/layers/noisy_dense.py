"""`NoisyDense`: a dense layer with factorised Gaussian noise on its weights (NoisyNet;
Fortunato et al. 2018), whose noise is drawn per environment into the policy state.

With input width `p`, output width `q`, learned means `μ_w [p, q]`, `μ_b [q]` and scales
`σ_w [p, q]`, `σ_b [q]`, and standard-normal draws `ε_in [p]`, `ε_out [q]`,

    y = x μ_w + μ_b + ((x ⊙ f(ε_in)) σ_w) ⊙ f(ε_out) + σ_b ⊙ f(ε_out),    f(e) = sign(e) √|e|

which is `x (μ_w + σ_w ⊙ f(ε_in) f(ε_out)ᵀ) + μ_b + σ_b ⊙ f(ε_out)` without forming the
`[p, q]` noise matrix, so every batch row can have its own draws at the cost of one more matmul.
Initialisation as in the paper: `μ ~ U(±1/√p)`, `σ = σ₀/√p` (σ₀ = 0.5).

Where the noise comes from:
* acting: `KerasPolicy` keeps each environment's draws in its policy state under `"_noisy"`
  (`{"noise": {layer: {"in": [B, p], "out": [B, q]}}, "steps": [B]}`) and redraws them on the
  layer's schedule, `sample_freq` (1: every step; N: every N steps of an environment; -1: at its
  episode starts only; an episode start always redraws). The Driver resets the state where an
  episode starts, and the draws come from the step's seed, so an actor in another process with
  the same seed acts with the same noise;
* learning: a learner draws fresh noise per batch row with `sampled_noise(model, batch, seed)`
  (layers with fixed scales, `learn_sigma=False`, learn through their means);
* anything else (a plain model call, deterministic evaluation): the means alone.
"""

from __future__ import annotations

import contextlib

import keras
import numpy as np
import tensorflow as tf

__all__ = [
    "NOISY_KEY",
    "NoisyDense",
    "noisy_act",
    "noisy_initial_state",
    "noisy_layers",
    "noisy_output",
    "sampled_noise",
    "using_noise",
]

NOISY_KEY = "_noisy"


def _scale(e: tf.Tensor) -> tf.Tensor:
    """`f(e) = sign(e) √|e|`."""
    return tf.sign(e) * tf.sqrt(tf.abs(e))


def noisy_output(x, mu_w, mu_b, sigma_w, sigma_b, noise_in=None, noise_out=None) -> tf.Tensor:
    """`y` above (before the activation).

    Args:
        x: `[B, ..., p]` inputs (`...`: a time axis, say, over which a row's noise is held).
        mu_w, sigma_w: `[p, q]`.
        mu_b, sigma_b: `[q]`.
        noise_in: `[B, p]` standard-normal draws `ε_in`, or None for the means alone.
        noise_out: `[B, q]`, `ε_out`.

    Returns:
        `[B, ..., q]`.
    """
    y = tf.tensordot(x, mu_w, [[-1], [0]]) + mu_b
    if noise_in is None:
        return y
    extra = [1] * (len(x.shape) - 2)  # broadcast a row's draws over its inner axes

    def expand(e):
        e = _scale(e)
        return tf.reshape(e, tf.concat([tf.shape(e)[:1], extra, tf.shape(e)[1:]], 0))

    f_in, f_out = expand(noise_in), expand(noise_out)
    return y + tf.tensordot(x * f_in, sigma_w, [[-1], [0]]) * f_out + sigma_b * f_out


@keras.saving.register_keras_serializable(package="reinforceable")
class NoisyDense(keras.layers.Layer):
    """A dense layer with factorised Gaussian weight noise (see the module's docstring).

    Args:
        units: `q`.
        activation: A Keras activation (none by default).
        sigma_zero: σ₀ of the initial scales `σ₀/√p`, > 0.
        sample_freq: When acting, redraw each environment's noise every this many of its steps,
            1 (every step) or more, or -1 (at episode starts only).
        learn_sigma: Learn the scales `σ` (NoisyNet: learners draw noise per batch row). False
            keeps them at their initial `σ₀/√p` and learners use the means alone
            (`sampled_noise`), so the noise explores when acting and no loss can silence it,
            as parameter-space noise does (Plappert et al. 2018). A deterministic actor's loss
            has no term that rewards noise: with learned scales (or learning through the
            noise) its optimiser shrinks the noise's effect wherever the critic penalises
            large actions, as on MountainCarContinuous before the flag is ever reached.

    Raises:
        ValueError: For `units` < 1, `sigma_zero` <= 0 (or not finite), a `sample_freq` other
            than -1 or a positive int, or a `learn_sigma` that is not a bool.

    Example:
        >>> x = NoisyDense(64, activation="relu")(keras.Input((8,)))
    """

    def __init__(self, units: int, activation=None, sigma_zero: float = 0.5,
                 sample_freq: int = 1, learn_sigma: bool = True, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int | np.integer) or units < 1:
            raise ValueError(f"NoisyDense: `units` must be an int >= 1; received {units!r}.")
        if (
            isinstance(sigma_zero, bool)
            or not isinstance(sigma_zero, int | float)
            or not np.isfinite(sigma_zero)
            or sigma_zero <= 0
        ):
            raise ValueError(
                f"NoisyDense: `sigma_zero` must be a finite number > 0; received {sigma_zero!r}."
            )
        if (
            isinstance(sample_freq, bool)
            or not isinstance(sample_freq, int)
            or not (sample_freq == -1 or sample_freq >= 1)
        ):
            raise ValueError(
                "NoisyDense: `sample_freq` must be -1 (episode starts) or an int >= 1; "
                f"received {sample_freq!r}."
            )
        if not isinstance(learn_sigma, bool):
            raise ValueError(
                f"NoisyDense: `learn_sigma` must be True or False; received {learn_sigma!r}."
            )
        self.learn_sigma = learn_sigma
        self.units = int(units)
        self.activation = keras.activations.get(activation)
        self.sigma_zero = float(sigma_zero)
        self.sample_freq = int(sample_freq)
        self._noise = None  # (ε_in [B, p], ε_out [B, q]) while a policy or learner sets it

    def build(self, input_shape):
        p = int(input_shape[-1])
        bound = 1.0 / np.sqrt(p)
        uniform = keras.initializers.RandomUniform(-bound, bound)
        sigma = keras.initializers.Constant(self.sigma_zero / np.sqrt(p))
        self.mu_kernel = self.add_weight(
            shape=(p, self.units), initializer=uniform, name="mu_kernel"
        )
        self.mu_bias = self.add_weight(shape=(self.units,), initializer=uniform, name="mu_bias")
        learn = self.learn_sigma
        self.sigma_kernel = self.add_weight(shape=(p, self.units), initializer=sigma,
                                            name="sigma_kernel", trainable=learn)  # fmt: skip
        self.sigma_bias = self.add_weight(shape=(self.units,), initializer=sigma,
                                          name="sigma_bias", trainable=learn)  # fmt: skip

    @property
    def noise_shapes(self) -> tuple[int, int]:
        """`(p, q)`: the widths of the layer's draws."""
        return int(self.mu_kernel.shape[0]), self.units

    def call(self, inputs):
        noise_in, noise_out = self._noise if self._noise is not None else (None, None)
        y = noisy_output(inputs, self.mu_kernel, self.mu_bias, self.sigma_kernel,
                         self.sigma_bias, noise_in, noise_out)  # fmt: skip
        return self.activation(y)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": keras.activations.serialize(self.activation),
            "sigma_zero": self.sigma_zero,
            "sample_freq": self.sample_freq,
            "learn_sigma": self.learn_sigma,
        }


def noisy_layers(model) -> list[NoisyDense]:
    """Every `NoisyDense` in `model`, nested models and layers (a `DenseNormal`'s noisy head)
    included, in a fixed order."""
    found, stack, seen = [], [model], set()
    while stack:
        layer = stack.pop(0)
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        if isinstance(layer, NoisyDense):
            found.append(layer)
        children = getattr(layer, "layers", None)
        stack.extend(children if children is not None else getattr(layer, "_layers", []))
    return found


@contextlib.contextmanager
def using_noise(layers, noise: dict):
    """Within the block, each layer of `layers` acts with `noise[layer.name]` (`{"in": [B, p],
    "out": [B, q]}`); after it, with its means again."""
    try:
        for layer in layers:
            layer._noise = (noise[layer.name]["in"], noise[layer.name]["out"])
        yield
    finally:
        for layer in layers:
            layer._noise = None


def _draws(layers, batch, seed) -> dict:
    seeds = tf.unstack(tf.random.split(seed, 2 * max(len(layers), 1)))
    noise = {}
    for i, layer in enumerate(layers):
        p, q = layer.noise_shapes
        noise[layer.name] = {
            "in": tf.random.stateless_normal(tf.stack([batch, p]), seeds[2 * i]),
            "out": tf.random.stateless_normal(tf.stack([batch, q]), seeds[2 * i + 1]),
        }
    return noise


@contextlib.contextmanager
def sampled_noise(model, batch, seed):
    """Within the block, `model`'s `NoisyDense` layers that learn their scales act with fresh
    draws for each of `batch` rows, from the stateless `seed` (a learner's forward pass); those
    with fixed scales (`learn_sigma=False`) act with their means, so their noise explores
    without a loss that could learn to silence it (parameter-space noise, Plappert et al.
    2018: the learner updates the unperturbed network)."""
    layers = [layer for layer in noisy_layers(model) if layer.learn_sigma]
    with using_noise(layers, _draws(layers, batch, seed)):
        yield


def noisy_initial_state(layers, batch_size) -> dict:
    """Zero draws and step counts: the next step draws afresh (a count of 0 redraws)."""
    noise = {}
    for layer in layers:
        p, q = layer.noise_shapes
        noise[layer.name] = {"in": tf.zeros([batch_size, p]), "out": tf.zeros([batch_size, q])}
    return {"noise": noise, "steps": tf.zeros([batch_size], tf.int32)}


def noisy_act(layers, state: dict, seed) -> dict:
    """The policy state's draws for this step: each layer's redrawn where its schedule says
    (a step count of 0, i.e. an episode start, or a multiple of `sample_freq`), kept elsewhere;
    the counts move on by one."""
    steps = state["steps"]
    batch = tf.shape(steps)[0]
    fresh = _draws(layers, batch, tf.random.experimental.stateless_fold_in(seed, 104_729))
    noise = {}
    for layer in layers:
        freq = layer.sample_freq
        redraw = steps == 0 if freq <= 0 else steps % freq == 0
        noise[layer.name] = {
            part: tf.where(
                redraw[:, None], fresh[layer.name][part], state["noise"][layer.name][part]
            )
            for part in ("in", "out")
        }
    return {"noise": noise, "steps": steps + 1}
