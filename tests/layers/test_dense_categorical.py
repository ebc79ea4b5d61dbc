import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable.layers import DenseCategorical
from tests.conftest import run
from tests.layers.common import (
    assert_gradients_reach_every_weight,
    config_round_trip,
    save_and_load,
)

tfd = tfp.distributions


@pytest.mark.parametrize("input_shape", [(5, 8), (5, 7, 8)], ids=["batch", "batch+time"])
def test_shapes_for_batch_and_time_inputs(input_shape):
    dist = DenseCategorical(4)(tf.random.normal(input_shape))
    assert isinstance(dist, tfd.Categorical)
    assert dist.batch_shape == input_shape[:-1] and dist.event_shape == []
    assert dist.logits_parameter().shape == (*input_shape[:-1], 4)
    sample = dist.sample()
    assert sample.shape == input_shape[:-1] and sample.dtype == tf.int32


def test_tuple_num_classes_gives_independent_categoricals():
    layer = DenseCategorical((3, 5))
    dist = layer(tf.random.normal([6, 8]))
    assert dist.batch_shape == [6] and dist.event_shape == [3]
    assert int(dist.sample(100).numpy().max()) <= 4
    assert [w.shape for w in layer.trainable_weights] == [(8, 15), (15,)]


def test_initial_policy_is_nearly_uniform():
    dist = DenseCategorical(4)(tf.random.normal([32, 8]))
    np.testing.assert_allclose(dist.probs_parameter().numpy(), 0.25, atol=0.01)


def test_masked_actions_are_never_sampled():
    layer = DenseCategorical(5, kernel_initializer="glorot_uniform")
    x = tf.random.normal([8, 4])
    mask = np.ones([8, 5], bool)
    mask[:, 1] = False
    mask[np.arange(8), np.arange(8) % 5] = False  # a different action masked in each row too
    mask[3] = [False, False, False, True, False]  # only one allowed action
    dist = layer(x, action_mask=tf.constant(mask))
    samples = dist.sample(10_000, seed=(1, 2)).numpy()  # [10000, 8]
    for row in range(8):
        allowed = set(np.flatnonzero(mask[row]))
        assert set(np.unique(samples[:, row])) <= allowed
    assert np.all(samples[:, 3] == 3)
    probs = dist.probs_parameter().numpy()
    assert np.all(probs[~mask] == 0.0)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-6)
    # Entropy and log-probs of allowed actions stay finite; masked actions get ~-inf log-prob.
    assert np.all(np.isfinite(dist.entropy().numpy()))
    assert np.all(dist.log_prob(np.full([8], 1)).numpy() < -1e30)


def test_mask_gradients_stay_finite_and_mode_respects_mask():
    layer = DenseCategorical(3, kernel_initializer="ones")
    x = tf.ones([2, 4])
    mask = tf.constant([[False, True, True], [True, True, False]])
    layer(x, action_mask=mask)

    def loss():
        dist = layer(x, action_mask=mask)
        return -tf.reduce_sum(dist.entropy()) - tf.reduce_sum(dist.log_prob([1, 0]))

    assert_gradients_reach_every_weight(layer, loss)
    mode = layer(x * 10.0, action_mask=mask).mode().numpy()
    assert mode[0] != 0 and mode[1] != 2


def test_eager_and_tf_function_agree(mode):
    layer = DenseCategorical(4, kernel_initializer="glorot_uniform")
    x = tf.random.normal([6, 3])
    mask = tf.constant([[True, False, True, True]] * 6)
    layer(x)

    def compute(inputs):
        dist = layer(inputs, action_mask=mask)
        return dict(
            probs=dist.probs_parameter(), entropy=dist.entropy(), sample=dist.sample(seed=(3, 4))
        )

    eager, other = run(compute, "eager", x), run(compute, mode, x)
    np.testing.assert_allclose(other["probs"], eager["probs"], rtol=1e-6)
    np.testing.assert_allclose(other["entropy"], eager["entropy"], rtol=1e-6)
    np.testing.assert_array_equal(other["sample"], eager["sample"])


def test_config_round_trip_and_save_load_with_a_mask_input(tmp_path):
    layer = DenseCategorical((2, 3))
    assert config_round_trip(layer).logits_shape == (2, 3)

    obs = keras.Input((4,), name="observation")
    mask = keras.Input((2, 3), dtype="bool", name="action_mask")
    model = keras.Model({"observation": obs, "action_mask": mask}, layer(obs, action_mask=mask))
    inputs = {
        "observation": tf.random.normal([5, 4]),
        "action_mask": tf.constant([[[True, False, True], [False, True, True]]] * 5),
    }
    loaded = save_and_load(model, tmp_path)
    np.testing.assert_allclose(
        model(inputs).distribution.logits_parameter().numpy(),
        loaded(inputs).distribution.logits_parameter().numpy(),
    )


@pytest.mark.parametrize("num_classes", [0, -3, (), (2, 0), 2.5, True])
def test_bad_num_classes_raise_at_construction(num_classes):
    with pytest.raises(ValueError, match="`num_classes` must be a positive int"):
        DenseCategorical(num_classes)


def test_mask_that_does_not_fit_the_logits_raises_when_the_model_is_built():
    obs = keras.Input((4,))
    mask = keras.Input((5,), dtype="bool")
    with pytest.raises(ValueError, match=r"`action_mask` must have the shape of the logits"):
        DenseCategorical(3)(obs, action_mask=mask)
    with pytest.raises(ValueError, match=r"received \(2, 2\)"):
        DenseCategorical(3)(tf.zeros([2, 4]), action_mask=tf.ones([2, 2], bool))
