"""SAC's soft value and target against hand-computed examples: continuous, discrete, hybrid."""

import math

import numpy as np
import tensorflow as tf

from reinforceable.agents.sac import soft_q_target, soft_state_value, temperature_loss
from tests.conftest import run


def _value(q, probs, entropy, log_pc, alpha_d, alpha_c, mode):
    return run(
        lambda: soft_state_value(
            tf.constant(q),
            tf.constant(probs),
            tf.reshape(tf.constant(entropy, tf.float32), [len(q), -1]),
            tf.constant(log_pc),
            tf.constant(alpha_d, tf.float32),
            alpha_c,
        ),
        mode,
    )


def _entropy(*p):
    return -sum(x * math.log(x) for x in p if x > 0)


def test_continuous(mode):
    # One combination (K = 1, P = 1), no discrete head: V = Q - α_c log π(c) = 5 - 0.2 (-1.5).
    value = _value([[5.0]], [[1.0]], [], [-1.5], [], 0.2, mode)
    np.testing.assert_allclose(value, [5.3], rtol=1e-6)
    # Target: 1 + 0.9 * 5.3 = 5.77, and just the reward where the next state is terminal.
    target = soft_q_target(tf.constant([1.0, 1.0]), 0.9, tf.constant([False, True]), 5.3)
    np.testing.assert_allclose(target.numpy(), [5.77, 1.0], rtol=1e-6)
    # A per-transition discount (γ^n, or 0 past a terminal state) works the same way.
    target = soft_q_target(tf.constant([1.0, 1.0]), tf.constant([0.81, 0.0]), False, 5.3)
    np.testing.assert_allclose(target.numpy(), [1.0 + 0.81 * 5.3, 1.0], rtol=1e-6)


def test_discrete(mode):
    # P = [.25, .75], Q = [1, 3], α_d = .5, no continuous part:
    # V = .25 (1 - .5 ln .25) + .75 (3 - .5 ln .75) = 2.5 + .125 ln 4 + .375 ln(4/3).
    expected = 2.5 + 0.125 * math.log(4) + 0.375 * math.log(4 / 3)
    value = _value([[1.0, 3.0]], [[0.25, 0.75]], [_entropy(0.25, 0.75)], [0.0], [0.5], 0.2, mode)
    np.testing.assert_allclose(value, [expected], rtol=1e-6)


def test_hybrid(mode):
    # Two discrete choices at P = .5 each with Q = [2, 4] for the sampled c, α_d = 1, and
    # log π(c) = .5 with α_c = .1: V = 3 + ln 2 - .05.
    value = _value([[2.0, 4.0]], [[0.5, 0.5]], [math.log(2.0)], [0.5], [1.0], 0.1, mode)
    np.testing.assert_allclose(value, [3.0 + math.log(2.0) - 0.05], rtol=1e-6)


def test_two_heads_with_temperatures_of_their_own(mode):
    # Heads a (P = [.5, .5], α = 1) and b (P = [.9, .1], α = .2); the combinations (a, b) in the
    # order (0,0), (0,1), (1,0), (1,1) have P = [.45, .05, .45, .05] and Q = [1, 2, 3, 4]:
    # E[Q] = .45 + .1 + 1.35 + .2 = 2.1, plus 1 · ln 2 + .2 · H(.9, .1), minus α_c log π = .1 · 2.
    probs = [[0.45, 0.05, 0.45, 0.05]]
    entropy = [math.log(2.0), _entropy(0.9, 0.1)]
    value = _value([[1.0, 2.0, 3.0, 4.0]], probs, entropy, [2.0], [1.0, 0.2], 0.1, mode)
    expected = 2.1 + math.log(2.0) + 0.2 * _entropy(0.9, 0.1) - 0.2
    np.testing.assert_allclose(value, [expected], rtol=1e-6)
    # With one temperature for both heads, the bonus is the familiar -α Σ_k P(k) log P(k).
    same = _value([[1.0, 2.0, 3.0, 4.0]], probs, entropy, [0.0], [0.3, 0.3], 0.1, mode)
    np.testing.assert_allclose(same, [2.1 + 0.3 * _entropy(*probs[0])], rtol=1e-6)


def test_masked_choices_count_zero_not_nan(mode):
    value = _value([[1.0, 100.0]], [[1.0, 0.0]], [0.0], [0.0], [0.5], 0.2, mode)
    np.testing.assert_allclose(value, [1.0], rtol=1e-6)


def test_temperature_moves_towards_the_target_entropy():
    for entropy, direction in ((2.0, -1.0), (0.5, 1.0)):
        log_alpha = tf.Variable(0.0)
        with tf.GradientTape() as tape:
            loss = temperature_loss(log_alpha, tf.constant([entropy]), 1.0)
        gradient = tape.gradient(loss, log_alpha)
        # Gradient descent moves log α by -lr * gradient: down while the entropy is above the
        # target (α shrinks, less bonus), up while below.
        assert np.sign(-float(gradient)) == direction


def test_each_head_temperature_moves_towards_its_own_target():
    # Head 0 is above its target (α must fall), head 1 below (α must rise).
    log_alpha = tf.Variable([0.0, 0.0])
    with tf.GradientTape() as tape:
        loss = temperature_loss(log_alpha, tf.constant([[2.0, 0.1], [1.5, 0.2]]), [1.0, 0.5])
    np.testing.assert_allclose(-tape.gradient(loss, log_alpha).numpy(), [-0.75, 0.35], rtol=1e-6)
