"""Helpers shared by the layer tests."""

import keras
import numpy as np
import tensorflow as tf


def assert_gradients_reach_every_weight(model, loss_fn) -> None:
    """Every trainable weight of `model` gets a finite, non-zero gradient from `loss_fn()`."""
    assert model.trainable_weights, "the model has no trainable weights"
    with tf.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, model.trainable_weights)
    for weight, grad in zip(model.trainable_weights, grads, strict=True):
        assert grad is not None, f"no gradient reaches {weight.path}"
        grad = tf.convert_to_tensor(grad).numpy()
        assert np.all(np.isfinite(grad)), f"non-finite gradient for {weight.path}"
        assert np.any(grad != 0.0), f"zero gradient for {weight.path}"


def save_and_load(model, tmp_path):
    path = str(tmp_path / "model.keras")
    model.save(path)
    return keras.models.load_model(path)


def config_round_trip(layer):
    """A new layer from `layer.get_config()`, checked to reproduce the same config."""
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    return clone
