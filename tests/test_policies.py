"""Hybrid (discrete + continuous) and recurrent policies built from the layers, end to end."""

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

import reinforceable as rf
from tests.conftest import run
from tests.layers.common import assert_gradients_reach_every_weight, save_and_load

tfd = tfp.distributions


def tuple_policy():
    obs = keras.Input((6,))
    x = keras.layers.Dense(32, activation="tanh")(obs)
    heads = (
        rf.DenseNormal((2,), output_bounds=[-1.0, 1.0], hard_bounds=True)(x),
        rf.DenseCategorical(3)(x),
    )
    return keras.Model(obs, heads)


def nested_recurrent_policy():
    """A recurrent hybrid policy with a nested dict of heads and an action mask.

    Functional models fix the rank of their inputs, so it declares a time axis: [batch, time, ...].
    """
    obs = keras.Input((None, 6), name="observation")
    start = keras.Input((None,), dtype="bool", name="episode_start")
    mask = keras.Input((None, 3), dtype="bool", name="action_mask")
    x = keras.layers.Dense(32, activation="tanh")(obs)
    x = rf.StatefulRNN("gru", 16)(x, reset_mask=start)
    heads = {
        "move": rf.DenseNormal((2,), output_bounds=[[-1.0, 1.0], [0.0, 4.0]], hard_bounds=True)(x),
        "discrete": {
            "axis": rf.DenseCategorical(3)(x, action_mask=mask),
            "done": rf.DenseBernoulli(())(x),
        },
    }
    return keras.Model({"observation": obs, "episode_start": start, "action_mask": mask}, heads)


