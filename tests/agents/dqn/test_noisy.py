"""Noisy DQN (`q_network(noisy=True)`): noisy layers throughout, acting noise in the policy
state redrawn at episode starts, evaluation on the means, and fresh noise per replayed row."""

import dataclasses

import keras
import numpy as np
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import DQNAgent, DQNConfig
from reinforceable.agents.dqn import q_network
from reinforceable.layers import NoisyDense, noisy_layers

CONFIG = DQNConfig(batch_size=16, buffer_capacity=1000, warmup_steps=32, steps_per_iteration=16,
                   exploration_initial=0.0, exploration_final=0.0, seed=0)  # fmt: skip


def _agent(noisy=True, **network):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("CartPole-v1", 4, seed=0)
    model = q_network(env, hidden=(16,), noisy=noisy, noisy_sample_freq=-1, **network)
    return DQNAgent(model, env, CONFIG), env


def test_every_layer_after_the_encoder_is_noisy():
    agent, _ = _agent(dueling=True)
    names = sorted(layer.name for layer in noisy_layers(agent.model))
    assert names == ["hidden_0", "q", "value"]
    assert not any(isinstance(layer, keras.layers.Dense) for layer in agent.model.layers)
    assert all(isinstance(layer, NoisyDense) for layer in noisy_layers(agent.target))


def test_acting_noise_is_per_environment_and_held_for_the_episode():
    agent, env = _agent()
    policy = agent.actor.policy
    timestep = tf.nest.map_structure(tf.convert_to_tensor, env.reset())
    state = policy.initial_state(4)
    step = policy.step(timestep, state, tf.constant([0, 1]))
    noise = step.state["noise"]["hidden_0"]["in"].numpy()
    assert not np.allclose(noise[0], noise[1])  # each environment its own draw
    later = timestep._replace(episode_start=tf.constant([False, True, False, False]))
    again = policy.step(later, step.state, tf.constant([0, 2]))
    redrawn = again.state["noise"]["hidden_0"]["in"].numpy()
    np.testing.assert_array_equal(
        redrawn[[0, 2, 3]], noise[[0, 2, 3]]
    )  # held (at episode starts only)
    assert not np.allclose(redrawn[1], noise[1])  # a new episode: a new draw
    # Evaluation acts on the means: the network without noise.
    greedy = agent.actor.eval_policy.step(timestep, (), tf.constant([0, 3])).action.numpy()
    np.testing.assert_array_equal(greedy, np.argmax(agent.model(timestep.observation), -1))


def test_the_learner_draws_fresh_noise_per_replayed_row():
    def q_means(noisy):
        """The Q mean of one update under two seeds, on a replay of one repeated transition
        (so every seed replays the same batch: only the noise can differ)."""
        agent, _ = _agent(noisy)
        agent.set_budget(1000)
        one = agent.buffer.item_spec
        rows = tf.nest.map_structure(lambda s: tf.ones([32, *s.shape], s.dtype), one)
        agent.buffer.add(rows)
        step = tf.function(agent._gradient_step)
        before = [w.numpy() for w in agent.model.weights]
        means = []
        for seed in ([5, 6], [7, 8]):
            means.append(float(step(tf.constant(seed))[1][1]))
            for weight, value in zip(agent.model.weights, before, strict=True):
                weight.assign(value)
        return means

    noisy = q_means(noisy=True)
    assert noisy[0] != noisy[1]
    plain = q_means(noisy=False)
    assert plain[0] == plain[1]


def test_noisy_dqn_trains_and_reloads(tmp_path):
    agent, env = _agent()
    agent.fit(256)
    agent.save(tmp_path / "agent")
    loaded = rf.agents.Agent.load(tmp_path / "agent")
    observation = env.reset().observation
    np.testing.assert_array_equal(
        loaded.predict(observation, deterministic=True)[0],
        agent.predict(observation, deterministic=True)[0],
    )
    assert dataclasses.asdict(loaded.config) == dataclasses.asdict(CONFIG)
