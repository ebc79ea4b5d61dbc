"""PartiallyObserved tasks, ModelEnv's noise, and FilteredPolicy on the Driver's loop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.estimation import (
    ExtendedKalmanFilter,
    FilteredPolicy,
    ParticleFilter,
    UnscentedKalmanFilter,
)
from reinforceable.planning import MPPI, MPPIConfig

HANGING = [np.pi, 0.0]


def _noisy_angle(observation_std=0.1, process=None):
    return rf.models.PartiallyObserved(
        rf.models.Pendulum(), observe=[0], observation_noise=[[observation_std**2]],
        process_noise=process,
    )  # fmt: skip


def test_partially_observed_checks_its_arguments():
    pendulum = rf.models.Pendulum()
    with pytest.raises(ValueError, match="`observe` indices must be non-empty and in \\[0, 2\\)"):
        rf.models.PartiallyObserved(pendulum, observe=[2])
    with pytest.raises(TypeError, match="`observe` must be None"):
        rf.models.PartiallyObserved(pendulum, observe="angle")
    with pytest.raises(ValueError, match="`observation_noise` must be a \\[1, 1\\]"):
        rf.models.PartiallyObserved(pendulum, observe=[0], observation_noise=np.eye(2))
    with pytest.raises(ValueError, match="`process_noise` must be positive semi-definite"):
        rf.models.PartiallyObserved(pendulum, process_noise=-np.eye(2))
    with pytest.raises(NotImplementedError, match="estimate it with a filter"):
        _noisy_angle().state_from_observation(tf.zeros([1, 1]))
    with pytest.raises(ValueError, match="`initial_state` must hold 2 finite numbers"):
        rf.models.ModelEnv(pendulum, initial_state=[0.0])


def test_model_env_draws_the_declared_noise():
    task = _noisy_angle(0.2, process=np.diag([0.0, 0.01]))
    env = rf.models.ModelEnv(task, 1000, initial_state=HANGING)
    observation, info = env.reset(seed=0)
    np.testing.assert_array_equal(info["state"], HANGING)
    residuals, speed_noise = [observation[0] - info["state"][0]], []
    for _ in range(999):
        before = info["state"]
        observation, _, _, _, info = env.step(np.zeros(1))
        noiseless = task.step(tf.constant(before[None]), tf.zeros([1, 1], tf.float64))[0]
        residuals.append(observation[0] - info["state"][0])
        speed_noise.append(info["state"][1] - noiseless[1].numpy())
    np.testing.assert_allclose(np.std(residuals), 0.2, rtol=0.1)
    np.testing.assert_allclose(np.std(speed_noise), 0.1, rtol=0.1)
    assert env.observation_space.shape == (1,)


def test_mppi_plans_from_repeated_states_as_from_one():
    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=32, horizon=5, jit_compile=False))
    state = tf.constant([[2.0, 0.5], [-1.0, 0.0]])
    plan = planner.initial_plan(2)
    single = planner.step_from_state(state, plan, tf.constant([1, 2]))
    repeated = planner.step_from_state(tf.repeat(state[:, None], 3, 1), plan, tf.constant([1, 2]))
    np.testing.assert_allclose(repeated.action, single.action, rtol=1e-5)
    np.testing.assert_allclose(repeated.state, single.state, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="`model_state` must be \\[B, 2\\]"):
        planner.step_from_state(tf.zeros([2, 3]), plan, tf.constant([1, 2]))


def test_feedback_mppi_plans_from_samples_around_their_mean():
    """With `feedback=True` and several states per system, the feedback works around their
    mean: repeated copies of one state give the plan, predictions and gains of that state."""
    config = MPPIConfig(num_samples=32, horizon=5, jit_compile=False, feedback=True)
    planner = MPPI(rf.models.Pendulum(), config)
    state = tf.constant([[0.3, 0.5], [-1.0, 0.0]])
    first = planner.step_from_state(state, planner.initial_state(2), tf.constant([1, 2]))
    moved = state + tf.constant([[0.05, -0.2], [0.0, 0.1]])
    single = planner.step_from_state(moved, first.state, tf.constant([3, 4]))
    repeated = planner.step_from_state(
        tf.repeat(moved[:, None], 3, 1), first.state, tf.constant([3, 4])
    )
    np.testing.assert_allclose(repeated.action, single.action, rtol=1e-5, atol=1e-6)
    for a, b in zip(repeated.state, single.state, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("estimator", ["ekf", "ukf", "pf"])
def test_filtered_mppi_tracks_the_state_on_the_driver(estimator):
    """Noisy angle only, no process noise, a fixed start: the true states follow from the
    recorded actions; the filter's mean must follow them (a hanging pendulum at rest, as a
    vague belief starts)."""
    task = _noisy_angle(0.05)
    filters = {
        "ekf": lambda: ExtendedKalmanFilter(task, process_noise=np.eye(2) * 1e-6),
        "ukf": lambda: UnscentedKalmanFilter(task, process_noise=np.eye(2) * 1e-6),
        "pf": lambda: ParticleFilter(task, 500, process_noise=np.eye(2) * 1e-4),
    }
    policy = FilteredPolicy(
        filters[estimator](),
        MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=64, horizon=10)),
    )
    env = rf.GymEnv([lambda: rf.models.ModelEnv(task, 30, initial_state=HANGING)] * 2, seed=0)
    trajectory = rf.Driver(policy, env, seed=0).run(2 * 40)
    assert set(trajectory.extras) >= {"belief_mean", "belief_std", "log_likelihood", "plan_cost"}
    actions = trajectory.action.numpy().astype(np.float64)
    starts = trajectory.episode_start.numpy()
    means = trajectory.extras["belief_mean"].numpy()
    errors = []
    for b in range(2):
        state = None
        for t in range(40):
            if starts[t, b]:
                state = np.array([HANGING])
            errors.append(np.abs(means[t, b] - state[0]))
            state = task.step(tf.constant(state), tf.constant(actions[t, b][None])).numpy()
    errors = np.array(errors)
    late = errors.reshape(2, 40, 2)[:, 10:30]  # settled, inside the first episode
    assert late[..., 0].mean() < 0.05 and late[..., 1].mean() < 0.5
    # The belief restarts where an episode starts: the first step after a reset is vague again.
    std = trajectory.extras["belief_std"].numpy()
    assert np.all(std[starts][:, 1] > std[25, :, 1].max())


def test_filtered_keras_policy_sees_mean_and_log_std():
    task = _noisy_angle(0.1)
    ukf = UnscentedKalmanFilter(task, process_noise=np.eye(2) * 1e-4)
    features = keras.Input((4,))
    head = rf.DenseNormal(1, output_bounds=[-2.0, 2.0], hard_bounds=True)
    policy = rf.KerasPolicy(keras.Model(features, head(features)))
    filtered = FilteredPolicy(ukf, policy)
    env = rf.GymEnv([lambda: rf.models.ModelEnv(task, 10)] * 3, seed=0)
    trajectory = rf.Driver(filtered, env, seed=0).run(3 * 12)
    assert trajectory.action.shape == (12, 3, 1)
    assert trajectory.extras["log_prob"].shape == (12, 3)
    belief = ukf.initial_belief(1)
    expected = np.concatenate([belief.mean[0], 0.5 * np.log(np.diag(belief.covariance[0]))]).astype(
        np.float32
    )
    np.testing.assert_allclose(filtered.features(belief)[0], expected, rtol=1e-6)


def test_filtered_policy_refuses_bad_arguments():
    ukf = UnscentedKalmanFilter(_noisy_angle(), process_noise=np.eye(2) * 1e-4)
    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=8, horizon=2))
    with pytest.raises(ValueError, match="`plan_from` must be one of"):
        FilteredPolicy(ukf, planner, plan_from="mode")
    with pytest.raises(ValueError, match="`num_samples` must be a positive int"):
        FilteredPolicy(ukf, planner, num_samples=0)
    with pytest.raises(TypeError, match="`estimator` must be a StateEstimator"):
        FilteredPolicy(planner, planner)


@pytest.mark.slow
def test_feedback_mppi_holds_the_pole_up_on_a_noisy_angle_better_than_plain_mppi():
    """Balancing from upright on a UKF's belief, σ = 0.1 rad: plain MPPI follows the jumping
    estimate with about half the LQR gain and often loses the pole: a mean return of about -130
    over 40 episodes, against about -65 with `feedback=True`."""
    process = np.diag([0.01**2, 0.03**2])
    task = _noisy_angle(0.1, process)
    returns = {}
    for feedback in (False, True):
        env = rf.GymEnv(
            [lambda: rf.models.ModelEnv(task, 200, initial_state=[0.0, 0.0])] * 40, seed=0
        )
        ukf = UnscentedKalmanFilter(
            task, initial_mean=[0.0, 0.0], initial_covariance=0.25 * np.eye(2)
        )
        planner = MPPI(rf.models.Pendulum(), MPPIConfig(1000, 30, feedback=feedback))
        driver = rf.Driver(FilteredPolicy(ukf, planner), env, seed=0)
        returns[feedback] = driver.run(200 * 40).reward.numpy().sum(0).mean()
        env.close()
    assert returns[True] > returns[False] + 25, returns
