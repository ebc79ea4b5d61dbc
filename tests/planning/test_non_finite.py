"""Planners and NaN: bounds with NaN are refused when the planner is made, a NaN start is
refused by iLQR, and a non-finite cost is reported (iLQR) or kept out of the plan (MPPI)."""

import re

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.planning import ILQR, MPPI, ILQRConfig, MPPIConfig


class NanBounds(rf.models.Pendulum):
    action_low, action_high = np.array([np.nan]), np.array([2.0])


@pytest.mark.parametrize("planner", ["mppi", "ilqr"])
def test_nan_bounds_are_refused_when_the_planner_is_made(planner):
    owner = "MPPI" if planner == "mppi" else "ILQR"
    with pytest.raises(ValueError, match=re.escape(f"{owner}: the model's bounds must be finite")):
        if planner == "mppi":
            MPPI(NanBounds(), MPPIConfig(num_samples=4, horizon=2))
        else:
            ILQR(NanBounds(), ILQRConfig(horizon=2))


def test_ilqr_refuses_a_nan_start_and_warns_of_a_non_finite_cost():
    planner = ILQR(rf.models.Pendulum(), ILQRConfig(horizon=5, max_iterations=2))
    with pytest.raises(ValueError, match=r"`initial_state` must be finite; rows \[1\]"):
        planner.solve(np.array([[0.1, 0.0], [np.nan, 0.0]]))
    with pytest.raises(ValueError, match="`initial_actions` must be finite"):
        planner.solve(np.zeros((1, 2)), np.full((5, 1, 1), np.nan))

    class Exploding(rf.models.Pendulum):
        def _reward(self, state, action):  # the reward (minus the cost) of the second system
            reward = super()._reward(state, action)
            return tf.where(state[..., 0] > 5.0, tf.constant(np.nan, reward.dtype), reward)

    planner = ILQR(Exploding(), ILQRConfig(horizon=5, max_iterations=2))
    with pytest.warns(RuntimeWarning, match=r"the cost of the trajectories \[1\] is not finite"):
        result = planner.solve(np.array([[0.1, 0.0], [9.0, 0.0]]))
    assert np.isfinite(result.cost[0])


def test_mppi_gives_diverging_samples_no_weight_and_warns_when_all_diverge():
    model = rf.models.Pendulum()
    config = MPPIConfig(num_samples=64, horizon=4, noise_scale=1.0)
    planner = MPPI(model, config)
    costs = planner._costs  # the rollouts' costs, made NaN for the samples with a large action

    def nan_where_large(state, actions):
        values = costs(state, actions)
        return tf.where(tf.reduce_max(actions, axis=[2, 3]) > 1.0, np.nan, values)

    planner._costs = nan_where_large
    state = tf.constant([[0.5, 0.0]])
    action, plan, used = planner._plan(state, planner.initial_plan(1), tf.constant([0, 1]))
    assert np.all(np.isfinite(action)) and np.all(np.isfinite(plan))
    assert np.any(np.isinf(used)) and np.any(np.isfinite(used))
    # Every sample diverges: a warning names the system, and the plan stays finite.
    planner._costs = lambda state, actions: tf.fill(tf.shape(actions)[:2], np.nan)
    with pytest.warns(RuntimeWarning, match=r"MPPI: every sampled sequence of the systems \[0\]"):
        action, plan, used = planner._plan(state, planner.initial_plan(1), tf.constant([0, 1]))
    assert np.all(np.isfinite(action)) and np.all(np.isinf(used))
