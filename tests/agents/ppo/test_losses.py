"""The PPO loss against a hand-computed example."""

import math

import numpy as np
import tensorflow as tf

from reinforceable.agents.ppo import PPOBatch, ppo_loss
from reinforceable.agents.ppo.losses import explained_variance
from tests.conftest import run


def test_ppo_loss_by_hand(mode):
    # Two real steps and a third, masked out, with wild values that must not count.
    # ratio = exp(log_prob - old) = [1, 2]; advantages 1 (not normalised); clip 0.2:
    #   min(ratio A, clip(ratio) A) = [1, 1.2] -> policy loss -1.1.
    # Values [1, 2.2], old [1, 3], returns 2, value clip 0.5: unclipped errors [1, 0.04];
    #   clipped prediction [1, 3 - 0.5 = 2.5] -> [1, 0.25]; max -> [1, 0.25]; loss .5 * .625.
    # Entropy [1, 2] -> 1.5. loss = -1.1 + 0.5 * 0.3125 - 0.1 * 1.5 = -1.09375.
    # approx KL = mean((ratio - 1) - log ratio) = (1 - log 2) / 2; clip fraction 1/2.
    batch = PPOBatch(
        log_prob=tf.constant([0.0, math.log(2.0), 5.0]),
        old_log_prob=tf.constant([0.0, 0.0, -5.0]),
        advantage=tf.constant([1.0, 1.0, 100.0]),
        value=tf.constant([1.0, 2.2, 100.0]),
        old_value=tf.constant([1.0, 3.0, 0.0]),
        returns=tf.constant([2.0, 2.0, -100.0]),
        entropy=tf.constant([1.0, 2.0, 100.0]),
        discrete_entropy=tf.constant([0.5, 1.0, 50.0]),
        mask=tf.constant([True, True, False]),
    )

    def loss(discrete_entropy_coef=None):
        return ppo_loss(
            batch,
            clip_range=0.2,
            value_coef=0.5,
            entropy_coef=0.1,
            clip_range_value=0.5,
            normalize_advantages=False,
            discrete_entropy_coef=discrete_entropy_coef,
        )

    total, metrics = run(loss, mode)
    np.testing.assert_allclose(total, -1.09375, rtol=1e-6)
    # A weight of its own for the discrete part: mean H_d = 0.75, so the bonus is
    # 0.1 * (1.5 - 0.75) + 0.3 * 0.75 = 0.3 and the loss -1.1 + 0.15625 - 0.3 = -1.24375.
    np.testing.assert_allclose(run(lambda: loss(0.3), mode)[0], -1.24375, rtol=1e-6)
    np.testing.assert_allclose(metrics["losses/discrete_entropy"], 0.75, rtol=1e-6)
    np.testing.assert_allclose(metrics["losses/policy_loss"], -1.1, rtol=1e-6)
    np.testing.assert_allclose(metrics["losses/value_loss"], 0.3125, rtol=1e-6)
    np.testing.assert_allclose(metrics["losses/entropy"], 1.5, rtol=1e-6)
    np.testing.assert_allclose(metrics["losses/approx_kl"], (1 - math.log(2)) / 2, rtol=1e-6)
    np.testing.assert_allclose(metrics["losses/clip_fraction"], 0.5, rtol=1e-6)


def test_clipped_ratio_has_no_policy_gradient_beyond_the_clip():
    # A positive advantage and a ratio already above 1 + eps: the clipped term is the minimum,
    # and it is constant in the parameters, so the gradient is zero. Below the clip it is A*ratio.
    log_prob = tf.Variable([math.log(1.5), math.log(1.1)])
    with tf.GradientTape() as tape:
        loss, _ = ppo_loss(
            PPOBatch(
                log_prob=log_prob,
                old_log_prob=tf.zeros([2]),
                advantage=tf.ones([2]),
                value=tf.zeros([2]),
                old_value=tf.zeros([2]),
                returns=tf.zeros([2]),
                entropy=tf.zeros([2]),
                discrete_entropy=tf.zeros([2]),
                mask=tf.ones([2], tf.bool),
            ),
            clip_range=0.2,
            value_coef=0.5,
            entropy_coef=0.0,
            normalize_advantages=False,
        )
    # d/dlogp of -(1/2) * ratio = -(1/2) * ratio for the unclipped entry.
    np.testing.assert_allclose(tape.gradient(loss, log_prob).numpy(), [0.0, -0.55], rtol=1e-6)


def test_advantages_are_standardised_over_the_masked_steps():
    batch = PPOBatch(
        log_prob=tf.zeros([3]),
        old_log_prob=tf.zeros([3]),
        advantage=tf.constant([1.0, 3.0, 1000.0]),
        value=tf.zeros([3]),
        old_value=tf.zeros([3]),
        returns=tf.zeros([3]),
        entropy=tf.zeros([3]),
        discrete_entropy=tf.zeros([3]),
        mask=tf.constant([True, True, False]),
    )
    # Standardised over the two real steps: [-1, 1]; ratio 1 -> policy loss -mean = 0.
    _, metrics = ppo_loss(batch, clip_range=0.2, value_coef=0.0, entropy_coef=0.0)
    np.testing.assert_allclose(metrics["losses/policy_loss"], 0.0, atol=1e-6)


def test_explained_variance_by_hand():
    # Returns [1, 2, 4] and values [1, 2, 3] on the masked-in rows; the fourth row is masked out.
    # Var(G - V) = Var([0, 0, 1]) = 2/9, Var(G) = Var([1, 2, 4]) = 14/9: 1 - 2/14 = 6/7.
    values = tf.constant([1.0, 2.0, 3.0, 100.0])
    returns = tf.constant([1.0, 2.0, 4.0, -100.0])
    mask = tf.constant([True, True, True, False])
    np.testing.assert_allclose(explained_variance(values, returns, mask).numpy(), 6 / 7, rtol=1e-6)
