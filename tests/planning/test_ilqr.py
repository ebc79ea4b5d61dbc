"""`ILQR`: the LQ limit, monotone cost on the Pendulum swing-up, bounds, non-convex costs, bad
input, and the feedback controller on the Driver."""

import re

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.planning import ILQR, ILQRConfig


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"horizon": 0}, "horizon"),
        ({"max_iterations": -1}, "max_iterations"),
        ({"armijo": 2.0}, "armijo"),
        ({"regularization_factor": 1.0}, "regularization_factor"),
        ({"bounds": "wrap"}, "bounds"),
        ({"nonconvex_cost": "ignore"}, "nonconvex_cost"),
    ],
)
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        ILQRConfig(**kwargs)


def test_bad_arguments_are_refused_before_solving():
    with pytest.raises(TypeError, match=r"`model` must be a reinforceable\.models\.Model"):
        ILQR("Pendulum-v1")
    with pytest.raises(TypeError, match="`cost` must be callable"):
        ILQR(rf.models.Pendulum(), cost=3.0)
    planner = ILQR(rf.models.Pendulum(), ILQRConfig(horizon=5))
    with pytest.raises(ValueError, match=re.escape("`initial_state` must be [B, 2]")):
        planner.solve(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=re.escape("`initial_actions` must be [5, 1, 1]")):
        planner.solve(np.zeros((1, 2)), np.zeros((4, 1, 1)))


def test_a_linear_quadratic_problem_converges_to_the_lqr_optimum():
    rng = np.random.default_rng(0)
    A, B = np.eye(3) + 0.1 * rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    model = rf.models.LinearSystem(A, B, Q=np.diag([1.0, 2.0, 3.0]), R=0.5 * np.eye(2))
    result = ILQR(model, ILQRConfig(horizon=20)).solve(rng.normal(size=(2, 3)))
    # Newton's method on a quadratic: one full step reaches the optimum, the next confirms it.
    assert result.converged.numpy().all()
    assert result.iterations.numpy().max() <= 3
    # The iLQG covariance Q_uu⁻¹ is symmetric positive definite at every step.
    assert np.all(np.linalg.eigvalsh(result.controller.covariance.numpy()) > 0)
    # The optimum by brute force: perturbing any action raises the cost.
    actions = result.actions.numpy()
    for t, b in ((0, 0), (7, 1), (19, 0)):
        perturbed = actions.copy()
        perturbed[t, b] += 1e-3
        states = [result.states.numpy()[0]]
        total = 0.0
        for s in range(20):
            total += model.cost(states[-1], perturbed[s]).numpy()
            states.append(model.step(states[-1], perturbed[s]).numpy())
        assert total[b] > result.cost.numpy()[b]


@pytest.fixture(scope="module")
def swing_up():
    pendulum = rf.models.Pendulum()
    planner = ILQR(pendulum, ILQRConfig(horizon=100, max_iterations=300, nonconvex_cost="allow"),
                   cost=pendulum.smooth_cost)  # fmt: skip
    # Two restarts that push opposite ways first: the swing-ups end at θ = 0 and θ = 2π.
    initial = np.concatenate([np.full((100, 1, 1), 1.0), np.full((100, 1, 1), -1.0)], 1)
    return planner, planner.solve(np.tile([[np.pi, 0.0]], (2, 1)), initial)


def test_pendulum_swing_up_cost_decreases_monotonically_and_reaches_the_top(swing_up):
    _, result = swing_up
    history = result.cost_history.numpy()
    assert np.all(np.diff(history, axis=0) <= 1e-9)
    assert history[-1].min() < 0.5 * history[0].min()
    theta = result.states.numpy()[-10:, :, 0]
    upright = np.abs((theta + np.pi) % (2 * np.pi) - np.pi)
    assert upright.max() < 0.05, upright
    actions = result.actions.numpy()
    assert actions.min() >= -2.0 and actions.max() <= 2.0
    # Control-limited: the swing-up saturates the torque.
    assert np.isclose(np.abs(actions), 2.0).mean() > 0.2


@pytest.mark.parametrize("index", [0, 1])
def test_the_feedback_controller_replays_the_plan_in_the_driver(swing_up, index):
    planner, result = swing_up
    # One plan swings up clockwise and one anticlockwise; the observed angle is wrapped to
    # [-π, π) either way, and the controller must still follow the plan.
    final_angles = result.states.numpy()[-1, :, 0]
    assert abs(final_angles[0] - final_angles[1]) > np.pi
    policy = planner.linear_gaussian_policy(result, index=index)
    env = rf.GymEnv([lambda: rf.models.ModelEnv(rf.models.Pendulum(), 100,
                                                 initial_state=[np.pi, 0.0])])  # fmt: skip
    trajectory = rf.Driver(policy, env, seed=0).run(100)
    env.close()
    np.testing.assert_allclose(trajectory.action.numpy()[:, 0], result.actions.numpy()[:, index],
                               atol=1e-3)  # fmt: skip
    pendulum_cost = tf.reduce_sum(
        rf.models.Pendulum().cost(result.states[:-1, index], result.actions[:, index])
    ).numpy()
    np.testing.assert_allclose(-trajectory.reward.numpy().sum(), pendulum_cost, rtol=1e-3)


def test_nonconvex_costs_are_clipped_with_a_warning_or_rejected():
    pendulum = rf.models.Pendulum()
    hanging = [[np.pi, 0.0]]  # 1 - cos θ is concave around the bottom
    clip = ILQR(pendulum, ILQRConfig(horizon=10, max_iterations=3), cost=pendulum.smooth_cost)
    with pytest.warns(UserWarning, match="not positive semi-definite.*clipped"):
        clip.solve(hanging)
    strict = ILQR(pendulum, ILQRConfig(horizon=10, max_iterations=3, nonconvex_cost="raise"),
                  cost=pendulum.smooth_cost)  # fmt: skip
    with pytest.raises(ValueError, match="most negative eigenvalue -2"):
        strict.solve(hanging)


def test_squash_bounds_stay_inside_the_box():
    planner = ILQR(rf.models.Pendulum(), ILQRConfig(horizon=30, max_iterations=20,
                                                    bounds="squash"))  # fmt: skip
    result = planner.solve([[1.0, 0.0]])
    history = result.cost_history.numpy()
    assert np.all(np.diff(history, axis=0) <= 1e-9) and history[-1] < history[0]
    assert np.abs(result.actions.numpy()).max() < 2.0
