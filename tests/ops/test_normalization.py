"""Running statistics against NumPy, and reward scaling by the discounted return's deviation."""

import numpy as np
import tensorflow as tf

from reinforceable.ops import (
    LinearSchedule,
    ObservationNormalizer,
    RewardScaler,
    RunningMeanStd,
    running_discounted_returns,
    schedule_value,
)


def test_running_mean_std_matches_numpy_over_uneven_batches():
    rng = np.random.default_rng(0)
    batches = [rng.normal(3.0, 2.0, size=(n, 2)) for n in (1, 7, 30, 2)]
    statistics = RunningMeanStd((2,), epsilon=1e-12)
    for batch in batches:
        statistics.update(batch)
    everything = np.concatenate(batches)
    np.testing.assert_allclose(statistics.mean.numpy(), everything.mean(0), rtol=1e-9)
    np.testing.assert_allclose(statistics.var.numpy(), everything.var(0), rtol=1e-6)
    normalized = statistics.normalize(tf.constant(everything, tf.float32)).numpy()
    np.testing.assert_allclose(normalized.mean(0), 0.0, atol=1e-5)
    np.testing.assert_allclose(normalized.std(0), 1.0, rtol=1e-4)


def test_running_mean_std_mask_leaves_rows_out():
    statistics = RunningMeanStd((), epsilon=1e-12)
    statistics.update(tf.constant([1.0, 100.0, 3.0]), mask=tf.constant([True, False, True]))
    np.testing.assert_allclose(statistics.mean.numpy(), 2.0)
    np.testing.assert_allclose(statistics.var.numpy(), 1.0, rtol=1e-6)


def test_observation_normalizer_touches_only_floating_leaves():
    spec = {"x": tf.TensorSpec([2], tf.float32), "mask": tf.TensorSpec([3], tf.int32)}
    normalizer = ObservationNormalizer(spec)
    batch = {"x": tf.constant([[0.0, 10.0], [2.0, 30.0]]), "mask": tf.constant([[1, 0, 1]] * 2)}
    normalizer.update(batch)
    out = normalizer.normalize(batch)
    np.testing.assert_array_equal(out["mask"], batch["mask"])
    np.testing.assert_allclose(out["x"].numpy(), [[-1.0, -1.0], [1.0, 1.0]], atol=1e-3)


def test_reward_scaler_divides_by_the_std_of_the_discounted_return():
    # One environment, gamma 0.5, rewards 2, 2, (episode ends), reset row, 4.
    # Discounted returns: 2, 0.5*2 + 2 = 3, (reset row skipped), 4 -> std of {2, 3, 4}.
    rewards = tf.constant([[2.0], [2.0], [0.0], [4.0]])
    ended = tf.constant([[False], [True], [False], [False]])
    valid = tf.constant([[True], [True], [False], [True]])
    returns, carry = running_discounted_returns(rewards, valid, ended, 0.5, tf.zeros([1]))
    np.testing.assert_allclose(returns.numpy()[[0, 1, 3], 0], [2.0, 3.0, 4.0])
    # The return carried to the next trajectory is the running one (4), not reset.
    np.testing.assert_allclose(carry.numpy(), [4.0])
    scaler = RewardScaler(epsilon=1e-12)
    scaled = scaler(rewards, returns, valid)
    # The initial pseudo-count is tiny, so the statistics are those of {2, 3, 4}.
    np.testing.assert_allclose(scaled.numpy(), rewards.numpy() / np.std([2.0, 3.0, 4.0]), rtol=1e-5)


def test_running_returns_continue_from_the_carry_and_restart_after_an_episode_ends():
    # gamma 0.5, carry 4 from the last trajectory: 0.5 * 4 + 1 = 3; that row ends the episode,
    # so the invalid reset row keeps the carry 0 and the next episode starts from 2.
    rewards = tf.constant([[1.0], [9.0], [2.0]])
    valid = tf.constant([[True], [False], [True]])
    ended = tf.constant([[True], [False], [False]])
    returns, carry = running_discounted_returns(rewards, valid, ended, 0.5, tf.constant([4.0]))
    np.testing.assert_allclose(returns.numpy()[:, 0], [3.0, 0.0, 2.0])
    np.testing.assert_allclose(carry.numpy(), [2.0])


def test_linear_schedule():
    schedule = LinearSchedule(1e-3)
    np.testing.assert_allclose(float(schedule_value(schedule, 0.0)), 1e-3)
    np.testing.assert_allclose(float(schedule_value(schedule, 0.25)), 7.5e-4)
    np.testing.assert_allclose(float(schedule_value(schedule, 2.0)), 0.0)
    np.testing.assert_allclose(float(schedule_value(0.2, 0.7)), 0.2)
