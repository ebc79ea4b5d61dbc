"""`LinearGaussianPolicy`: per-condition, per-step controllers, sampling, wrapped states, and bad
input; `Model.state_difference`."""

import re

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.envs.timestep import Timestep
from reinforceable.planning import LinearGaussianController, LinearGaussianPolicy

T, C, M, N = 3, 2, 1, 2


def _controller(scale=0.0):
    gains = np.arange(T * C * M * N, dtype=float).reshape(T, C, M, N)
    offsets = np.arange(T * C * M, dtype=float).reshape(T, C, M) * 10
    return LinearGaussianController(gains, offsets, np.full((T, C, M, M), scale))


def _timestep(x):
    batch = len(x)
    return Timestep(tf.constant(x, tf.float32), tf.zeros(batch), tf.zeros(batch, bool),
                    tf.zeros(batch, bool), tf.zeros(batch, bool))  # fmt: skip


def test_each_environment_runs_its_conditions_controller_and_holds_the_last_step():
    controller = _controller()
    policy = LinearGaussianPolicy(controller, assignment=[1, 0, 1])
    x = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    state = tf.constant([0, 2, 7])  # step 7 is past the end: the last controller holds
    step = policy.step(_timestep(x), state, tf.constant([0, 0]))
    expected = [controller.gains[t, c] @ x[b] + controller.offsets[t, c]
                for b, (t, c) in enumerate([(0, 1), (2, 0), (2, 1)])]  # fmt: skip
    np.testing.assert_allclose(step.action.numpy(), np.stack(expected))
    np.testing.assert_array_equal(step.state.numpy(), [1, 3, 8])


def test_samples_have_the_controllers_covariance():
    policy = LinearGaussianPolicy(_controller(scale=4.0))
    x = np.zeros((4000, N))
    step = policy.step(_timestep(x), tf.zeros([4000], tf.int32), tf.constant([1, 2]))
    actions = step.action.numpy()[:, 0]
    assert np.std(actions[0::2]) == pytest.approx(2.0, rel=0.05)
    assert np.std(actions[1::2]) == pytest.approx(2.0, rel=0.05)
    # Environments alternate between the two conditions (b % C); their means differ by 10.
    np.testing.assert_allclose([actions[0::2].mean(), actions[1::2].mean()], [0.0, 10.0],
                               atol=0.2)  # fmt: skip


def test_nominal_states_rewrap_angles_next_to_the_plan():
    pendulum = rf.models.Pendulum()
    controller = LinearGaussianController(np.ones((1, 1, 1, 2)), np.zeros((1, 1, 1)),
                                          np.zeros((1, 1, 1, 1)))  # fmt: skip
    nominal = np.array([[[2 * np.pi - 0.1, 0.0]]])
    policy = LinearGaussianPolicy(controller, nominal_states=nominal,
                                  state_difference=pendulum.state_difference)  # fmt: skip
    # Observed at -0.05 (wrapped): that is 2π - 0.05 next to the plan, not -0.05.
    step = policy.step(_timestep([[-0.05, 0.0]]), tf.zeros([1], tf.int32), tf.constant([0, 0]))
    np.testing.assert_allclose(step.action.numpy(), [[2 * np.pi - 0.05]], rtol=1e-6)


def test_state_difference_wraps_pendulum_angles_only():
    difference = rf.models.Pendulum().state_difference([[np.pi - 0.1, 1.0]], [[-np.pi + 0.1, 0.5]])
    np.testing.assert_allclose(difference, [[-0.2, 0.5]], atol=1e-6)
    plain = rf.models.PointMass2D().state_difference([[3.0, 0, 0, 0]], [[-3.0, 0, 0, 0]])
    np.testing.assert_allclose(plain, [[6.0, 0, 0, 0]])


def test_bad_controllers_and_assignments_are_refused():
    with pytest.raises(TypeError, match="`controller` must be a LinearGaussianController"):
        LinearGaussianPolicy((np.zeros((T, M, N)),) * 3)
    bad = _controller()._replace(offsets=np.zeros((T, C, 2)))
    with pytest.raises(ValueError, match=re.escape("`controller.offsets` must be [3, 2, 1]")):
        LinearGaussianPolicy(bad)
    with pytest.raises(ValueError, match=re.escape("`assignment` must be [B] ints in [0, 2)")):
        LinearGaussianPolicy(_controller(), assignment=[0, 2])
    with pytest.raises(ValueError, match="both `nominal_states` and `state_difference`"):
        LinearGaussianPolicy(_controller(), nominal_states=np.zeros((T, C, N)))
