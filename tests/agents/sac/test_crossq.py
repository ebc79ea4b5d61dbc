"""CrossQ in SAC: the current and next state-actions go through each critic in one training
batch, no target critic is used or moved, the actor sees the critics in inference mode; batch
renormalisation's maths; and the refusals."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import SACAgent, SACConfig
from reinforceable.layers import BatchRenormalization, normalization_layers
from reinforceable.networks import sac_actor


class Spy:
    """A critic that records the rows and the `training` flag of each (traced) call."""

    def __init__(self, model, calls):
        self.model, self.calls = model, calls

    def __call__(self, inputs, training=None):
        self.calls.append((int(inputs.shape[0]), training))
        return self.model(inputs, training=training)

    def __getattr__(self, name):  # weights, for the Polyak step
        return getattr(self.model, name)


def _agent(**changes):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("Pendulum-v1", 1, seed=0)
    values = dict(crossq=True, hidden=(16, 16), batch_size=8, warmup_steps=16,
                  steps_per_iteration=16, seed=0)  # fmt: skip
    return SACAgent(sac_actor(env, hidden=(16,)), env, SACConfig(**{**values, **changes}))


def _observe(agent, steps):
    """Stores `steps` steps of the agent's actor (not `fit`: its checkpoint takes no spies)."""
    driver = rf.Driver(agent.policy, rf.GymEnv("Pendulum-v1", 1, seed=0), seed=0)
    agent.observe(driver.run(steps=steps))


def test_current_and_next_go_through_each_critic_in_one_training_batch():
    agent = _agent()
    critic_calls, target_calls = [], []
    agent.critics = [Spy(c, critic_calls) for c in agent.critics]
    targets_before = [t.get_weights() for t in agent.target_critics]
    agent.target_critics = [Spy(t, target_calls) for t in agent.target_critics]
    _observe(agent, 64)
    metrics = agent.update()
    # Each critic: once on 8 current + 8 next rows in training mode (the critic step), once on
    # the 8 current rows in inference mode (the actor step).
    assert sorted(critic_calls) == sorted([(16, True), (8, False)] * 2)
    assert target_calls == []
    for before, target in zip(targets_before, agent.target_critics, strict=True):
        for a, b in zip(before, target.model.get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
    renorm = agent.critics[0].model.get_layer("input_renorm")
    # One training call per gradient update, none for the actor.
    assert int(renorm.steps.numpy()) == metrics["losses/updates"] == 64


def test_plain_sac_keeps_its_target_critics():
    agent = _agent(crossq=False)
    calls = []
    agent.target_critics = [Spy(t, calls) for t in agent.target_critics]
    _observe(agent, 32)
    agent.update()
    assert calls and all(rows == 8 for rows, _ in calls)
    assert not normalization_layers(agent.critics[0])


def test_batch_renormalization_maths():
    layer = BatchRenormalization(momentum=0.9, r_max=1.5, d_max=0.5, warmup=1)
    x = tf.constant([[0.0, 10.0], [2.0, 14.0], [4.0, 12.0]])
    layer.build(x.shape)
    mean, std = np.array([2.0, 12.0]), np.sqrt(np.array([8 / 3, 8 / 3]) + 1e-3)
    # Warm-up: batch normalisation, then the moving statistics move 10% of the way.
    np.testing.assert_allclose(layer(x, training=True), (x - mean) / std, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_mean, 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(layer.moving_std, 0.9 + 0.1 * std, rtol=1e-5)
    # After: r and d correct towards the moving statistics, within their clips.
    moving_mean, moving_std = layer.moving_mean.numpy(), layer.moving_std.numpy()
    r = np.clip(std / moving_std, 1 / 1.5, 1.5)
    d = np.clip((mean - moving_mean) / moving_std, -0.5, 0.5)
    np.testing.assert_allclose(layer(x, training=True), (x - mean) / std * r + d, rtol=1e-5)
    moving_mean, moving_std = layer.moving_mean.numpy(), layer.moving_std.numpy()
    np.testing.assert_allclose(layer(x), (x - moving_mean) / moving_std, rtol=1e-5)
    # r and d carry no gradient: the batch's statistics do.
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layer(x, training=True)[:, 0] ** 3)
    assert np.all(np.isfinite(tape.gradient(y, x).numpy()))


def test_refusals():
    inputs = keras.Input((4,))
    plain = keras.Model(inputs, keras.layers.Reshape(())(keras.layers.Dense(1)(inputs)))
    env = rf.GymEnv("Pendulum-v1", 1)
    with pytest.raises(ValueError, match=r"CrossQ.*normalisation layers"):
        SACAgent(sac_actor(env), env, SACConfig(crossq=True), critic=plain)
    normalised = keras.Model(
        inputs,
        keras.layers.Reshape(())(keras.layers.Dense(1)(keras.layers.BatchNormalization()(inputs))),
    )
    SACAgent(sac_actor(env), env, SACConfig(crossq=True), critic=normalised)
    with pytest.raises(TypeError, match="crossq"):
        SACConfig(crossq=1)
    with pytest.raises(ValueError, match="r_max"):
        BatchRenormalization(r_max=0.5)
    with pytest.raises(ValueError, match="crossq"):
        rf.agents.RecurrentSACAgent(
            sac_actor(env, recurrent="gru"), env, rf.agents.RecurrentSACConfig(crossq=True)
        )
