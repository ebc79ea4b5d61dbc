"""ARSAgent: the update against a hand computation, errors, and learning InvertedPendulum."""

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import ARSAgent, ARSConfig
from reinforceable.driver.trajectory import Trajectory


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"num_directions": 0}, "num_directions"),
        ({"num_directions": 4, "top_directions": 5}, "top_directions"),
        ({"step_size": 0.0}, "step_size"),
        ({"noise": -1.0}, "noise"),
        ({"observation_clip": 0.0}, "observation_clip"),
    ],
)
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        ARSConfig(**kwargs)


def test_env_must_hold_two_environments_per_direction_and_boxes():
    with pytest.raises(ValueError, match="2 \\* num_directions = 8 environments"):
        ARSAgent(rf.GymEnv("Pendulum-v1", num_envs=4, seed=0), ARSConfig(num_directions=4))
    with pytest.raises(ValueError, match="flat Box action space"):
        ARSAgent(rf.GymEnv("CartPole-v1", num_envs=2, seed=0), ARSConfig(num_directions=1))


def _trajectory(rewards, ended):
    rewards = np.asarray(rewards, np.float32)
    steps, envs = rewards.shape
    ended = np.asarray(ended, bool)
    valid = np.ones_like(ended)
    valid[1:] = ~ended[:-1]
    observation = np.arange(steps * envs * 3, dtype=np.float32).reshape(steps, envs, 3) / 10
    zeros = np.zeros((steps, envs), bool)
    timestep = rf.Timestep(
        observation=tf.zeros([envs, 3]),
        reward=tf.zeros([envs]),
        terminated=tf.zeros([envs], tf.bool),
        truncated=tf.zeros([envs], tf.bool),
        episode_start=tf.zeros([envs], tf.bool),
    )
    return Trajectory(
        observation=tf.constant(observation),
        episode_start=tf.constant(zeros),
        action=tf.zeros([steps, envs, 1]),
        extras={},
        reward=tf.constant(rewards),
        terminated=tf.constant(ended),
        truncated=tf.constant(zeros),
        valid=tf.constant(valid),
        policy_state=(),
        next_timestep=timestep,
        next_policy_state=(),
    )


def test_update_matches_the_paper_by_hand():
    # N = 3 directions, top b = 2, V1. Env i runs M + ν δ_i, env 3 + i runs M - ν δ_i; only the
    # first episode of each counts (env 0 ends at row 1 and its row-2 reward is ignored).
    config = ARSConfig(
        num_directions=3, top_directions=2, step_size=0.5, noise=0.1, normalize_observations=False
    )
    agent = ARSAgent(rf.GymEnv("Pendulum-v1", num_envs=6, seed=0), config)
    directions = agent.directions.numpy()
    rewards = [[1, 2, 0, 1, 1, 1], [1, 2, 0, 1, 1, 1], [9, 2, 0, 1, 1, 1]]
    ended = [[0] * 6, [1, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 1]]
    agent.train(_trajectory(rewards, ended))
    plus, minus = np.array([2.0, 6.0, 0.0]), np.array([3.0, 3.0, 3.0])
    top = [1, 0]  # max(r+, r-) = 3, 6, 3: direction 1, then the first of the ties
    sigma = np.std(np.concatenate([plus[top], minus[top]]))
    expected = 0.5 / (2 * sigma) * sum((plus[i] - minus[i]) * directions[i] for i in top)
    np.testing.assert_allclose(agent.weights.numpy(), expected, rtol=1e-5)
    assert not np.allclose(agent.directions.numpy(), directions)  # fresh directions
    assert int(agent.env_steps) == 18


def test_observation_statistics_use_only_first_episodes():
    config = ARSConfig(num_directions=1, top_directions=1)
    agent = ARSAgent(rf.GymEnv("Pendulum-v1", num_envs=2, seed=0), config)
    trajectory = _trajectory([[1, 1], [1, 1], [1, 1]], [[1, 0], [0, 0], [0, 1]])
    agent.train(trajectory)
    first = np.array([[1, 1], [0, 1], [0, 1]], bool)
    seen = trajectory.observation.numpy()[first]
    np.testing.assert_allclose(agent.normalizer.mean.numpy(), seen.mean(0), rtol=1e-5)


