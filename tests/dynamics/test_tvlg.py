"""`fit_tvlg` and `GMMPrior`: recovery of a noisy linear system, the prior with few samples,
and the errors for bad input."""

import re

import numpy as np
import pytest

from reinforceable.dynamics import GMMPrior, fit_tvlg, joint_gaussian

N_STATE, N_ACTION, STEPS = 3, 2, 4


def _system(seed):
    rng = np.random.default_rng(seed)
    A = np.eye(N_STATE) + 0.2 * rng.normal(size=(N_STATE, N_STATE))
    B = rng.normal(size=(N_STATE, N_ACTION))
    return A, B, rng.normal(size=N_STATE) * 0.1


def _sample(A, B, c, count, seed, noise=0.01):
    """Trajectories of x' = A x + B u + c + w, with random actions and starts."""
    rng = np.random.default_rng(seed)
    states = np.zeros((count, STEPS + 1, N_STATE))
    states[:, 0] = rng.normal(size=(count, N_STATE))
    actions = rng.normal(size=(count, STEPS, N_ACTION))
    for t in range(STEPS):
        states[:, t + 1] = (states[:, t] @ A.T + actions[:, t] @ B.T + c
                            + noise * rng.normal(size=(count, N_STATE)))  # fmt: skip
    return states, actions


def _relative_error(fit, A, B):
    truth = np.concatenate([A, B], 1)
    return max(np.linalg.norm(F - truth) / np.linalg.norm(truth) for F in fit.matrix)


def test_the_fit_recovers_a_and_b_within_two_percent_with_enough_samples():
    A, B, c = _system(0)
    fit = fit_tvlg(*_sample(A, B, c, 200, seed=1))
    assert _relative_error(fit, A, B) < 0.02
    np.testing.assert_allclose(fit.offset, np.broadcast_to(c, (STEPS, N_STATE)), atol=0.01)
    # The residual covariance estimates the process noise, 0.01² I.
    np.testing.assert_allclose(np.diagonal(fit.covariance, axis1=1, axis2=2), 1e-4, rtol=0.4)


def test_too_few_samples_name_how_many_are_needed_unless_a_prior_is_given():
    A, B, c = _system(2)
    few = _sample(A, B, c, 3, seed=3)
    needed = N_STATE + N_ACTION + 1
    with pytest.raises(ValueError, match=f"at least {needed} trajectories without a prior; "
                                         "received 3"):  # fmt: skip
        fit_tvlg(*few)
    # A prior fitted on earlier, plentiful transitions of the same system rescues the fit.
    prior = GMMPrior(components=2).update(*_sample(A, B, c, 100, seed=4))
    fit = fit_tvlg(*few, prior=prior)
    assert _relative_error(fit, A, B) < 0.05


def test_the_prior_pulls_a_tiny_fit_towards_the_mixture():
    A, B, c = _system(5)
    prior = GMMPrior(components=1, strength=1e6).update(*_sample(A, B, c, 100, seed=6))
    # Wrong dynamics in the few samples: a very strong prior ignores them.
    wrong = _sample(-A, B, c, 2, seed=7)
    assert _relative_error(fit_tvlg(*wrong, prior=prior), A, B) < 0.05


def test_joint_gaussian_without_a_prior_is_the_empirical_moments():
    data = np.random.default_rng(8).normal(size=(50, 4))
    mean, covariance = joint_gaussian(data)
    np.testing.assert_allclose(mean, data.mean(0))
    np.testing.assert_allclose(covariance, np.cov(data.T, bias=True))


def test_bad_shapes_and_values_are_refused():
    with pytest.raises(ValueError, match=re.escape("`states` must be [N, T + 1, n] = [4, 3, n]")):
        fit_tvlg(np.zeros((4, 2, 3)), np.zeros((4, 2, 1)))
    with pytest.raises(ValueError, match="must be finite"):
        fit_tvlg(np.full((9, 3, 3), np.nan), np.zeros((9, 2, 1)))
    with pytest.raises(TypeError, match="`prior` must be a GMMPrior"):
        fit_tvlg(np.zeros((9, 3, 3)), np.zeros((9, 2, 1)), prior="gmm")
    with pytest.raises(ValueError, match="`components` must be a positive int"):
        GMMPrior(components=0)
    with pytest.raises(ValueError, match="call `update`"):
        GMMPrior().evaluate(np.zeros((2, 7)))
