"""`lqr`, `linearize`, `quadratize`: against scipy's Riccati solution, a direct QP solve, and
hand-computed derivatives."""

import numpy as np
import pytest
import scipy.linalg
import tensorflow as tf

from reinforceable.planning import (
    AffineDynamics,
    QuadraticCost,
    linearize,
    lqr,
    make_positive_semidefinite,
    quadratize,
)
from tests.conftest import run


def _problem(seed, n=3, m=2, horizon=5):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, n)) * 0.7
    B = rng.normal(size=(n, m))
    f = rng.normal(size=(horizon, n))
    L = rng.normal(size=(horizon, n + m, n + m))
    C = L @ np.swapaxes(L, -1, -2) + 0.5 * np.eye(n + m)
    c = rng.normal(size=(horizon, n + m))
    LT = rng.normal(size=(n, n))
    dynamics = AffineDynamics(np.broadcast_to(np.concatenate([A, B], 1), (horizon, n, n + m)), f)
    cost = QuadraticCost(C, c, np.zeros(horizon), LT @ LT.T + np.eye(n), rng.normal(size=n),
                         np.zeros(()))  # fmt: skip
    return dynamics, cost, rng.normal(size=n)


def _direct_optimum(dynamics, cost, x0):
    """The optimal actions by one least-squares solve over the whole sequence: the states are
    affine in the stacked actions, x_t = G_t U + h_t, so the total cost is quadratic in U."""
    F, f = np.asarray(dynamics.matrix), np.asarray(dynamics.offset)
    horizon, n, nm = F.shape
    m = nm - n
    G, h = np.zeros((n, horizon * m)), x0.copy()
    H, g = np.zeros((horizon * m, horizon * m)), np.zeros(horizon * m)
    for t in range(horizon):
        # z_t = [x_t; u_t] = P U + p
        P = np.zeros((nm, horizon * m))
        P[:n], P[n:, t * m : (t + 1) * m] = G, np.eye(m)
        p = np.concatenate([h, np.zeros(m)])
        H += P.T @ cost.hessian[t] @ P
        g += P.T @ (cost.hessian[t] @ p + cost.gradient[t])
        G, h = F[t, :, :n] @ G + F[t, :, n:] @ P[n:], F[t, :, :n] @ h + f[t]
    H += G.T @ cost.terminal_hessian @ G
    g += G.T @ (cost.terminal_hessian @ h + cost.terminal_gradient)
    return np.linalg.solve(H, -g).reshape(horizon, m)


def test_infinite_horizon_gains_equal_scipys_riccati_solution():
    rng = np.random.default_rng(0)
    n, m, horizon = 4, 2, 400
    A, B = rng.normal(size=(n, n)) * 0.5, rng.normal(size=(n, m))
    Q, R = np.diag([1.0, 2.0, 0.5, 1.0]), np.array([[0.5, 0.1], [0.1, 0.3]])
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    riccati_gain = -np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    # Stage cost ½ zᵀ diag(2Q, 2R) z = xᵀQx + uᵀRu; the gains do not depend on the factor.
    solution = lqr(
        AffineDynamics(np.broadcast_to(np.concatenate([A, B], 1), (horizon, n, n + m)),
                       np.zeros((horizon, n))),
        QuadraticCost(np.broadcast_to(scipy.linalg.block_diag(2 * Q, 2 * R), (horizon, 6, 6)),
                      np.zeros((horizon, 6)), np.zeros(horizon), 2 * Q, np.zeros(n), 0.0),
    )  # fmt: skip
    np.testing.assert_allclose(solution.controller.gains[0], riccati_gain, atol=1e-10)
    # The cost-to-go is xᵀPx, that is ½ xᵀ (2P) x.
    np.testing.assert_allclose(solution.value_hessian[0], 2 * P, rtol=1e-8)


def test_finite_horizon_affine_solution_equals_a_direct_qp_solve(mode):
    dynamics, cost, x0 = _problem(1)
    solution = run(lambda: lqr(dynamics, cost), mode)
    K, k = solution.controller.gains, solution.controller.offsets
    x, actions = x0, []
    for t in range(5):
        actions.append(K[t] @ x + k[t])
        x = dynamics.matrix[t] @ np.concatenate([x, actions[-1]]) + dynamics.offset[t]
    np.testing.assert_allclose(np.stack(actions), _direct_optimum(dynamics, cost, x0), atol=1e-9)
    assert solution.positive_definite
    # The LQG controller's covariance is Q_uu⁻¹, symmetric positive definite.
    cov = solution.controller.covariance
    assert np.all(np.linalg.eigvalsh(cov) > 0)


