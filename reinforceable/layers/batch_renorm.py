"""`BatchRenormalization` (Ioffe 2017), the normalisation of CrossQ's critics (Bhatt et al.
2024), and `normalization_layers`, the layers of a model that normalise over the batch."""

from __future__ import annotations

import keras
import tensorflow as tf

__all__ = ["BatchRenormalization", "normalization_layers"]


@keras.saving.register_keras_serializable(package="reinforceable")
class BatchRenormalization(keras.layers.Layer):
    """Batch renormalisation over the last axis.

    In training, with the batch's mean `μ_B` and standard deviation `σ_B` and the moving ones
    `μ`, `σ` (`[D]` each):

        r = clip(σ_B / σ, 1 / r_max, r_max),  d = clip((μ_B - μ) / σ, -d_max, d_max)
        y = γ ((x - μ_B) / σ_B · r + d) + β           (r and d without gradient)

    so a training output is what the moving statistics would give, within the clips, while the
    gradient still sees the batch's. For the first `warmup` training calls `r = 1` and `d = 0`
    (batch normalisation, while the moving statistics settle). After each training call the
    moving statistics move `1 - momentum` of the way to the batch's. In inference, `y = γ (x -
    μ) / σ + β`. CrossQ puts one on the critic's input and after each hidden layer, and passes
    the current and the next state-actions through it in one batch.

    Args:
        momentum: Of the moving statistics, in [0, 1).
        epsilon: Added to the variances.
        r_max: Bound of `r`'s clip, at least 1.
        d_max: Bound of `d`'s clip, at least 0.
        warmup: Training calls with plain batch normalisation first.

    Raises:
        ValueError: For values out of those ranges.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, r_max: float = 3.0,
                 d_max: float = 5.0, warmup: int = 100, **kwargs):  # fmt: skip
        super().__init__(**kwargs)
        checks = (
            ("momentum", momentum, 0.0 <= momentum < 1.0, "in [0, 1)"),
            ("epsilon", epsilon, epsilon > 0.0, "> 0"),
            ("r_max", r_max, r_max >= 1.0, ">= 1"),
            ("d_max", d_max, d_max >= 0.0, ">= 0"),
            ("warmup", warmup, isinstance(warmup, int) and warmup >= 0, "an int >= 0"),
        )
        for name, value, ok, expected in checks:
            if not ok:
                raise ValueError(
                    f"BatchRenormalization: `{name}` must be {expected}; received {value!r}."
                )
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.r_max, self.d_max, self.warmup = float(r_max), float(d_max), int(warmup)

    def build(self, input_shape):
        size = input_shape[-1]
        self.gamma = self.add_weight(shape=(size,), initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=(size,), initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=(size,), initializer="zeros", trainable=False, name="moving_mean"
        )
        self.moving_std = self.add_weight(
            shape=(size,), initializer="ones", trainable=False, name="moving_std"
        )
        self.steps = self.add_weight(
            shape=(), initializer="zeros", trainable=False, name="steps", dtype="int64"
        )

    def call(self, inputs, training=None):
        if not training:
            return self.gamma * (inputs - self.moving_mean) / self.moving_std + self.beta
        axes = list(range(len(inputs.shape) - 1))
        mean, variance = tf.nn.moments(inputs, axes)
        std = tf.sqrt(variance + self.epsilon)
        settled = tf.cast(self.steps >= self.warmup, inputs.dtype)
        r = tf.clip_by_value(std / self.moving_std, 1.0 / self.r_max, self.r_max)
        d = tf.clip_by_value((mean - self.moving_mean) / self.moving_std, -self.d_max, self.d_max)
        r = tf.stop_gradient(settled * r + (1.0 - settled))
        d = tf.stop_gradient(settled * d)
        self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
        self.moving_std.assign(self.momentum * self.moving_std + (1 - self.momentum) * std)
        self.steps.assign_add(1)
        return self.gamma * ((inputs - mean) / std * r + d) + self.beta

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "r_max": self.r_max,
            "d_max": self.d_max,
            "warmup": self.warmup,
        }


def normalization_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of `model` (nested ones included) that normalise over the batch: Keras'
    `BatchNormalization` and `BatchRenormalization`."""
    kinds = (keras.layers.BatchNormalization, BatchRenormalization)
    return [
        layer for layer in model._flatten_layers(include_self=False) if isinstance(layer, kinds)
    ]
