"""Critic ensembles in SAC: REDQ's minimum over a random subset and mean for the actor, DroQ's
dropout critics, a high update-to-data ratio without retracing, and the errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import RecurrentSACAgent, RecurrentSACConfig, SACAgent, SACConfig
from reinforceable.networks import sac_actor


class Constant(keras.Model):
    """A critic that returns `value` for every input."""

    def __init__(self, value):
        super().__init__()
        self.value = float(value)

    def call(self, inputs, training=None):
        return tf.fill([tf.shape(inputs)[0]], self.value)


def _agent(env_id="Pendulum-v1", **changes):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv(env_id, 2, seed=0)
    values = dict(hidden=(16,), batch_size=16, warmup_steps=32, steps_per_iteration=16, seed=0)
    return SACAgent(sac_actor(env, hidden=(16,)), env, SACConfig(**{**values, **changes}))


def test_the_target_takes_the_minimum_over_the_subset_and_the_actor_the_mean():
    agent = _agent()
    critics = [Constant(v) for v in (5.0, -1.0, 3.0, 0.5)]
    features, continuous = tf.zeros([2, 3]), tf.zeros([2, 1])
    q = agent.codec.q_all(critics, features, continuous, subset=tf.constant([0, 2]))
    np.testing.assert_allclose(q, [[3.0], [3.0]])
    np.testing.assert_allclose(agent.codec.q_all(critics, features, continuous), [[-1.0], [-1.0]])
    mean = agent.codec.q_all(critics, features, continuous, reduce="mean")
    np.testing.assert_allclose(mean, [[1.875], [1.875]])


def test_redq_draws_a_fresh_subset_of_distinct_critics_per_update():
    agent = _agent(n_critics=10, critic_subset=2)
    subsets = [tuple(agent._critic_subset(tf.constant([0, i])).numpy()) for i in range(20)]
    assert all(len(set(s)) == 2 and all(0 <= j < 10 for j in s) for s in subsets)
    assert len(set(subsets)) > 5
    assert subsets[3] == tuple(agent._critic_subset(tf.constant([0, 3])).numpy())
    assert agent._actor_reduce == "mean" and _agent()._actor_reduce == "min"


def test_redq_trains_ten_critics_at_a_high_update_ratio_with_one_trace():
    agent = _agent(n_critics=10, critic_subset=2, utd_ratio=10)
    assert len(agent.critics) == len(agent.target_critics) == 10
    history = agent.fit(96)
    assert [row["losses/updates"] for row in history] == [320.0, 320.0, 320.0]
    assert agent._update_graph.experimental_get_tracing_count() == 1
    assert np.isfinite(history[-1]["losses/critic_loss"])
    assert "critic_9" in agent.checkpoint_items() and "target_critic_9" in agent.checkpoint_items()


def test_droq_critics_drop_out_in_training_then_normalise():
    agent = _agent(critic_dropout=0.5)
    kinds = [type(layer).__name__ for layer in agent.critics[0].layers]
    assert kinds.count("Dropout") == 1 and kinds.count("LayerNormalization") == 1
    inputs = tf.ones([4, agent.critics[0].input.shape[-1]])
    np.testing.assert_array_equal(agent.critics[0](inputs), agent.critics[0](inputs))
    assert not np.array_equal(agent.critics[0](inputs, training=True),
                              agent.critics[0](inputs, training=True))  # fmt: skip
    history = agent.fit(64)
    assert np.isfinite(history[-1]["losses/critic_loss"])


def test_recurrent_sac_takes_the_ensemble_settings_too():
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("reinforceable/PendulumNoVel-v1", 2, seed=0)
    config = RecurrentSACConfig(batch_size=4, sequence_length=4, burn_in=1, overlap=2, units=8,
                                embedding=8, hidden=(8,), warmup_steps=16, steps_per_iteration=8,
                                n_critics=4, critic_subset=2, critic_dropout=0.1,
                                prioritized=True, seed=0)  # fmt: skip
    agent = RecurrentSACAgent(sac_actor(env, hidden=(8,), recurrent="gru", units=8), env, config)
    assert len(agent.critics) == 4
    history = agent.fit(48)
    assert np.isfinite(history[-1]["losses/critic_loss"])


def test_ensemble_settings_that_do_not_fit_are_refused_by_name():
    with pytest.raises(ValueError, match=r"`n_critics` \(2\) must be at least `critic_subset`"):
        SACConfig(critic_subset=3)
    with pytest.raises(ValueError, match="`critic_dropout` must be in"):
        SACConfig(critic_dropout=1.0)
    with pytest.raises(ValueError, match="`n_critics`"):
        SACConfig(n_critics=0)
