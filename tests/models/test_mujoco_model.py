"""MujocoModel: steps and sequence costs agree with the gymnasium env; clear errors."""

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.models.mujoco_model import inverted_pendulum_reward

pytest.importorskip("mujoco")


def test_step_and_sequence_cost_match_the_env():
    model = rf.models.MujocoModel("InvertedPendulum-v5", num_threads=2)
    env = gym.make("InvertedPendulum-v5")
    observation, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    actions = rng.uniform(-0.5, 0.5, size=(1, 3, 10, 1))
    costs = model.sequence_cost(tf.constant([observation], tf.float64), tf.constant(actions))
    for k in range(3):
        replay = gym.make("InvertedPendulum-v5")
        replay.reset(seed=3)
        sim = replay.unwrapped
        total, before = 0.0, sim.data.qpos.copy()
        for t in range(10):
            state = tf.constant([np.concatenate([sim.data.qpos, sim.data.qvel])])
            predicted = model.step(state, tf.constant([actions[0, k, t]])).numpy()[0]
            sim.do_simulation(actions[0, k, t], sim.frame_skip)
            np.testing.assert_allclose(
                predicted, np.concatenate([sim.data.qpos, sim.data.qvel]), atol=1e-9
            )
            total += inverted_pendulum_reward(
                before, sim.data.qpos, sim.data.qvel, actions[0, k, t], sim.dt
            )
            before = sim.data.qpos.copy()
        np.testing.assert_allclose(costs.numpy()[0, k], -total, rtol=1e-9)


def test_observation_must_be_the_state_and_a_reward_must_exist():
    with pytest.raises(ValueError, match="exclude_current_positions_from_observation=False"):
        rf.models.MujocoModel("HalfCheetah-v5")
    with pytest.raises(ValueError, match="no built-in reward for 'Swimmer-v5'"):
        rf.models.MujocoModel("Swimmer-v5")
    with pytest.raises(ValueError, match="unknown environment id"):
        rf.models.MujocoModel("NoSuchEnv-v0")
    model = rf.models.MujocoModel(
        "HalfCheetah-v5", exclude_current_positions_from_observation=False
    )
    assert (model.state_dim, model.action_dim) == (18, 6)


def test_mppi_feedback_refuses_a_simulator_it_cannot_linearise():
    model = rf.models.MujocoModel("InvertedPendulum-v5", num_threads=2)
    config = rf.planning.MPPIConfig(num_samples=4, horizon=2, feedback=True)
    with pytest.raises(ValueError, match="`feedback=True` needs a model whose `step` and `cost`"):
        rf.planning.MPPI(model, config)
