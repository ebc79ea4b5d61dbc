"""GAE against hand-computed examples, with termination, truncation and reset rows."""

import numpy as np
import pytest
import tensorflow as tf

from reinforceable.ops import generalized_advantage_estimation
from tests.conftest import run


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
