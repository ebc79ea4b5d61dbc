"""SAC's, TD3's and DDPG's `normalize_observations`: running statistics per observation leaf (per
Dict key), which the learner's batches and the actor's observations go through, kept in the
acting state, checkpoints and saved agents."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import Agent, SACAgent, SACConfig, TD3Agent, TD3Config
from reinforceable.networks import sac_actor


@pytest.mark.parametrize(("agent_class", "config_class"), [(SACAgent, SACConfig),
                                                           (TD3Agent, TD3Config)])  # fmt: skip
def test_statistics_follow_the_data_and_reach_actor_learner_and_disk(
    agent_class, config_class, tmp_path
):
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("reinforceable/BitFlipping-v0", 2, n_bits=5, continuous=True, seed=0)
    config = config_class(normalize_observations=True, hindsight="future", hidden=(16,),
                          batch_size=16, warmup_steps=16, steps_per_iteration=8)  # fmt: skip
    agent = agent_class(sac_actor(env, hidden=(16,)), env, config)
    agent.fit(160)
    normalizer = agent.observation_normalizer
    # Per key: the statistics of everything collected (stored rows and the reset rows).
    stored = agent.buffer._storage["observation"]["desired_goal"].numpy()[:80].reshape(-1, 5)
    mean = normalizer.statistics[1].mean.numpy()  # tf.nest order: achieved, desired, observation
    np.testing.assert_allclose(mean, stored.mean(0), atol=0.1)
    assert not np.allclose(mean, normalizer.statistics[0].mean.numpy())
    # The learner's batch is normalised with them.
    raw = agent.buffer.sample(16, tf.constant([1, 2]))
    batch = agent._learning_batch(tf.constant([1, 2]))
    np.testing.assert_allclose(
        batch["next_observation"]["desired_goal"],
        normalizer.normalize(raw["next_observation"])["desired_goal"],
    )
    # The acting state carries them, and the actor acts through them.
    state = agent.acting_state()
    assert any(key.startswith("observation_normalizer/") for key in state)
    observation = env.reset().observation
    action, _ = agent.predict(observation, deterministic=True)
    distributions, _ = agent.learner_policy.distributions(normalizer.normalize(observation))
    expected = tf.nest.flatten(distributions)[0].mode().numpy()
    np.testing.assert_allclose(action, expected, atol=1e-5)
    # A saved agent keeps them.
    agent.save(tmp_path / "agent")
    loaded = Agent.load(tmp_path / "agent")
    np.testing.assert_allclose(loaded.observation_normalizer.statistics[1].mean.numpy(), mean)
    reloaded, _ = loaded.predict(observation, deterministic=True)
    np.testing.assert_allclose(reloaded, action, atol=1e-5)


def test_refusals():
    with pytest.raises(TypeError, match="normalize_observations"):
        SACConfig(normalize_observations="yes")
    with pytest.raises(ValueError, match="normalize_observations"):
        rf.agents.RecurrentSACAgent(
            sac_actor(rf.GymEnv("Pendulum-v1", 1).spec, recurrent="gru"),
            rf.GymEnv("Pendulum-v1", 1).spec,
            rf.agents.RecurrentSACConfig(normalize_observations=True),
        )
