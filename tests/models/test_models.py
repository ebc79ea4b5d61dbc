"""The TF models reproduce gymnasium step by step; shapes, bounds and ModelEnv are checked."""

import re

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable import models

STEPS = 200


def _gym_action(env_id, u):
    """The gymnasium action for the model's continuous action `u` (one of the discrete values)."""
    if env_id == "CartPole-v1":
        return int(u > 0)
    if env_id == "Acrobot-v1":
        return round(u) + 1
    return np.array([u], np.float32)


CASES = [
    ("Pendulum-v1", models.Pendulum(), lambda rng: rng.uniform(-2.0, 2.0)),
    ("CartPole-v1", models.CartPole(), lambda rng: rng.choice([-1.0, 1.0])),
    ("MountainCarContinuous-v0", models.MountainCar(), lambda rng: rng.uniform(-1.0, 1.0)),
    ("Acrobot-v1", models.Acrobot(), lambda rng: rng.choice([-1.0, 0.0, 1.0])),
]


@pytest.mark.filterwarnings("ignore:.*already returned terminated")
@pytest.mark.parametrize(("env_id", "model", "draw"), CASES, ids=[c[0] for c in CASES])
def test_model_matches_gymnasium_for_200_steps(env_id, model, draw):
    rng = np.random.default_rng(0)
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    state = np.array(env.state, np.float64)
    actions = [draw(rng) for _ in range(STEPS)]
    step = tf.function(model.step)
    ours = tf.constant(state)
    for t, u in enumerate(actions):
        action = tf.constant([u], tf.float64)
        reward = float(model.reward(ours, action))
        _, gym_reward, terminated, _, _ = env.step(_gym_action(env_id, u))
        ours = step(ours, action)
        np.testing.assert_allclose(
            ours.numpy(), np.asarray(env.state, np.float64), atol=1e-5, err_msg=f"step {t}"
        )
        if env_id != "CartPole-v1" or not terminated:  # gymnasium pays 1, then 0 after the fall
            assert reward == pytest.approx(gym_reward, abs=1e-5), f"reward at step {t}"
        assert bool(model.terminal(ours)) == terminated or (env_id == "CartPole-v1" and t > 0)


def test_observations_match_gymnasium():
    for env_id, model in (("Pendulum-v1", models.Pendulum()), ("Acrobot-v1", models.Acrobot())):
        env = gym.make(env_id).unwrapped
        observation, _ = env.reset(seed=3)
        ours = model.observe(tf.constant(np.asarray(env.state, np.float64)))
        np.testing.assert_allclose(ours.numpy(), observation, atol=1e-6)


@pytest.mark.parametrize("model", [c[1] for c in CASES] + [models.PointMass2D()])
def test_batched_over_leading_dimensions_and_differentiable(model):
    state = model.initial_state([3, 5], tf.constant([1, 2]))
    assert state.shape == (3, 5, model.state_dim)
    action = tf.fill([3, 5, model.action_dim], 0.3)
    with tf.GradientTape() as tape:
        tape.watch([state, action])
        total = tf.reduce_sum(model.step(state, action)) + tf.reduce_sum(
            model.reward(state, action)
        )
    grads = tape.gradient(total, [state, action])
    assert all(
        g is not None and g.shape == x.shape for g, x in zip(grads, [state, action], strict=True)
    )
    assert model.observe(state).shape == (3, 5, model.obs_dim)
    assert model.terminal(state).shape == (3, 5)


def test_linear_system_and_its_errors():
    system = models.LinearSystem([[1.0, 0.1], [0.0, 1.0]], [[0.0], [0.1]], R=[[0.5]])
    x, u = tf.constant([[1.0, 2.0]]), tf.constant([[3.0]])
    np.testing.assert_allclose(system.step(x, u).numpy(), [[1.2, 2.3]], rtol=1e-6)
    np.testing.assert_allclose(system.reward(x, u).numpy(), [-(1 + 4 + 0.5 * 9)], rtol=1e-6)
    with pytest.raises(ValueError, match="`B` must have shape \\(2, m\\)"):
        models.LinearSystem(np.eye(2), np.ones((3, 1)))
    with pytest.raises(ValueError, match="`A` must be a square"):
        models.LinearSystem(np.ones((2, 3)), np.ones((2, 1)))
    with pytest.raises(ValueError, match="`R` must be symmetric positive definite"):
        models.LinearSystem(np.eye(2), np.ones((2, 1)), R=[[0.0]])


def test_wrong_shapes_and_out_of_bound_actions_raise_clear_errors():
    pendulum = models.Pendulum()
    with pytest.raises(ValueError, match=r"`state` must have shape \[\.\.\., 2\]"):
        pendulum.step(tf.zeros([4, 3]), tf.zeros([4, 1]))
    with pytest.raises(ValueError, match=r"`action` must have shape \[\.\.\., 1\]"):
        pendulum.step(tf.zeros([4, 2]), tf.zeros([4, 2]))
    with pytest.raises(ValueError, match=re.escape("`action` must lie in [[-2.0], [2.0]]")):
        pendulum.step(tf.zeros([4, 2]), tf.fill([4, 1], 2.5))

    class Broken(models.Model):
        state_dim, action_dim = 2, 1

        def _step(self, state, action):
            return state[..., :1]

        def _reward(self, state, action):
            return state[..., 0]

    with pytest.raises(
        ValueError, match=re.escape("Broken.step: the next state must have shape [..., 2]")
    ):
        Broken().step(tf.zeros([2]), tf.zeros([1]))
    # Inside a graph the shape checks still run while tracing.
    with pytest.raises(ValueError, match="`state` must have shape"):
        tf.function(pendulum.step)(tf.zeros([4, 3]), tf.zeros([4, 1]))


def test_model_env_runs_in_the_driver():
    with pytest.raises(ValueError, match="`max_episode_steps`"):
        models.ModelEnv(models.Pendulum(), 0)
    with pytest.raises(TypeError, match="`model`"):
        models.ModelEnv("Pendulum-v1")
    env = rf.GymEnv([lambda: models.ModelEnv(models.PointMass2D(), 20)] * 3, seed=0)
    assert env.action_space.shape == (2,) and env.observation_space.shape == (4,)
    driver = rf.Driver(rf.RandomPolicy(env.action_space, env.num_envs), env, seed=0)
    trajectory = driver.run(3 * 45)  # 45 rows per environment
    assert trajectory.truncated.numpy().sum() == 6  # each env truncates at rows 19 and 40
    single = models.ModelEnv(models.Pendulum(), 5)
    observation, info = single.reset(seed=1)
    np.testing.assert_allclose(observation[:2] ** 2 @ [1, 1], 1.0, rtol=1e-5)  # cos² + sin²
    _, reward, terminated, truncated, info = single.step(np.array([0.5], np.float32))
    assert reward < 0 and not terminated and not truncated and info["state"].shape == (2,)


@pytest.mark.parametrize("model", [c[1] for c in CASES] + [models.PointMass2D()])
def test_state_from_observation_inverts_observe(model):
    state = model.initial_state([6], tf.constant([5, 6]), tf.float64)
    recovered = model.state_from_observation(model.observe(state))
    np.testing.assert_allclose(recovered.numpy(), state.numpy(), atol=1e-9)


def test_state_from_observation_needs_a_full_observation():
    class Partial(models.PointMass2D):
        observation_dim = 2

        def observe(self, state):
            return state[..., :2]

    with pytest.raises(NotImplementedError, match="does not determine the state"):
        Partial().state_from_observation(tf.zeros([2]))
