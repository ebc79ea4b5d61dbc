"""KL-constrained LQG: the constraint is met, the cost improves, the KL formula against Monte
Carlo, and Brent's method."""

import numpy as np
import pytest

from reinforceable.planning import (
    AffineDynamics,
    LinearGaussianController,
    QuadraticCost,
    brent,
    expected_cost,
    kl_constrained_lqg,
    trajectory_distribution,
    trajectory_kl,
)

N, M, T = 2, 1, 10


def _setup(seed=0):
    rng = np.random.default_rng(seed)
    A = np.array([[1.0, 0.1], [0.0, 1.0]]) + 0.05 * rng.normal(size=(N, N))
    B = np.array([[0.0], [0.1]])
    dynamics = AffineDynamics(
        np.broadcast_to(np.concatenate([A, B], 1), (T, N, N + M)).copy(),
        0.01 * rng.normal(size=(T, N)), np.broadcast_to(1e-3 * np.eye(N), (T, N, N)).copy(),
    )  # fmt: skip
    hessian = np.broadcast_to(np.diag([2.0, 0.2, 0.02]), (T, 3, 3)).copy()
    cost = QuadraticCost(hessian, np.zeros((T, 3)), np.zeros(T), np.zeros((N, N)), np.zeros(N),
                         0.0)  # fmt: skip
    reference = LinearGaussianController(
        0.1 * rng.normal(size=(T, M, N)), 0.1 * rng.normal(size=(T, M)),
        np.broadcast_to(np.eye(M), (T, M, M)).copy(),
    )  # fmt: skip
    return dynamics, cost, reference, np.array([1.0, 0.0]), 0.01 * np.eye(N)


@pytest.mark.parametrize("step", [0.1, 1.0, 10.0])
def test_the_kl_constraint_is_met_and_the_expected_cost_falls(step):
    dynamics, cost, reference, mean0, cov0 = _setup()
    solution = kl_constrained_lqg(dynamics, cost, reference, step, mean0, cov0)
    assert abs(solution.kl - step) <= 0.1 * step
    # The reported KL is the KL of the returned controller.
    distribution = trajectory_distribution(dynamics, solution.controller, mean0, cov0)
    assert trajectory_kl(distribution, solution.controller, reference) == pytest.approx(solution.kl)
    before = expected_cost(cost, trajectory_distribution(dynamics, reference, mean0, cov0))
    assert expected_cost(cost, distribution) < before


def test_larger_steps_give_smaller_eta_and_lower_cost():
    dynamics, cost, reference, mean0, cov0 = _setup(1)
    small, large = (kl_constrained_lqg(dynamics, cost, reference, s, mean0, cov0)
                    for s in (0.5, 5.0))  # fmt: skip
    assert large.eta < small.eta
    costs = [expected_cost(cost, trajectory_distribution(dynamics, s.controller, mean0, cov0))
             for s in (small, large)]  # fmt: skip
    assert costs[1] < costs[0]


def test_an_inactive_constraint_returns_the_smallest_eta():
    dynamics, cost, reference, mean0, cov0 = _setup(2)
    solution = kl_constrained_lqg(dynamics, cost, reference, 1e6, mean0, cov0)
    assert solution.eta == 1e-8 and solution.kl < 1e6


def test_trajectory_kl_matches_a_monte_carlo_estimate():
    dynamics, _, reference, mean0, cov0 = _setup(3)
    rng = np.random.default_rng(4)
    other = reference._replace(offsets=reference.offsets + 0.3,
                               covariance=0.5 * reference.covariance)  # fmt: skip
    distribution = trajectory_distribution(dynamics, other, mean0, cov0)
    exact = trajectory_kl(distribution, other, reference)
    # Sample trajectories from `other` and average log p(u|x) - log p̄(u|x).
    samples = 20000
    x = rng.multivariate_normal(mean0, cov0, size=samples)
    total = np.zeros(samples)
    F, f, W = dynamics
    for t in range(T):

        def log_density(u, c, x=x, t=t):
            mean = x @ c.gains[t].T + c.offsets[t]
            var = c.covariance[t, 0, 0]
            return -0.5 * ((u - mean)[:, 0] ** 2 / var + np.log(2 * np.pi * var))

        u = x @ other.gains[t].T + other.offsets[t]
        u = u + rng.normal(size=(samples, 1)) * np.sqrt(other.covariance[t, 0, 0])
        total += log_density(u, other) - log_density(u, reference)
        z = np.concatenate([x, u], 1)
        x = z @ F[t].T + f[t] + rng.multivariate_normal(np.zeros(N), W[t], size=samples)
    assert total.mean() == pytest.approx(exact, rel=0.03)


def test_brent_finds_roots_and_refuses_a_bracket_without_a_sign_change():
    root, evaluations = brent(lambda x: x**3 - 2.0, 0.0, 4.0, 1e-12, 100)
    assert root == pytest.approx(2 ** (1 / 3), abs=1e-10)
    assert evaluations < 20  # bisection alone would need about 40
    with pytest.raises(ValueError, match="same sign"):
        brent(lambda x: x**2 + 1, -1.0, 1.0, 1e-9, 10)


def test_bad_input_is_refused():
    dynamics, cost, reference, mean0, cov0 = _setup()
    with pytest.raises(ValueError, match="`step` must be > 0"):
        kl_constrained_lqg(dynamics, cost, reference, 0.0, mean0, cov0)
    singular = reference._replace(covariance=np.zeros_like(reference.covariance))
    with pytest.raises(ValueError, match="covariances must be positive definite"):
        kl_constrained_lqg(dynamics, cost, singular, 1.0, mean0, cov0)
