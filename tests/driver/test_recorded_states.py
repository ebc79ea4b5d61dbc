"""What the Driver records for learners: the policy state at sequence boundaries and the version
of the acting state; and the policy's reset hook."""

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.driver import Driver, KerasPolicy, Policy, PolicyStep, RandomPolicy
from reinforceable.envs import GymEnv
from tests.driver.test_driver import recurrent_cartpole_policy


def _states_by_stepping(policy, trajectory):
    """The state carried into every row, recomputed one step at a time in Python from the
    recorded observations, with the Driver's reset where an episode starts."""
    state = trajectory.policy_state
    initial = policy.initial_state(trajectory.reward.shape[1])
    states = []
    for t in range(trajectory.reward.shape[0]):
        states.append(state)
        start = trajectory.episode_start[t]
        state = tf.nest.map_structure(
            lambda s, i, start=start: tf.where(start[:, None], i, s), state, initial
        )
        timestep = rf.Timestep(
            observation=trajectory.observation[t],
            reward=tf.zeros_like(trajectory.reward[t]),
            terminated=tf.zeros_like(start),
            truncated=tf.zeros_like(start),
            episode_start=start,
        )
        state = policy.step(timestep, state, tf.constant([0, t])).state
    return states


@pytest.mark.parametrize("length", [1, 4])
def test_sequence_states_are_the_states_the_actor_had(length):
    env = GymEnv("CartPole-v1", 3, seed=0)
    policy = KerasPolicy(recurrent_cartpole_policy())
    driver = Driver(policy, env, seed=0, sequence_length=length)
    driver.run(steps=3 * 8)  # start the second run mid-episode, from a carried state
    trajectory = driver.run(steps=3 * 16)
    assert trajectory.episode_start.numpy()[1:].any()  # resets inside the run
    recorded = trajectory.sequence_states["stateful_rnn"][0].numpy()
    assert recorded.shape == (16 // length, 3, 8)
    expected = _states_by_stepping(policy, trajectory)[::length]
    for k, state in enumerate(expected):
        np.testing.assert_allclose(recorded[k], state["stateful_rnn"][0], atol=1e-6)
    np.testing.assert_array_equal(recorded[0], trajectory.policy_state["stateful_rnn"][0])


def test_without_a_sequence_length_nothing_more_is_recorded():
    driver = Driver(recurrent_cartpole_policy(), GymEnv("CartPole-v1", 2, seed=0), seed=0)
    assert driver.run(steps=2 * 4).sequence_states == ()


def test_sequence_states_in_the_xla_compiled_loop_of_a_tf_env():
    env = rf.TFEnv(rf.models.CartPole(), 4, seed=0)
    model = recurrent_cartpole_policy()
    # CartPole's model takes a force in [-1, 1]: act with the category as -1 or +1.
    policy = _Force(KerasPolicy(model))
    compiled = Driver(policy, env, seed=0, jit_compile=True, sequence_length=5)
    trajectory = compiled.run(steps=4 * 20)
    assert trajectory.sequence_states["stateful_rnn"][0].shape == (4, 4, 8)
    np.testing.assert_array_equal(
        trajectory.sequence_states["stateful_rnn"][0][0],
        trajectory.policy_state["stateful_rnn"][0],
    )


class _Force(Policy):
    def __init__(self, inner):
        self.inner = inner

    def build(self, timestep):
        self.inner.build(timestep)

    def initial_state(self, batch_size):
        return self.inner.initial_state(batch_size)

    def step(self, timestep, state, seed):
        step = self.inner.step(timestep, state, seed)
        force = 2.0 * tf.cast(step.action, tf.float32)[:, None] - 1.0
        return PolicyStep(force, step.state, step.extras)


class _Versioned(RandomPolicy):
    def __init__(self, space):
        super().__init__(space, 2)
        self.counter = tf.Variable(0, dtype=tf.int64)
        self.resets = 0

    def version(self):
        return self.counter.read_value()

    def reset(self):
        self.resets += 1


def test_every_trajectory_carries_the_version_of_its_policy_and_reset_reaches_the_policy():
    env = GymEnv("CartPole-v1", 2, seed=0)
    policy = _Versioned(env.action_space)
    driver = Driver(policy, env, seed=0)
    np.testing.assert_array_equal(driver.run(steps=4).policy_version, [0, 0])
    policy.counter.assign(7)  # a new acting state arrives between runs
    version = driver.run(steps=4).policy_version
    assert version.dtype == tf.int64
    np.testing.assert_array_equal(version, [7, 7])
    driver.reset()
    assert policy.resets == 1


def test_a_bad_sequence_length_is_refused():
    env = GymEnv("CartPole-v1", 2, seed=0)
    with pytest.raises(ValueError, match="`sequence_length` must be a positive int or None"):
        Driver(RandomPolicy(env.action_space, 2), env, sequence_length=0)
