import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable.distributions import BoundedNormal
from reinforceable.layers import DenseNormal
from tests.conftest import run
from tests.layers.common import (
    assert_gradients_reach_every_weight,
    config_round_trip,
    save_and_load,
)

tfd = tfp.distributions


@pytest.mark.parametrize("input_shape", [(5, 8), (5, 7, 8)], ids=["batch", "batch+time"])
@pytest.mark.parametrize("output_shape", [2, (2,), (2, 3)])
def test_shapes_for_batch_and_time_inputs(input_shape, output_shape):
    event = (output_shape,) if isinstance(output_shape, int) else output_shape
    layer = DenseNormal(output_shape)
    dist = layer(tf.random.normal(input_shape))
    assert isinstance(dist, tfd.Independent)
    assert dist.batch_shape == input_shape[:-1] and dist.event_shape == event
    assert dist.sample().shape == input_shape[:-1] + event
    assert dist.log_prob(dist.sample()).shape == input_shape[:-1]


@pytest.mark.parametrize(
    "state_dependent_scale, weights",
    [
        (False, ["loc_kernel", "loc_bias", "scale_bias"]),
        (True, ["loc_kernel", "loc_bias", "scale_kernel", "scale_bias"]),
    ],
)
def test_weights_and_initial_scale(state_dependent_scale, weights):
    layer = DenseNormal((3,), state_dependent_scale=state_dependent_scale, initial_scale=0.6)
    dist = layer(tf.random.normal([4, 8]))
    assert [w.name for w in layer.trainable_weights] == weights
    # The initial scale is exactly `initial_scale` for a state-independent scale, and close to it
    # for a state-dependent one (small initial kernel).
    np.testing.assert_allclose(
        dist.distribution.scale.numpy(), 0.6, rtol=1e-6 if not state_dependent_scale else 0.05
    )


def test_soft_bounds_squash_the_mean_into_the_bounds():
    bounds = [[-1.0, 1.0], [2.0, 10.0]]
    layer = DenseNormal((2,), output_bounds=bounds, kernel_initializer="ones")
    dist = layer(100.0 * tf.random.normal([256, 4]))  # pushes the raw location far out
    assert isinstance(dist, tfd.Independent)
    mean = dist.mean().numpy()
    assert np.all(mean >= [-1.0, 2.0]) and np.all(mean <= [1.0, 10.0])
    assert mean.min(axis=0)[1] < 2.1 and mean.max(axis=0)[1] > 9.9  # really saturates


def test_hard_bounds_give_a_bounded_normal_whose_samples_stay_inside():
    layer = DenseNormal(
        (2,), output_bounds=[[-1.0, 1.0], [0.0, 5.0]], hard_bounds=True, initial_scale=3.0
    )
    dist = layer(tf.random.normal([64, 4]))
    assert isinstance(dist, BoundedNormal)
    samples = dist.sample(100).numpy()
    assert np.all(samples >= [-1.0, 0.0]) and np.all(samples <= [1.0, 5.0])
    assert np.all(np.isfinite(dist.log_prob(samples).numpy()))


@pytest.mark.parametrize("hard_bounds", [False, True])
def test_gradients_reach_every_weight(hard_bounds):
    layer = DenseNormal(
        (2,), output_bounds=[-2.0, 2.0], hard_bounds=hard_bounds, state_dependent_scale=True
    )
    x = tf.random.normal([16, 6])
    action = tf.random.uniform([16, 2], -1.5, 1.5)
    layer(x)

    def loss():
        dist = layer(x)
        return -tf.reduce_mean(dist.log_prob(action)) - tf.reduce_mean(dist.entropy())

    assert_gradients_reach_every_weight(layer, loss)


def test_eager_and_tf_function_agree(mode):
    layer = DenseNormal((3,), output_bounds=[-1.0, 1.0], hard_bounds=True)
    x = tf.random.normal([5, 4])
    action = tf.random.uniform([5, 3], -0.9, 0.9)
    layer(x)

    def compute(inputs):
        dist = layer(inputs)
        return dict(
            log_prob=dist.log_prob(action),
            mean=dist.mean(),
            entropy=dist.entropy(),
            sample=dist.sample(seed=(1, 2)),
        )

    eager, other = run(compute, "eager", x), run(compute, mode, x)
    for key in eager:
        np.testing.assert_allclose(other[key], eager[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_config_round_trip_and_save_load(tmp_path):
    layer = DenseNormal(
        (2,),
        output_bounds=[[-1.0, 1.0], [0.0, 3.0]],
        hard_bounds=True,
        state_dependent_scale=True,
        initial_scale=0.5,
        min_scale=1e-3,
    )
    clone = config_round_trip(layer)
    assert clone.hard_bounds and clone.state_dependent_scale
    np.testing.assert_array_equal(clone.output_bounds, layer.output_bounds)

    inputs = keras.Input((4,))
    model = keras.Model(inputs, layer(inputs))
    x = tf.random.normal([3, 4])
    loaded = save_and_load(model, tmp_path)
    for a, b in [(model(x), loaded(x))]:
        np.testing.assert_allclose(
            a.distribution.distribution.loc.numpy(), b.distribution.distribution.loc.numpy()
        )
        np.testing.assert_allclose(
            a.distribution.distribution.scale.numpy(), b.distribution.distribution.scale.numpy()
        )
        np.testing.assert_array_equal(a.bounds.numpy(), b.bounds.numpy())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(output_shape=0), "`output_shape` must be a positive int"),
        (dict(output_shape=(2, -1)), "`output_shape` must be a positive int"),
        (dict(output_shape=2, output_bounds=[1.0, -1.0]), "`output_bounds` must have low < high"),
        (dict(output_shape=2, output_bounds=[[0.0, 1.0], [1.0, 1.0]]), "low < high"),
        (
            dict(output_shape=2, output_bounds=[[0.0, 1.0]] * 3),
            r"`output_bounds` must have shape \(2, 2\).*received shape \(3, 2\)",
        ),
        (dict(output_shape=2, output_bounds=[0.0, 1.0, 2.0]), "`output_bounds` must have shape"),
        (dict(output_shape=2, output_bounds=[0.0, np.inf]), "must be finite"),
        (dict(output_shape=2, hard_bounds=True), "`hard_bounds=True` needs `output_bounds`"),
        (dict(output_shape=2, initial_scale=0.0), "`initial_scale` must be greater"),
        (dict(output_shape=2, min_scale=-1.0), "`min_scale` must be >= 0"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DenseNormal(**kwargs)


def test_inputs_without_known_features_are_rejected():
    with pytest.raises(ValueError, match="known number of features"):
        DenseNormal(2)(keras.Input((None,)))