def test_batch_dimensions_solve_independent_problems():
    problems = [_problem(seed) for seed in (2, 3)]

    def batch(values, axis):
        return np.stack([np.asarray(v) for v in values], axis=axis)

    dynamics = AffineDynamics(*(batch([p[0][i] for p in problems], 1) for i in (0, 1)))
    costs = [p[1] for p in problems]
    # The stage terms are [T, B, ...]; the terminal ones have no time axis.
    cost = QuadraticCost(
        *(batch([c[i] for c in costs], 1) for i in range(3)),
        *(batch([c[i] for c in costs], 0) for i in range(3, 6)),
    )
    batched = lqr(dynamics, cost)
    for b, (dynamics, single_cost, _) in enumerate(problems):
        single = lqr(dynamics, single_cost)
        np.testing.assert_allclose(batched.controller.gains[:, b], single.controller.gains,
                                   atol=1e-12)  # fmt: skip


def test_control_bounds_clamp_offsets_and_drop_the_clamped_feedback():
    dynamics, cost, _ = _problem(4, m=1)
    free = lqr(dynamics, cost)
    k = free.controller.offsets.numpy()
    lower, upper = np.full_like(k, -0.05), np.full_like(k, 0.05)
    bounded = lqr(dynamics, cost, control_bounds=(lower, upper))
    kb, Kb = bounded.controller.offsets.numpy(), bounded.controller.gains.numpy()
    assert np.all(kb >= lower - 1e-12) and np.all(kb <= upper + 1e-12)
    clamped = np.abs(kb) >= 0.05 - 1e-12
    assert clamped.any()
    np.testing.assert_array_equal(Kb[clamped[..., 0]], 0.0)
    # The last step has the same cost-to-go in both problems: where it is free, it is unchanged.
    if not clamped[-1, 0]:
        np.testing.assert_allclose(kb[-1], k[-1])


def test_regularization_and_indefinite_q_uu():
    dynamics, cost, _ = _problem(5)
    indefinite = cost._replace(hessian=cost.hessian - 50.0 * np.eye(5))
    assert not lqr(dynamics, indefinite).positive_definite
    assert lqr(dynamics, indefinite, regularization=1e4).positive_definite


def test_shapes_that_do_not_agree_are_refused():
    dynamics, cost, _ = _problem(6)
    with pytest.raises(ValueError, match=r"`cost.gradient` must have shape"):
        lqr(dynamics, cost._replace(gradient=np.zeros((5, 4))))
    with pytest.raises(ValueError, match=r"`dynamics.matrix` must be"):
        lqr(AffineDynamics(np.zeros((3, 5)), np.zeros(3)), cost)


def test_linearize_and_quadratize_match_hand_derivatives(mode):
    # f(x, u) = [x0 x1, sin(u)]; ℓ(x, u) = x0² x1 + x1 u + u³.
    def step(x, u):
        return tf.stack([x[:, 0] * x[:, 1], tf.sin(u[:, 0])], -1)

    def cost(x, u):
        return x[:, 0] ** 2 * x[:, 1] + x[:, 1] * u[:, 0] + u[:, 0] ** 3

    x = np.array([[[1.0, 2.0]], [[-0.5, 0.3]]])  # [T=2, B=1, 2]
    u = np.array([[[0.4]], [[-1.0]]])
    dynamics, quadratic = run(lambda: (linearize(step, x, u)[:2], quadratize(cost, x, u)), mode)
    x0, x1, v = x[1, 0, 0], x[1, 0, 1], u[1, 0, 0]
    np.testing.assert_allclose(dynamics[0][1, 0], [[x1, x0, 0.0], [0.0, 0.0, np.cos(v)]])
    np.testing.assert_allclose(dynamics[1][1, 0], [x0 * x1, np.sin(v)])
    np.testing.assert_allclose(quadratic.gradient[1, 0], [2 * x0 * x1, x0**2 + v, x1 + 3 * v**2])
    np.testing.assert_allclose(
        quadratic.hessian[1, 0], [[2 * x1, 2 * x0, 0.0], [2 * x0, 0.0, 1.0], [0.0, 1.0, 6 * v]]
    )
    np.testing.assert_allclose(quadratic.value[1, 0], x0**2 * x1 + x1 * v + v**3)


def test_make_positive_semidefinite_clips_only_negative_eigenvalues():
    matrix = np.array([[2.0, 0.0], [0.0, -3.0]])
    clipped, most_negative = make_positive_semidefinite(tf.constant(matrix))
    np.testing.assert_allclose(clipped, [[2.0, 0.0], [0.0, 0.0]], atol=1e-12)
    assert most_negative.numpy() == pytest.approx(-3.0)
    psd = np.array([[2.0, 1.0], [1.0, 2.0]])
    np.testing.assert_allclose(make_positive_semidefinite(tf.constant(psd))[0], psd)
