"""MPPI: errors, the LQR limit, warm start, bounds, determinism, and the Driver code path."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.planning import MPPI, MPPIConfig


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"num_samples": 0}, "num_samples"),
        ({"horizon": -1}, "horizon"),
        ({"temperature": 0.0}, "temperature"),
        ({"noise_scale": -1.0}, "noise_scale"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"bounds": "wrap"}, "bounds"),
    ],
)
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        MPPIConfig(**kwargs)


def test_bad_noise_bounds_and_models_are_refused():
    with pytest.raises(ValueError, match="`noise_scale` must be one number or 1"):
        MPPI(rf.models.Pendulum(), MPPIConfig(noise_scale=(1.0, 2.0)))

    class BadBounds(rf.models.LinearSystem):
        action_low, action_high = np.array([-1.0, -1.0]), np.array([1.0, 1.0])

    with pytest.raises(ValueError, match=re.escape("bounds must be [1] arrays")):
        MPPI(BadBounds([[1.0]], [[1.0]]), MPPIConfig(num_samples=4, horizon=2))

    class WrongShape(rf.models.Model):
        state_dim, action_dim = 2, 1

        def _step(self, state, action):
            return tf.concat([state, action], -1)

        def _reward(self, state, action):
            return state[..., 0]

    with pytest.raises(ValueError, match=re.escape("WrongShape.step: the next state must have")):
        MPPI(WrongShape(), MPPIConfig(num_samples=4, horizon=2))
    with pytest.raises(TypeError, match="`model`"):
        MPPI("Pendulum-v1")


def _finite_horizon_lqr_control(a, b, q, r, horizon, x0):
    p = np.zeros_like(q)  # the state after the last step is not costed
    for _ in range(horizon):
        gain = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        p = q + a.T @ p @ (a - b @ gain)
    return -gain @ x0


def test_first_control_approaches_the_lqr_control():
    """Re-planning at one state with many samples converges on the optimal open-loop plan,
    whose first control is the finite-horizon LQR control (the average of the last 20 plans'
    first controls, within 3%)."""
    a, b = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[0.0], [0.1]])
    q, r, horizon = np.eye(2), np.array([[0.1]]), 5
    x0 = np.array([1.0, -0.5])
    expected = _finite_horizon_lqr_control(a, b, q, r, horizon, x0)
    config = MPPIConfig(num_samples=4000, horizon=horizon, temperature=0.1, noise_scale=1.0)
    planner = MPPI(rf.models.LinearSystem(a, b, q, r), config, dtype=tf.float64)
    plan_step = tf.function(planner._plan)
    state, plan = tf.constant([x0]), planner.initial_plan(1)
    firsts = []
    for i in range(60):
        action, plan, _ = plan_step(state, plan, tf.constant([i, 0]))
        firsts.append(action.numpy()[0])
    np.testing.assert_allclose(np.mean(firsts[-20:], axis=0), expected, rtol=0.03)
    assert abs(firsts[0][0] - expected[0]) > 0.1  # the first plan alone is far from it


def test_warm_start_shifts_the_plan_and_the_same_seed_gives_the_same_plan():
    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=64, horizon=5))
    timestep = rf.GymEnv("Pendulum-v1", num_envs=2, seed=0).reset(seed=0)
    plan = tf.random.normal([2, 5, 1], seed=1)
    step = planner.step(timestep, plan, tf.constant([3, 4]))
    state = planner.model.state_from_observation(timestep.observation)
    action, updated, _ = planner._plan(state, plan, tf.constant([3, 4]))
    expected = tf.concat([updated[:, 1:], updated[:, -1:]], axis=1)
    np.testing.assert_allclose(step.state.numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(step.action.numpy(), action.numpy())
    again = planner.step(timestep, plan, tf.constant([3, 4]))
    np.testing.assert_array_equal(again.state.numpy(), step.state.numpy())
    other = planner.step(timestep, plan, tf.constant([3, 5]))
    assert not np.allclose(other.state.numpy(), step.state.numpy())


@pytest.mark.parametrize("bounds", ["squash", "truncate", "clamp"])
def test_bounded_actions_never_leave_the_bounds(bounds):
    config = MPPIConfig(num_samples=256, horizon=10, noise_scale=5.0, bounds=bounds)
    planner = MPPI(rf.models.Pendulum(), config)
    _, actions = planner._samples(
        tf.fill([3, 10, 1], 4.0), tf.constant([1, 2])
    )  # a plan far outside the bounds, wide noise
    assert np.all(np.abs(actions.numpy()) <= 2.0)
    trajectory = rf.Driver(planner, rf.GymEnv("Pendulum-v1", num_envs=2, seed=0), seed=0).run(40)
    assert np.all(np.abs(trajectory.action.numpy()) <= 2.0)


def test_squash_averages_the_applied_controls_and_keeps_the_plan_out_of_deep_saturation():
    """With equal weights (a huge temperature) the action is the mean of the squashed samples,
    not the squash of the mean sample; and a plan deep in saturation maps back to at most
    atanh(SQUASH_LIMIT)."""
    from reinforceable.planning._squash import SQUASH_LIMIT

    config = MPPIConfig(num_samples=512, horizon=4, temperature=1e9, include_nominal=False)
    planner = MPPI(rf.models.Pendulum(), config)
    state, seed = tf.constant([[np.pi, 0.0], [0.5, 1.0]], tf.float32), tf.constant([5, 6])
    plan = tf.fill([2, 4, 1], 1.5)
    action, _, _ = planner._plan(state, plan, seed)
    samples, actions = planner._samples(plan, seed)
    np.testing.assert_allclose(
        action.numpy(), actions.numpy()[:, :, 0].mean(axis=1), rtol=1e-5, atol=1e-6
    )
    squash_of_mean = planner.to_action(tf.reduce_mean(samples, axis=1)[:, 0]).numpy()
    assert np.all(action.numpy() < squash_of_mean - 0.05)  # the bound pulls the mean in
    _, deep, _ = planner._plan(state, tf.fill([2, 4, 1], 10.0), seed)
    np.testing.assert_allclose(deep.numpy(), np.arctanh(SQUASH_LIMIT), rtol=1e-5)
    np.testing.assert_allclose(
        planner.from_action(planner.to_action(plan)).numpy(), plan.numpy(), rtol=1e-5
    )


def test_driver_runs_a_planner_and_a_keras_policy_the_same_way():
    env = rf.GymEnv("Pendulum-v1", num_envs=3, seed=0, max_episode_steps=4)
    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=32, horizon=6))
    observation = keras.Input((3,))
    head = rf.DenseNormal(1, output_bounds=[-2.0, 2.0], hard_bounds=True)
    policy = keras.Model(observation, head(observation))
    for actor in (planner, policy):
        driver = rf.Driver(actor, env, seed=0)
        trajectory = driver.run(3 * 10)
        assert trajectory.action.shape == (10, 3, 1)
        assert trajectory.truncated.numpy().sum() == 6  # episodes of 4 steps, then a reset row
    # The plan is the policy state: carried through the loop, one per environment.
    planner_driver = rf.Driver(planner, env, seed=0)
    planner_driver.run(3 * 3)
    assert planner_driver.policy_state.shape == (3, 6, 1)


def test_mppi_swings_the_pendulum_up():
    """K = 1000, H = 30 on 4 of gymnasium's random starts: a mean return better than -200
    (doing nothing: about -1000)."""
    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=1000, horizon=30))
    env = rf.GymEnv("Pendulum-v1", num_envs=4, seed=0)
    trajectory = rf.Driver(planner, env, seed=0).run(4 * 200)
    assert trajectory.reward.numpy().sum(0).mean() > -200
