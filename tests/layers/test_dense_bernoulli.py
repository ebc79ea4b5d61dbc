import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable.layers import DenseBernoulli
from tests.conftest import run
from tests.layers.common import (
    assert_gradients_reach_every_weight,
    config_round_trip,
    save_and_load,
)

tfd = tfp.distributions


@pytest.mark.parametrize("input_shape", [(5, 8), (5, 7, 8)], ids=["batch", "batch+time"])
@pytest.mark.parametrize("output_shape, event", [((), ()), (3, (3,)), ((2, 2), (2, 2))])
def test_shapes_for_batch_and_time_inputs(input_shape, output_shape, event):
    dist = DenseBernoulli(output_shape)(tf.random.normal(input_shape))
    assert dist.batch_shape == input_shape[:-1] and dist.event_shape == event
    sample = dist.sample()
    assert sample.shape == input_shape[:-1] + event and sample.dtype == tf.int32
    assert set(np.unique(dist.sample(50).numpy())) <= {0, 1}


def test_gradients_and_initial_probabilities():
    layer = DenseBernoulli(3)
    x = tf.random.normal([16, 4])
    np.testing.assert_allclose(layer(x).distribution.probs_parameter().numpy(), 0.5, atol=0.02)
    action = tf.constant(np.random.default_rng(0).integers(0, 2, [16, 3]), tf.int32)
    assert_gradients_reach_every_weight(layer, lambda: -tf.reduce_sum(layer(x).log_prob(action)))


def test_eager_and_tf_function_agree(mode):
    layer = DenseBernoulli(2, kernel_initializer="glorot_uniform")
    x = tf.random.normal([6, 3])
    layer(x)

    def compute(inputs):
        dist = layer(inputs)
        return dict(entropy=dist.entropy(), sample=dist.sample(seed=(5, 6)))

    eager, other = run(compute, "eager", x), run(compute, mode, x)
    np.testing.assert_allclose(other["entropy"], eager["entropy"], rtol=1e-6)
    np.testing.assert_array_equal(other["sample"], eager["sample"])


def test_config_round_trip_and_save_load(tmp_path):
    layer = DenseBernoulli((2, 2))
    assert config_round_trip(layer).event_shape == (2, 2)
    inputs = keras.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    x = tf.random.normal([3, 4])
    np.testing.assert_allclose(
        model(x).distribution.logits_parameter().numpy(),
        save_and_load(model, tmp_path)(x).distribution.logits_parameter().numpy(),
    )


@pytest.mark.parametrize("output_shape", [0, (3, 0), "3", None])
def test_bad_output_shape_raises_at_construction(output_shape):
    with pytest.raises(ValueError, match="`output_shape` must be a positive int"):
        DenseBernoulli(output_shape)
