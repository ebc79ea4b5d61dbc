"""`DenseBernoulli`: a Keras layer that outputs independent Bernoulli distributions."""

from __future__ import annotations

import keras
import tensorflow_probability as tfp

from reinforceable.layers._base import DenseDistributionLayer, event_shape_arg, input_features

tfd = tfp.distributions

__all__ = ["DenseBernoulli"]


@keras.saving.register_keras_serializable(package="reinforceable")
class DenseBernoulli(DenseDistributionLayer):
    """A dense layer whose output is independent Bernoulli distributions (binary actions).

    Suits a gymnasium `MultiBinary(n)` action, or a "signal done" switch in a hybrid action.

    Args:
        output_shape: Event shape, an int or a tuple of ints; `()` gives a single scalar Bernoulli.
        kernel_initializer: Defaults to orthogonal with gain 0.01 (probabilities near 1/2).
        bias_initializer: For the logits bias.
        kernel_regularizer, bias_regularizer: Optional Keras regularizers.
        validate_args: Passed to the TFP distributions.
        **kwargs: Passed to `keras.layers.Layer`.

    Input shape: `[batch, ..., features]`.
    Output: a distribution with batch shape `[batch, ...]` and event shape `output_shape`, with
        int32 samples in {0, 1}.

    Raises:
        ValueError: At construction, for a non-positive `output_shape`.

    Example:
        >>> x = keras.Input((8,))
        >>> switches = DenseBernoulli(3)(x)   # three independent on/off actions
    """

    sample_dtype = "int32"

    def __init__(
        self,
        output_shape,
        kernel_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        validate_args: bool = False,
        **kwargs,
    ):
        super().__init__(
            event_shape_arg(output_shape, "output_shape", "DenseBernoulli"),
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            validate_args=validate_args,
            **kwargs,
        )

    def build(self, input_shape):
        features = input_features(input_shape, "DenseBernoulli")
        self.logits_kernel, self.logits_bias = self.add_projection(
            "logits", features, self.event_shape
        )

    def call(self, inputs):
        logits = self.project(inputs, self.logits_kernel, self.logits_bias, self.event_shape)
        distribution = tfd.Bernoulli(logits=logits, validate_args=self.validate_args)
        return self.independent(distribution)

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(output_shape=self.event_shape)
        return config
