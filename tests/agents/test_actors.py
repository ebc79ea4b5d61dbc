"""Actors and learners apart: an actor built from a blueprint and an acting state in a fresh
process acts bit-identically to the learner's own, and a learner made from a spec alone learns
from trajectories that another process collected."""

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

import reinforceable as rf
from reinforceable._nest import leaf_paths
from reinforceable.agents import (
    ARSAgent,
    ARSConfig,
    PPOConfig,
    RecurrentPPOAgent,
    SACAgent,
    SACConfig,
)
from reinforceable.networks import actor_critic, sac_actor
from tests.agents.processes import ActorProcess, collect, run_in_a_fresh_process


def assert_same_trajectory(expected, received):
    """Every leaf equal, bit for bit (actions, log-probs, values, states, observations...)."""
    tf.nest.assert_same_structure(expected, received)
    for path, want, got in zip(
        leaf_paths(expected), tf.nest.flatten(expected), tf.nest.flatten(received), strict=True
    ):
        np.testing.assert_array_equal(got, want, err_msg=f"trajectory{path}")


def _job(agent, env_id, num_envs, **make_kwargs):
    return {
        "blueprint": agent.blueprint(),
        "acting_state": agent.acting_state(),
        "env_id": env_id,
        "num_envs": num_envs,
        "env_seed": 5,
        "driver_seed": 7,
        "collection": agent.collection,
        "make_kwargs": make_kwargs,
    }


def test_actors_in_a_fresh_process_act_bit_identically():
    """Recurrent PPO (normalised observations, states recorded at chunk boundaries), hybrid SAC
    before and after its warm-up, and ARS with whitening statistics updated at every step: one
    job each, all in one fresh process, against the learner's own actor on the same
    environments and seeds."""
    keras.utils.set_random_seed(0)
    jobs, expected = [], []

    def add(agent, env_id, num_envs, **make_kwargs):
        job = _job(agent, env_id, num_envs, **make_kwargs)
        jobs.append(job)
        expected.append(collect(agent.policy, job))

    novel = "reinforceable/CartPoleNoVel-v1"
    env = rf.GymEnv(novel, 4, seed=0)
    config = PPOConfig(num_steps=16, batch_size=32, sequence_length=4, num_epochs=2,
                       normalize_observations=True, scale_rewards=True, seed=0)  # fmt: skip
    ppo = RecurrentPPOAgent(actor_critic(env, hidden=(8,), recurrent="gru", units=8), env, config)
    ppo.fit(2 * ppo.rollout_steps, seed=0)
    assert ppo.collection.sequence_length == 4
    add(ppo, novel, 4)

    mixed = "reinforceable/MixedAction2D-v0"
    env = rf.GymEnv(mixed, 2, seed=0)
    config = SACConfig(batch_size=16, hidden=(16,), steps_per_iteration=16, warmup_steps=32,
                       seed=0)  # fmt: skip
    sac = SACAgent(sac_actor(env, hidden=(16,)), env, config)
    assert sac.acting_state()["warmup"]  # random actions
    add(sac, mixed, 2)
    sac.fit(64, seed=0)
    assert not sac.acting_state()["warmup"]  # the actor's own samples
    add(sac, mixed, 2)

    env = rf.GymEnv("InvertedPendulum-v5", 4, seed=0)
    ars = ARSAgent(env, ARSConfig(num_directions=2, statistics_every_step=True, seed=0))
    ars.fit(400)
    add(ars, "InvertedPendulum-v5", 4)

    received = run_in_a_fresh_process(jobs)
    assert expected[0].sequence_states["actor_rnn"][0].shape == (4, 4, 8)
    assert not np.array_equal(expected[1].action["move"], expected[2].action["move"])
    for want, got in zip(expected, received, strict=True):
        assert_same_trajectory(want, got)


CARTPOLE_SPACES = (
    gym.spaces.Box(
        np.array([-4.8, -np.inf, -0.41887903, -np.inf], np.float32),
        np.array([4.8, np.inf, 0.41887903, np.inf], np.float32),
    ),
    gym.spaces.Discrete(2),
)


def test_an_agent_made_from_a_spec_learns_cartpole_from_another_process():
    """The learner never makes an environment: its spec is written out, an actor process
    collects every rollout with the acting state it is sent, and the learner trains on the
    NumPy trajectories that come back, each carrying the version it was collected with."""
    spec = rf.EnvSpec(*CARTPOLE_SPACES, num_envs=8, env_id="CartPole-v1")
    keras.utils.set_random_seed(0)
    # Standardised advantages (the default until issue 36): at this small budget (41k steps),
    # CartPole's unstandardised advantages (returns up to ~50) learn more slowly.
    config = PPOConfig(num_steps=32, batch_size=256, num_epochs=10, discount=0.98,
                       gae_lambda=0.8, learning_rate=1e-3, normalize_advantages=True,
                       seed=0)  # fmt: skip
    agent = RecurrentPPOAgent(actor_critic(spec, hidden=(64,)), spec, config)
    assert agent.env is None
    actor = ActorProcess(agent.blueprint(), "CartPole-v1", 8, 0, 0, agent.collection)
    try:
        for iteration in range(160):
            trajectory = actor.collect(agent.acting_state())
            assert isinstance(trajectory.reward, np.ndarray)
            np.testing.assert_array_equal(trajectory.policy_version, iteration)
            agent.train(trajectory)
    finally:
        actor.close()
    evaluation = rf.training.Evaluation(rf.GymEnv("CartPole-v1", 8, seed=1), episodes=16)
    assert evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"] >= 300