def test_statistics_every_step_follow_each_perturbed_step_and_not_evaluation():
    """With `statistics_every_step`, the actor's perturbed policies fold each step's states into
    its statistics before acting on them; evaluation only reads them; the learner folds the same
    rows of the trajectory into its own, which the actor then takes back."""
    env = rf.GymEnv("Pendulum-v1", num_envs=4, seed=0, max_episode_steps=5)
    agent = ARSAgent(env, ARSConfig(num_directions=2, statistics_every_step=True))
    agent.weights.assign(tf.ones_like(agent.weights))
    agent.actor.update(agent.acting_state())
    actor = agent.actor
    observations = tf.constant([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [0.0, 0.0, 0.0], [4.0, 4.0, 4.0]])
    timestep = env.reset(seed=0)._replace(observation=observations)
    step = agent.policy.step(timestep, (), tf.constant([0, 0]))
    mean, std = observations.numpy().mean(0), observations.numpy().std(0)
    np.testing.assert_allclose(actor.statistics.mean.numpy(), mean, rtol=1e-5)
    whitened = (observations.numpy() - mean) / std
    offsets = agent.config.noise * agent.directions.numpy()
    matrices = 1.0 + np.concatenate([offsets, -offsets])
    expected = np.clip(np.einsum("bao,bo->ba", matrices, whitened), -2.0, 2.0)
    np.testing.assert_allclose(step.action.numpy(), expected, rtol=1e-4, atol=1e-5)
    agent.eval_policy.step(timestep, (), tf.constant([0, 0]))
    assert float(actor.statistics.count.numpy()) == pytest.approx(4.0, abs=1e-6)
    assert float(agent.normalizer.count.numpy()) == pytest.approx(0.0, abs=1e-6)  # learner's
    # A whole iteration on the Driver: every observation a perturbed policy acted on counts.
    driver = rf.Driver(agent.policy, env, seed=0)
    before = float(actor.statistics.count.numpy())
    trajectory = agent.collection.run(driver)
    seen = int(np.asarray(trajectory.valid).size)
    assert float(actor.statistics.count.numpy()) == pytest.approx(before + seen, abs=1e-3)
    agent.train(trajectory)
    # The learner folded exactly those rows; the actor acts with the learner's statistics now.
    assert float(agent.normalizer.count.numpy()) == pytest.approx(seen, abs=1e-3)
    rows = trajectory.observation.numpy().reshape(-1, 3)
    np.testing.assert_allclose(agent.normalizer.mean.numpy(), rows.mean(0), rtol=1e-5)
    np.testing.assert_array_equal(actor.statistics.mean.numpy(), agent.normalizer.mean.numpy())


def test_whitened_observations_are_clipped():
    # All-ones weights sum the whitened observation: far-out states are cut at the clip.
    for clip, expected in [(2.0, 2.0 * 3), (None, 100.0 * 3)]:
        config = ARSConfig(num_directions=1, observation_clip=clip)
        agent = ARSAgent(rf.GymEnv("Pendulum-v1", num_envs=2, seed=0), config)
        agent.weights.assign(tf.ones_like(agent.weights))
        agent.actor.update(agent.acting_state())
        agent.actor.low, agent.actor.high = tf.constant([-1e6]), tf.constant([1e6])
        timestep = rf.Timestep(
            observation=tf.fill([1, 3], 100.0),
            reward=tf.zeros([1]),
            terminated=tf.zeros([1], tf.bool),
            truncated=tf.zeros([1], tf.bool),
            episode_start=tf.zeros([1], tf.bool),
        )
        action = agent.eval_policy.step(timestep, (), None).action  # statistics: 0 mean, unit
        np.testing.assert_allclose(action.numpy(), [[expected]], rtol=1e-5)


def test_ars_balances_the_inverted_pendulum(tmp_path):
    """100k env steps (about 10 s): the unperturbed linear policy holds the pole for all 1000
    steps of every evaluation episode (zero weights: about 5 steps)."""
    env = rf.GymEnv("InvertedPendulum-v5", num_envs=16, seed=0)
    config = ARSConfig(num_directions=8, top_directions=4, step_size=0.1, noise=0.05, seed=0)
    agent = ARSAgent(env, config)
    evaluation = rf.training.Evaluation(rf.GymEnv("InvertedPendulum-v5", 5, seed=1), episodes=5)
    before = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    agent.fit(100_000, run_dir=tmp_path / "run")
    after = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    assert before < 100 and after >= 950
    agent.save(tmp_path / "agent")
    loaded = ARSAgent.load(tmp_path / "agent", env)
    np.testing.assert_array_equal(loaded.weights.numpy(), agent.weights.numpy())
