"""Shared machinery of the dense distribution layers."""

from __future__ import annotations

import math
from collections.abc import Sequence

import keras
import tensorflow as tf
import tensorflow_probability as tfp


def event_shape_arg(value, argument: str, layer: str, allow_scalar: bool = True) -> tuple[int, ...]:
    """Validates an int or a sequence of positive ints and returns it as a tuple."""
    if isinstance(value, bool):
        value = None  # bool is an int subclass; True is never meant as a shape
    shape = (value,) if isinstance(value, int) else value
    valid = isinstance(shape, Sequence) and all(
        isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape
    )
    if not valid or (not allow_scalar and len(shape) == 0):
        expected = "a positive int or a tuple of positive ints"
        if not allow_scalar:
            expected += " (not empty)"
        raise ValueError(f"{layer}: `{argument}` must be {expected}; received {value!r}.")
    return tuple(shape)


def input_features(input_shape, layer: str) -> int:
    """The static size of the last input axis, which a dense projection needs."""
    shape = tuple(input_shape)
    if len(shape) < 2 or shape[-1] is None:
        raise ValueError(
            f"{layer}: inputs must have shape [batch, ..., features] with a known number of "
            f"features; received shape {shape}."
        )
    return int(shape[-1])


class DenseDistributionLayer(keras.layers.Layer):
    """A layer that projects `[..., features]` inputs onto distribution parameters.

    Subclasses set `sample_dtype`, create their projections in `build` with `add_projection` and
    return a TFP distribution from `call`. `compute_output_spec` describes that distribution as the
    tensor of its samples, `[..., *event_shape]`, which is what lets a Keras 3 functional model
    carry a distribution as an output: the model then returns the distribution itself.
    """

    sample_dtype = "float32"

    def __init__(
        self,
        event_shape: tuple[int, ...],
        kernel_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        validate_args: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.event_shape = event_shape
        # A small final layer keeps the initial policy close to uniform (or to the centre of the
        # action range), which matters for on-policy learning (Andrychowicz et al., 2021).
        self.kernel_initializer = keras.initializers.get(
            kernel_initializer or keras.initializers.Orthogonal(gain=0.01)
        )
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.validate_args = bool(validate_args)

    def add_projection(
        self, name: str, features: int, shape: tuple[int, ...], bias_initializer=None
    ) -> tuple[keras.Variable, keras.Variable]:
        """Creates the kernel `[features, prod(shape)]` and bias `[prod(shape)]` of a projection."""
        units = math.prod(shape)
        kernel = self.add_weight(
            name=f"{name}_kernel",
            shape=(features, units),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        bias = self.add_weight(
            name=f"{name}_bias",
            shape=(units,),
            initializer=bias_initializer or self.bias_initializer,
            regularizer=self.bias_regularizer,
        )
        return kernel, bias

    @staticmethod
    def project(inputs, kernel, bias, shape: tuple[int, ...]) -> tf.Tensor:
        """`inputs @ kernel + bias`, reshaped from `[..., prod(shape)]` to `[..., *shape]`."""
        return DenseDistributionLayer.to_event(inputs, tf.matmul(inputs, kernel) + bias, shape)

    @staticmethod
    def to_event(inputs, outputs, shape: tuple[int, ...]) -> tf.Tensor:
        """`outputs` `[..., prod(shape)]` (from `inputs` `[..., features]`) as `[..., *shape]`."""
        inputs = tf.convert_to_tensor(inputs)
        if len(shape) == 1:
            return outputs  # already [..., units]: no reshape (it costs ops in a driver's loop)
        if not shape:
            return tf.squeeze(outputs, -1)
        outer = tf.shape(inputs)[:-1]
        outputs = tf.reshape(outputs, tf.concat([outer, tf.constant(shape, tf.int32)], axis=0))
        # Keep the static shape, so downstream distributions know their batch shape.
        outputs.set_shape(inputs.shape[:-1].concatenate(shape))
        return outputs

    def independent(self, distribution: tfp.distributions.Distribution):
        """Makes the trailing `event_shape` dimensions of `distribution` one event."""
        if not self.event_shape:
            return distribution
        return tfp.distributions.Independent(
            distribution,
            reinterpreted_batch_ndims=len(self.event_shape),
            validate_args=self.validate_args,
        )

    def compute_output_spec(self, inputs, *args, **kwargs):
        return keras.KerasTensor(
            tuple(inputs.shape[:-1]) + tuple(self.event_shape), dtype=self.sample_dtype
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=keras.initializers.serialize(self.bias_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=keras.regularizers.serialize(self.bias_regularizer),
            validate_args=self.validate_args,
        )
        return config
