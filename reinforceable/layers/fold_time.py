"""`FoldTime`: apply a per-step layer (a CNN, say) to `[batch, time, ...]` sequences."""

from __future__ import annotations

import keras
import tensorflow as tf

from reinforceable._checks import check_instance

__all__ = ["FoldTime"]


@keras.saving.register_keras_serializable(package="reinforceable")
class FoldTime(keras.layers.Layer):
    """Applies `layer` to every step of a sequence by folding time into the batch.

    Inputs `[batch, time, *step_shape]` become `[batch * time, *step_shape]`, go through `layer` in
    one call, and come back as `[batch, time, *output_shape]`. This is what a recurrent policy
    with image observations needs before its `StatefulRNN`: unlike `keras.layers.TimeDistributed`,
    which loops or vectorises over the time axis when its length is not static, it is one
    reshape on each side, so acting (`time = 1`) and training (`time = T`) cost one call each.

    Args:
        layer: A Keras layer or model that takes `[batch, *step_shape]`.
        **kwargs: Passed to `keras.layers.Layer`.

    Input: `[batch, time, *step_shape]`. Output: `[batch, time, *output_shape]`.

    Example:
        >>> cnn = keras.Sequential([keras.layers.Conv2D(16, 3), keras.layers.Flatten()])
        >>> frames = keras.Input((None, 84, 84, 4))          # [batch, time, 84, 84, 4]
        >>> features = FoldTime(cnn)(frames)                  # [batch, time, features]
    """

    def __init__(self, layer: keras.layers.Layer, **kwargs):
        check_instance("FoldTime", "layer", layer, keras.layers.Layer, "a keras Layer or Model")
        super().__init__(**kwargs)
        self.layer = layer

    def _check(self, shape) -> None:
        if len(shape) < 3:
            raise ValueError(
                f"FoldTime '{self.name}': inputs must be [batch, time, ...]; received shape "
                f"{tuple(shape)}."
            )

    def build(self, input_shape):
        self._check(input_shape)
        if not self.layer.built:
            self.layer.build((None, *input_shape[2:]))

    def compute_output_spec(self, inputs, training=None):
        self._check(inputs.shape)
        step = keras.KerasTensor((None, *inputs.shape[2:]), dtype=inputs.dtype)
        output = self.layer.compute_output_spec(step)
        return keras.KerasTensor((*inputs.shape[:2], *output.shape[1:]), dtype=output.dtype)

    def call(self, inputs, training=None):
        inputs = tf.convert_to_tensor(inputs)
        self._check(inputs.shape)
        outer = tf.shape(inputs)[:2]
        folded = tf.reshape(inputs, tf.concat([[-1], tf.shape(inputs)[2:]], 0))
        folded.set_shape([None, *inputs.shape[2:]])
        outputs = self.layer(folded, training=training)
        unfolded = tf.reshape(outputs, tf.concat([outer, tf.shape(outputs)[1:]], 0))
        unfolded.set_shape(inputs.shape[:2].concatenate(outputs.shape[1:]))
        return unfolded

    def get_config(self) -> dict:
        config = super().get_config()
        config["layer"] = keras.saving.serialize_keras_object(self.layer)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        return cls(**config)
