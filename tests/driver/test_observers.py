import numpy as np
import pytest
import tensorflow as tf

from reinforceable.driver import EpisodeStatistics, SuccessRate, Transition
from reinforceable.envs import Timestep


def timestep(reward, ended=(), started=(), num_envs=3):
    flags = np.zeros(num_envs, bool)
    terminated = flags.copy()
    terminated[list(ended)] = True
    start = flags.copy()
    start[list(started)] = True
    return Timestep(
        observation=tf.zeros([num_envs, 1]),
        reward=tf.constant(reward, tf.float32),
        terminated=tf.constant(terminated),
        truncated=tf.constant(flags),
        episode_start=tf.constant(start),
    )


def test_returns_lengths_and_counts_with_a_wrapping_window():
    statistics = EpisodeStatistics(window=3)
    statistics.build(3)
    assert np.isnan(statistics.result()["episode_return"].numpy())
    # (now, after) pairs; a transition counts only if `now` did not end an episode.
    steps = [
        (timestep([0, 0, 0], started=[0, 1, 2]), timestep([1, 5, 4], ended=[0])),
        (timestep([1, 5, 4], ended=[0]), timestep([0, 0, 0], started=[0])),  # env 0 resets
        (timestep([0, 0, 0], started=[0]), timestep([1, 5, 6], ended=[2])),
        (timestep([1, 5, 6], ended=[2]), timestep([0, 0, 0], started=[2])),  # env 2 resets
        (timestep([0, 0, 0], started=[2]), timestep([1, 5, 0])),
        (timestep([1, 5, 0]), timestep([1, 5, 0], ended=[0])),
    ]
    for now, after in steps:
        statistics.update(Transition(now, tf.zeros([3]), {}, after))
    # By hand, (return, length) per env:
    #   env 0: 1 (len 1) ends at step 1; the reset step is skipped; then 1 + 1 + 1 = 3 over 4
    #          valid steps (rewards 1, 0, 1, 1) ends at step 6.
    #   env 2: 4 + 0 + 6 = 10 over 3 steps ends at step 3.
    #   env 1 has 5 + 0 + 5 + 0 + 5 + 5 = 20 over 6 steps, still running.
    np.testing.assert_allclose(statistics.values().numpy(), [[1, 1], [10, 3], [3, 4]])
    finish_two = Transition(
        timestep([0, 0, 0]), tf.zeros([3]), {}, timestep([1, 5, 0], ended=[0, 1])
    )
    statistics.update(finish_two)
    # env 0 ends (1, len 1) and env 1 ends (25, len 7) at the same step, in env order; the window
    # of 3 drops the oldest.
    np.testing.assert_allclose(statistics.values().numpy(), [[3, 4], [1, 1], [25, 7]])
    result = statistics.result()
    assert result["episodes"].numpy() == 5 and result["env_steps"].numpy() == 21
    assert result["episode_return"].numpy() == pytest.approx(29 / 3)
    assert result["episode_length"].numpy() == pytest.approx(12 / 3)


def test_window_must_be_positive():
    with pytest.raises(ValueError, match="`window` must be a positive int"):
        EpisodeStatistics(window=0)


def test_success_rate_counts_terminal_rewards_above_the_threshold():
    observer = SuccessRate()
    observer.build(3)

    def step(reward, terminated, truncated):
        after = Timestep(
            observation=tf.zeros([3, 1]),
            reward=tf.constant(reward),
            terminated=tf.constant(terminated),
            truncated=tf.constant(truncated),
            episode_start=tf.zeros([3], tf.bool),
        )
        observer.update(Transition(after, tf.zeros([3]), {}, after))

    assert float(observer.result()) == 0.0  # no episode yet
    # Env 0 succeeds (+1.2 at termination), env 1 fails (-0.9), env 2 only moves on.
    step([1.2, -0.9, 0.5], [True, True, False], [False, False, False])
    # Env 2 is truncated with a positive reward: still a failure.
    step([0.0, 0.0, 0.7], [False, False, False], [False, False, True])
    assert float(observer.result()) == pytest.approx(1 / 3)
