"""FoldTime: the same numbers as applying the layer step by step, in one call, and it saves."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from tests.conftest import run
from tests.layers.common import config_round_trip, save_and_load


def _cnn():
    return keras.Sequential(
        [keras.layers.Conv2D(4, 3, strides=2, activation="relu"), keras.layers.Flatten()]
    )


def test_matches_the_layer_applied_to_each_step(mode):
    layer = rf.layers.FoldTime(_cnn())
    frames = tf.random.stateless_uniform([2, 3, 9, 9, 2], [1, 2])
    outputs = run(layer, mode, frames)
    assert outputs.shape == (2, 3, 4 * 4 * 4)
    for t in range(3):
        np.testing.assert_allclose(outputs[:, t], layer.layer(frames[:, t]).numpy(), rtol=1e-5)


def test_in_a_recurrent_functional_policy_that_saves_and_loads(tmp_path):
    frames = keras.Input((None, 9, 9, 2), name="observation")
    start = keras.Input((None,), dtype="bool", name="episode_start")
    features = rf.layers.FoldTime(_cnn())(frames)
    hidden = rf.StatefulRNN("gru", 8)(features, reset_mask=start)
    model = keras.Model(
        {"observation": frames, "episode_start": start}, rf.DenseCategorical(3)(hidden)
    )
    inputs = {
        "observation": tf.random.stateless_uniform([2, 4, 9, 9, 2], [3, 4]),
        "episode_start": tf.constant([[True, False, False, False]] * 2),
    }
    rf.reset_recurrent_state(model)
    logits = model(inputs).logits_parameter().numpy()
    loaded = save_and_load(model, tmp_path)
    rf.reset_recurrent_state(loaded)
    np.testing.assert_allclose(loaded(inputs).logits_parameter().numpy(), logits, rtol=1e-5)
    config_round_trip(rf.layers.FoldTime(_cnn()))


def test_rejects_inputs_without_a_time_axis_and_non_layers():
    with pytest.raises(ValueError, match=r"\[batch, time, \.\.\.\]"):
        rf.layers.FoldTime(keras.layers.Dense(2))(keras.Input((3,)))
    with pytest.raises(TypeError, match="`layer` must be a keras Layer"):
        rf.layers.FoldTime(lambda x: x)
