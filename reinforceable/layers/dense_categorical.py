"""`DenseCategorical`: a Keras layer that outputs a Categorical distribution, with action masks."""

from __future__ import annotations

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable.layers._base import DenseDistributionLayer, event_shape_arg, input_features

tfd = tfp.distributions

__all__ = ["DenseCategorical", "all_masked_rows"]


def all_masked_rows(distribution) -> tf.Tensor | None:
    """bool `[batch, ...]`: where the `action_mask` that made `distribution` (a
    `DenseCategorical`'s output) allowed no action; `None` for a distribution made without a
    mask, or by another layer."""
    return getattr(distribution, "all_masked_rows", None)


@keras.saving.register_keras_serializable(package="reinforceable")
class DenseCategorical(DenseDistributionLayer):
    """A dense layer whose output is a Categorical distribution over discrete actions.

    `num_classes=n` gives one Categorical over `n` actions (event shape `[]`), as for a gymnasium
    `Discrete(n)`. A tuple `(*shape, n)` gives independent Categoricals over `n` actions each, with
    event shape `shape` (for example `(3, 5)` for three choices among five).

    An optional boolean `action_mask`, passed when calling the layer, marks the allowed actions:
    masked actions get probability exactly zero, so they are never sampled, their `log_prob` is a
    very large negative number rather than -inf, and `entropy` stays finite. Every row must allow
    at least one action: a row with none allowed is a bug in the environment's mask. With
    `validate_args=True` it raises (an `InvalidArgumentError` naming the rows); by default that
    row's distribution is uniform over every action, masked ones included, and a `KerasPolicy`
    (the Driver's, `Agent.predict`'s) warns once, naming the head and the batch row
    (`all_masked_rows` gives the rows to other code).

    Args:
        num_classes: An int, or a tuple whose last entry is the number of classes.
        kernel_initializer: Defaults to orthogonal with gain 0.01 (a nearly uniform initial
            policy).
        bias_initializer: For the logits bias.
        kernel_regularizer, bias_regularizer: Optional Keras regularizers.
        validate_args: Passed to the TFP distributions; also asserts that every mask row allows an
            action.
        **kwargs: Passed to `keras.layers.Layer`.

    Call arguments:
        inputs: `[batch, ..., features]`.
        action_mask: Optional, boolean (or 0/1) of shape `[batch, ..., *num_classes]`; True marks
            an allowed action.

    Output: a distribution with batch shape `[batch, ...]`; a functional model sees it as an int32
        tensor `[batch, ..., *num_classes[:-1]]`.

    Raises:
        ValueError: For non-positive `num_classes` (at construction) or an `action_mask` whose shape
            does not fit the logits (when the layer is called, symbolically or not).

    Example:
        >>> obs = keras.Input((8,)); mask = keras.Input((4,), dtype="bool")
        >>> action = DenseCategorical(4)(keras.layers.Dense(32, activation="relu")(obs),
        ...                              action_mask=mask)
        >>> policy = keras.Model({"observation": obs, "action_mask": mask}, action)
    """

    sample_dtype = "int32"

    def __init__(
        self,
        num_classes,
        kernel_initializer=None,
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        validate_args: bool = False,
        **kwargs,
    ):
        logits_shape = event_shape_arg(
            num_classes, "num_classes", "DenseCategorical", allow_scalar=False
        )
        super().__init__(
            logits_shape[:-1],
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            kernel_regularizer=kernel_regularizer,
            bias_regularizer=bias_regularizer,
            validate_args=validate_args,
            **kwargs,
        )
        self.logits_shape = logits_shape

    @property
    def num_classes(self) -> int:
        return self.logits_shape[-1]

    def build(self, input_shape):
        features = input_features(input_shape, "DenseCategorical")
        self.logits_kernel, self.logits_bias = self.add_projection(
            "logits", features, self.logits_shape
        )

    def _check_mask_shape(self, inputs_shape, mask_shape) -> None:
        expected = tf.TensorShape(inputs_shape[:-1]).concatenate(self.logits_shape)
        if not tf.TensorShape(mask_shape).is_compatible_with(expected):
            raise ValueError(
                f"DenseCategorical: `action_mask` must have the shape of the logits, {expected} "
                f"(inputs {tuple(inputs_shape)}, num_classes {self.logits_shape}); received "
                f"{tuple(mask_shape)}."
            )

    def compute_output_spec(self, inputs, action_mask=None):
        if action_mask is not None:
            self._check_mask_shape(inputs.shape, action_mask.shape)
        return super().compute_output_spec(inputs)

    def call(self, inputs, action_mask=None):
        logits = self.project(inputs, self.logits_kernel, self.logits_bias, self.logits_shape)
        if action_mask is not None:
            self._check_mask_shape(inputs.shape, action_mask.shape)
            allowed = tf.cast(action_mask, tf.bool)
            none_allowed = ~tf.reduce_any(allowed, axis=-1)
            if self.validate_args:
                rows = tf.where(none_allowed)
                message = f"DenseCategorical '{self.name}': the `action_mask` allows no action in"
                check = tf.debugging.Assert(
                    tf.shape(rows)[0] == 0, [message, "the rows (batch, ...)", rows], summarize=8
                )
                with tf.control_dependencies([check]):
                    allowed = tf.identity(allowed)
            # The most negative finite logit: softmax gives exactly zero probability, while
            # log-probabilities and 0 * log 0 in the entropy stay finite (unlike with -inf).
            logits = tf.where(allowed, logits, logits.dtype.min)
        distribution = self.independent(
            tfd.Categorical(logits=logits, validate_args=self.validate_args)
        )
        if action_mask is not None:
            distribution.all_masked_rows = none_allowed  # read by `all_masked_rows`
        return distribution

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(num_classes=self.logits_shape)
        return config
