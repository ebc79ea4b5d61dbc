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

    with pytest.raises(ValueError, match=re.escape("bounds must be finite [1] arrays")):
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


# ---------------------------------------------------------------------------- feedback

A2 = np.array([[1.0, 0.1], [0.3, 1.0]])  # unstable, as a pendulum at the top
B2 = np.array([[0.0], [0.1]])
Q2, R2 = np.diag([1.0, 0.1]), np.array([[0.01]])


def test_feedback_must_be_a_bool_and_needs_a_differentiable_model():
    with pytest.raises(TypeError, match="`feedback` must be a bool"):
        MPPIConfig(feedback=1)

    class Simulated(rf.models.Pendulum):
        """Steps outside TF, as a simulator does: no gradient."""

        xla_compatible = False

        def _step(self, state, action):
            step = super()._step
            next_state = tf.numpy_function(
                lambda s, a: step(tf.constant(s), tf.constant(a)).numpy(),
                [state, tf.cast(action, state.dtype)],
                state.dtype,
            )
            return tf.ensure_shape(next_state, state.shape)

    config = MPPIConfig(num_samples=4, horizon=2, feedback=True)
    with pytest.raises(ValueError, match="`feedback=True` needs a model whose `step` and `cost`"):
        MPPI(Simulated(), config)
    MPPI(Simulated(), MPPIConfig(num_samples=4, horizon=2))  # fine without feedback


def test_feedback_gains_are_the_lqr_gains_of_a_linear_system():
    """After a step the plan carries the time-varying LQR gains of the remaining H - 1 steps,
    and the states the plan predicts."""
    model = rf.models.LinearSystem(A2, B2, Q2, R2)
    horizon = 8
    planner = MPPI(model, MPPIConfig(num_samples=64, horizon=horizon, feedback=True))
    x0 = tf.constant([[0.3, -0.2]], tf.float32)
    result = planner.step_from_state(x0, planner.initial_state(1), tf.constant([1, 2]))
    plan, states, gains = result.state
    p = np.zeros((2, 2))  # backwards from the last step; gains[t] acts H - 1 - t steps ahead
    expected = []
    for _ in range(horizon - 1):
        gain = np.linalg.solve(R2 + B2.T @ p @ B2, B2.T @ p @ A2)
        p = Q2 + A2.T @ p @ (A2 - B2 @ gain)
        expected.append(-gain)
    expected = np.stack(expected[::-1])  # [H - 1, 1, 2], the shifted plan's steps 0 … H - 2
    np.testing.assert_allclose(gains.numpy()[0, : horizon - 1], expected, rtol=1e-3, atol=1e-4)
    # The predicted states are the plan's own rollout from x0.
    x, rolled = x0.numpy()[0], []
    for u in np.concatenate([result.action.numpy(), plan.numpy()[0, : horizon - 1]]):
        x = A2 @ x + B2 @ u
        rolled.append(x)
    np.testing.assert_allclose(states.numpy()[0, : horizon - 1], rolled[:-1], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("feedback", [False, True])
def test_feedback_moves_the_plan_by_the_gain_times_the_surprise(feedback):
    """With (almost) no sampling noise MPPI keeps its warm start; a state off the predicted one
    by δ then changes the action by K δ with feedback, and not at all without."""
    model = rf.models.LinearSystem(A2, B2, Q2, R2)
    config = MPPIConfig(num_samples=8, horizon=6, noise_scale=1e-6, feedback=feedback)
    planner = MPPI(model, config)
    plan = tf.constant([[[0.5], [-0.2], [0.1], [0.0], [0.3], [-0.1]]], tf.float32)
    start = planner.initial_state(1)
    start = start._replace(plan=plan) if feedback else plan
    x0 = tf.constant([[0.3, -0.2]], tf.float32)
    first = planner.step_from_state(x0, start, tf.constant([1, 2]))
    predicted = (A2 @ x0.numpy()[0] + B2 @ first.action.numpy()[0]).astype(np.float32)
    np.testing.assert_allclose(first.action.numpy(), [[0.5]], atol=1e-4)
    delta = np.array([0.05, -0.1], np.float32)
    second = planner.step_from_state(
        tf.constant([predicted + delta]), first.state, tf.constant([3, 4])
    )
    change = second.action.numpy()[0] - (-0.2)
    if feedback:
        np.testing.assert_allclose(change, first.state.gains.numpy()[0, 0] @ delta, atol=1e-4)
        assert abs(change[0]) > 0.05  # the gain is not small: the test can tell
    else:
        np.testing.assert_allclose(change, [0.0], atol=1e-4)


def test_feedback_planner_runs_in_the_driver_and_resets_at_episode_starts():
    env = rf.GymEnv("Pendulum-v1", num_envs=2, seed=0, max_episode_steps=5)
    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=32, horizon=6, feedback=True))
    driver = rf.Driver(planner, env, seed=0)
    trajectory = driver.run(2 * 12)
    assert trajectory.action.shape == (12, 2, 1)
    state = driver.policy_state
    assert isinstance(state, rf.planning.FeedbackPlan)
    assert state.gains.shape == (2, 6, 1, 2) and state.states.shape == (2, 6, 2)
    assert np.all(np.isfinite(state.gains.numpy())) and np.abs(state.gains.numpy()).max() > 1.0
