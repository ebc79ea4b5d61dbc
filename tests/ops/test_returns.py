"""GAE against hand-computed examples, with termination, truncation and reset rows."""

import numpy as np
import pytest
import tensorflow as tf

from reinforceable.ops import generalized_advantage_estimation, n_step_returns
from tests.conftest import n_step_reference, run


def test_gae_by_hand(mode):
    # Two environments, T = 4, gamma = lambda = 0.5, V = [10, 20, 30, 40], V_T = 50.
    # Column 0: truncation at row 1, so row 2 is the reset row (invalid) and holds the final
    #   observation's value 30, which row 1 bootstraps from:
    #   A3 = 3 + .5*50 - 40 = -12; A2 = 0 (invalid); A1 = 2 + .5*30 - 20 = -3 (no recursion past
    #   the truncation); A0 = (1 + .5*20 - 10) + .25*A1 = 1 - .75 = .25.
    # Column 1: termination at row 0 (nothing bootstrapped), row 1 invalid:
    #   A3 = -12; A2 = (2 + .5*40 - 30) + .25*A3 = -8 - 3 = -11; A1 = 0; A0 = 1 - 10 = -9.
    rewards = tf.constant([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    values = tf.constant([[10.0, 10.0], [20.0, 20.0], [30.0, 30.0], [40.0, 40.0]])
    bootstrap = tf.constant([50.0, 50.0])
    terminated = tf.constant([[False, True], [False, False], [False, False], [False, False]])
    truncated = tf.constant([[False, False], [True, False], [False, False], [False, False]])
    valid = tf.constant([[True, True], [True, False], [False, True], [True, True]])

    def gae():
        return generalized_advantage_estimation(
            rewards, values, bootstrap, terminated, truncated, valid, discount=0.5, lambda_=0.5
        )

    advantages, returns = run(gae, mode)
    expected = np.array([[0.25, -9.0], [-3.0, 0.0], [0.0, -11.0], [-12.0, -12.0]])
    np.testing.assert_allclose(advantages, expected, rtol=1e-6)
    np.testing.assert_allclose(returns, expected + values.numpy(), rtol=1e-6)


def test_gae_lambda_one_is_the_discounted_return_minus_the_value():
    rng = np.random.default_rng(0)
    rewards = rng.normal(size=(6, 3)).astype(np.float32)
    values = rng.normal(size=(6, 3)).astype(np.float32)
    bootstrap = rng.normal(size=3).astype(np.float32)
    false = np.zeros((6, 3), bool)
    _, returns = generalized_advantage_estimation(
        rewards, values, bootstrap, false, false, ~false, discount=0.9, lambda_=1.0
    )
    expected = bootstrap.copy()
    for t in reversed(range(6)):
        expected = rewards[t] + 0.9 * expected
        np.testing.assert_allclose(returns[t], expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"discount": 0.0}, "discount"),
        ({"discount": 1.5}, "discount"),
        ({"lambda_": -0.1}, "lambda_"),
        ({"values": tf.zeros([4])}, "values"),
        ({"rewards": tf.zeros([3, 2])}, "rewards"),
        ({"bootstrap_value": tf.zeros([3])}, "bootstrap_value"),
        ({"terminated": tf.zeros([4, 2])}, "terminated"),
    ],
)
def test_gae_rejects_bad_input(kwargs, message):
    args = {
        "rewards": tf.zeros([4, 2]),
        "values": tf.zeros([4, 2]),
        "bootstrap_value": tf.zeros([2]),
        "terminated": tf.zeros([4, 2], tf.bool),
        "truncated": tf.zeros([4, 2], tf.bool),
        "valid": tf.ones([4, 2], tf.bool),
        "discount": 0.9,
        "lambda_": 0.9,
    }
    args.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        generalized_advantage_estimation(**args)


def test_n_step_returns_by_hand(mode):
    # Same layout as above (γ = .5, n = 2). Column 0: truncation at row 1, reset row 2.
    #   row 0: r0 + .5 r1 = 2, γ^2 = .25, bootstrap from row 2 (the final observation);
    #   row 1: the episode ends here: r1 = 2, γ = .5 (truncated: bootstrap), from row 2;
    #   row 3: the rollout ends: r3 = 3, γ = .5, from row 4 (the observation after the rollout).
    # Column 1: termination at row 0, reset row 1.
    #   row 0: r0 = 1, discount 0; row 2: r2 + .5 r3 = 3.5, .25, from row 4; row 3: 3, .5, row 4.
    rewards = tf.constant([[1.0, 1.0], [2.0, 0.0], [0.0, 2.0], [3.0, 3.0]])
    terminated = tf.constant([[False, True], [False, False], [False, False], [False, False]])
    truncated = tf.constant([[False, False], [True, False], [False, False], [False, False]])
    valid = tf.constant([[True, True], [True, False], [False, True], [True, True]])
    returns, discounts, next_index = run(
        lambda: n_step_returns(rewards, terminated, truncated, valid, discount=0.5, n=2), mode
    )
    np.testing.assert_allclose(returns, [[2.0, 1.0], [2.0, 0.0], [0.0, 3.5], [3.0, 3.0]])
    np.testing.assert_allclose(discounts, [[0.25, 0.0], [0.5, 0.0], [0.0, 0.25], [0.5, 0.5]])
    np.testing.assert_array_equal(next_index[valid.numpy()], [2, 1, 2, 4, 4, 4])


@pytest.mark.parametrize("n", [1, 3, 5])
def test_n_step_returns_match_a_python_loop(n):
    rng = np.random.default_rng(n)
    steps, envs, gamma = 12, 4, 0.9
    rewards = rng.normal(size=(steps, envs)).astype(np.float32)
    ended = rng.random((steps, envs)) < 0.2
    terminated = ended & (rng.random((steps, envs)) < 0.5)
    truncated = ended & ~terminated
    # Next-step auto-reset: the row after an episode's end is the invalid reset row.
    valid = np.ones((steps, envs), bool)
    valid[1:] = ~ended[:-1]
    ended &= valid
    terminated &= valid
    truncated &= valid
    returns, discounts, next_index = (
        x.numpy() for x in n_step_returns(rewards, terminated, truncated, valid, gamma, n)
    )
    for b in range(envs):
        for t in range(steps):
            if not valid[t, b]:
                assert returns[t, b] == 0 and discounts[t, b] == 0
                continue
            total, discount, following = n_step_reference(
                rewards, ended, terminated, gamma, n, t, b
            )
            assert next_index[t, b] == following
            np.testing.assert_allclose(returns[t, b], total, rtol=1e-5)
            np.testing.assert_allclose(discounts[t, b], discount, rtol=1e-6)


def test_n_step_must_be_positive():
    with pytest.raises(ValueError, match="`n`"):
        n_step_returns([[1.0]], [[False]], [[False]], [[True]], 0.9, 0)