class SubclassedPolicy(keras.Model):
    """A subclassed recurrent hybrid policy: it accepts [batch, obs] and [batch, time, obs]."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.torso = keras.layers.Dense(32, activation="relu")
        self.rnn = rf.StatefulRNN("lstm", 16)
        self.move = rf.DenseNormal((2,), output_bounds=[-2.0, 2.0])
        self.choice = rf.DenseCategorical(4)

    def call(self, observation, episode_start=None):
        x = self.rnn(self.torso(observation), reset_mask=episode_start)
        return {"move": self.move(x), "choice": self.choice(x)}


def recurrent_inputs(batch=4, time=5):
    rng = np.random.default_rng(0)
    start = np.zeros([batch, time], bool)
    start[:, 0] = True
    start[1, 3] = True
    mask = np.ones([batch, time, 3], bool)
    mask[..., 2] = False
    return {
        "observation": tf.constant(rng.normal(size=[batch, time, 6]), tf.float32),
        "episode_start": tf.constant(start),
        "action_mask": tf.constant(mask),
    }


def test_functional_tuple_heads_return_distributions():
    policy = tuple_policy()
    move, axis = policy(tf.random.normal([5, 6]))
    assert isinstance(move, rf.BoundedNormal) and isinstance(axis, tfd.Categorical)
    action = rf.Joint((move, axis)).sample()
    assert action[0].shape == (5, 2) and action[1].shape == (5,)


def test_nested_recurrent_policy_gives_a_joint_action_distribution():
    policy = nested_recurrent_policy()
    dist = rf.Joint(policy(recurrent_inputs()))
    action = dist.sample(seed=(1, 2))
    assert action["move"].shape == (4, 5, 2)
    assert action["discrete"]["axis"].shape == (4, 5)
    assert action["discrete"]["done"].shape == (4, 5)
    assert not np.any(action["discrete"]["axis"].numpy() == 2)  # masked
    assert dist.log_prob(action).shape == (4, 5) and dist.entropy().shape == (4, 5)
    assert np.all(np.isfinite(dist.log_prob(action).numpy()))


def test_subclassed_policy_runs_steps_and_sequences_with_the_same_numbers():
    policy = SubclassedPolicy()
    obs = tf.random.normal([3, 4, 6])
    starts = tf.constant([[True, False, False, False]] * 3)
    sequence = policy(obs, episode_start=starts)
    rf.reset_recurrent_state(policy)
    steps = [policy(obs[:, t], episode_start=starts[:, t]) for t in range(4)]
    for t in range(4):
        np.testing.assert_allclose(
            steps[t]["choice"].logits_parameter().numpy(),
            sequence["choice"].logits_parameter().numpy()[:, t],
            rtol=1e-5,
            atol=1e-6,
        )
        np.testing.assert_allclose(
            steps[t]["move"].mean().numpy(),
            sequence["move"].mean().numpy()[:, t],
            rtol=1e-5,
            atol=1e-6,
        )


@pytest.mark.parametrize("build", [tuple_policy, nested_recurrent_policy, SubclassedPolicy])
def test_gradients_reach_every_weight_eagerly_and_in_tf_function(build, mode):
    policy = build()
    if build is tuple_policy:
        inputs = (tf.random.normal([8, 6]),)
    elif build is nested_recurrent_policy:
        inputs = (recurrent_inputs(),)
    else:
        inputs = (tf.random.normal([4, 5, 6]), tf.constant([[True] + [False] * 4] * 4))
    action = rf.Joint(policy(*inputs)).sample(seed=(3, 4))

    def loss():
        rf.reset_recurrent_state(policy)
        dist = rf.Joint(policy(*inputs))
        return -tf.reduce_mean(dist.log_prob(action)) - 0.01 * tf.reduce_mean(dist.entropy())

    if mode == "tf.function":
        loss = tf.function(loss)
    assert_gradients_reach_every_weight(policy, loss)


def test_eager_and_tf_function_give_equal_results(mode):
    policy = nested_recurrent_policy()
    inputs = recurrent_inputs()
    policy(inputs)

    def compute(inputs):
        rf.reset_recurrent_state(policy)
        dist = rf.Joint(policy(inputs))
        action = dist.sample(seed=(5, 6))
        return dict(
            action=action, log_prob=dist.log_prob(action), entropy=dist.entropy(), mode=dist.mode()
        )

    eager, other = run(compute, "eager", inputs), run(compute, mode, inputs)
    for key in ("log_prob", "entropy"):
        np.testing.assert_allclose(other[key], eager[key], rtol=1e-5, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(other["mode"]["move"], eager["mode"]["move"], rtol=1e-5)
    np.testing.assert_array_equal(
        other["action"]["discrete"]["axis"], eager["action"]["discrete"]["axis"]
    )


def parameters(outputs):
    """The numbers that define each head's distribution."""
    move = outputs["move"].distribution.distribution
    return {
        "move_loc": move.loc.numpy(),
        "move_scale": move.scale.numpy(),
        "axis_logits": outputs["discrete"]["axis"].logits_parameter().numpy(),
        "done_logits": outputs["discrete"]["done"].logits_parameter().numpy(),
    }


def test_recurrent_hybrid_policy_survives_save_and_load(tmp_path):
    policy = nested_recurrent_policy()
    inputs = recurrent_inputs()
    # Train one step so the weights are not the initial ones.
    optimizer = keras.optimizers.Adam(0.05)
    with tf.GradientTape() as tape:
        dist = rf.Joint(policy(inputs))
        loss = -tf.reduce_mean(dist.log_prob(dist.sample(seed=(1, 1))))
    optimizer.apply_gradients(
        zip(tape.gradient(loss, policy.trainable_weights), policy.trainable_weights, strict=True)
    )

    loaded = save_and_load(policy, tmp_path)
    rf.reset_recurrent_state(policy)
    rf.reset_recurrent_state(loaded)
    expected, actual = parameters(policy(inputs)), parameters(loaded(inputs))
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-6, err_msg=key)
    # Carrying the state on: the next chunk also matches.
    expected, actual = parameters(policy(inputs)), parameters(loaded(inputs))
    for key in expected:
        np.testing.assert_allclose(actual[key], expected[key], rtol=1e-6, err_msg=key)
