"""`TFEnv`: the same episodes as `ModelEnv` in a `GymEnv`, step by step, across resets and
truncations, in the graph loop and compiled with XLA; seeds, noise and bad models."""

import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.driver import Policy, PolicyStep
from reinforceable.models import CartPole, LinearSystem, ModelEnv, PartiallyObserved, Pendulum
from reinforceable.models.base import Model


class _Feedback(Policy):
    """A deterministic nonlinear policy of the observation, `u = 2 tanh(w · o)`: the same inputs
    give the same actions in both loops, and the actions span the bounds."""

    def __init__(self, weights):
        self.weights = tf.constant(weights, tf.float32)

    def step(self, timestep, state, seed):
        action = 2.0 * tf.tanh(tf.linalg.matvec(timestep.observation, self.weights))[:, None]
        return PolicyStep(action=action, state=state, extras={})


def _starts(model, count, seed):
    low, high = model.initial_state_bounds()
    return np.random.default_rng(seed).uniform(low, high, (count, model.state_dim))


def _rows(trajectory):
    return [
        np.asarray(trajectory.observation),
        np.asarray(trajectory.reward),
        np.asarray(trajectory.terminated),
        np.asarray(trajectory.truncated),
        np.asarray(trajectory.episode_start),
        np.asarray(trajectory.valid),
    ]


@pytest.mark.parametrize(
    "model, weights, max_steps",
    [
        (Pendulum(), [1.0, -0.5, 0.3], 17),  # truncations every 17 steps
        (CartPole(), [0.0, 3.0, -1.0, 0.5], 500),  # pushed over: terminations
    ],
)
@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_tf_env_matches_model_env_step_by_step(model, weights, max_steps, jit_compile):
    n, steps = 4, 60
    starts = _starts(model, n, seed=1)
    reference = rf.GymEnv(
        [lambda s=s: ModelEnv(model, max_steps, initial_state=s) for s in starts], seed=0
    )
    env = rf.TFEnv(model, n, max_steps, initial_state=starts, dtype="float64", seed=0)
    policy = _Feedback(weights)
    expected = rf.Driver(policy, reference, seed=0).run(steps=n * steps)
    driver = rf.Driver(policy, env, seed=0, jit_compile=jit_compile)
    received = driver.run(steps=n * steps)
    ended = np.asarray(received.terminated | received.truncated)
    assert ended.sum() >= n  # the comparison crosses resets
    for want, got in zip(_rows(expected), _rows(received), strict=True):
        if want.dtype == bool:
            np.testing.assert_array_equal(got, want)
        else:  # XLA's sin/cos may differ from TF's kernels in the last float32 bit
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    # The next chunk starts where both left off.
    np.testing.assert_allclose(
        np.asarray(driver.timestep.observation),
        np.asarray(expected.next_timestep.observation),
        rtol=1e-5,
        atol=1e-5,
    )
    reference.close()


def test_random_first_states_follow_the_seed_and_stay_in_the_model_bounds():
    model = Pendulum()
    first = rf.TFEnv(model, 256, seed=3).reset().observation.numpy()
    same = rf.TFEnv(model, 256, seed=3).reset().observation.numpy()
    other = rf.TFEnv(model, 256, seed=4).reset().observation.numpy()
    np.testing.assert_array_equal(first, same)
    assert not np.allclose(first, other)
    states = model.state_from_observation(first).numpy()
    low, high = model.initial_state_bounds()
    assert np.all(states >= low - 1e-5) and np.all(states <= high + 1e-5)
    env = rf.TFEnv(model, 256, seed=3)
    env.reset()
    np.testing.assert_array_equal(env.reset(seed=3).observation, first)  # re-seeded
    assert env.tf_step(tf.zeros([256, 1])).observation.shape == (256, 3)
    np.testing.assert_array_equal(rf.TFEnv(model, 256, seed=9).reset(seed=3).observation, first)


def test_noise_of_a_partially_observed_model_has_its_covariances():
    system = LinearSystem(np.eye(2), np.eye(2))
    noisy = PartiallyObserved(
        system, observation_noise=[[0.04, 0.0], [0.0, 0.01]], process_noise=np.eye(2) * 1e-4
    )
    env = rf.TFEnv(noisy, 4096, 1000, seed=0, dtype="float64", initial_state=[0.0, 0.0])
    observation = env.reset().observation.numpy()  # the state is 0: this is the noise alone
    np.testing.assert_allclose(np.cov(observation.T), [[0.04, 0], [0, 0.01]], atol=3e-3)
    after = env.tf_step(tf.zeros([4096, 2])).observation.numpy()
    # One process step later the state's spread is 1e-4, and it adds to the observation noise.
    np.testing.assert_allclose(np.var(after, 0), [0.0401, 0.0101], rtol=0.1)


class _BadStep(Model):
    state_dim, action_dim = 2, 1

    def _step(self, state, action):
        return tf.cast(state, tf.float64)  # the dtype of the state is float32

    def _reward(self, state, action):
        return tf.reduce_sum(state, -1)


class _Broken(_BadStep):
    def _step(self, state, action):
        return state * tf.constant(2.0, tf.float64)  # an op error inside the model


class _BadTerminal(Pendulum):
    def terminal(self, state):
        return tf.zeros(tf.shape(state)[:-1])  # float, not bool


def test_a_model_with_wrong_outputs_is_refused_when_the_env_is_made():
    with pytest.raises(ValueError, match=r"_BadStep.step must return shape \[3, 2\] in float32"):
        rf.TFEnv(_BadStep(), 3)
    with pytest.raises(ValueError, match=r"a trial step of _Broken failed: .*Mul"):
        rf.TFEnv(_Broken(), 3)
    with pytest.raises(ValueError, match=r"_BadTerminal.terminal must return shape \[3\] in bool"):
        rf.TFEnv(_BadTerminal(), 3)
    with pytest.raises(ValueError, match=r"`initial_state` must be finite, \[state_dim\] = \[2\]"):
        rf.TFEnv(Pendulum(), 3, initial_state=[0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="`num_envs` must be a positive int; received 0"):
        rf.TFEnv(Pendulum(), 0)
    with pytest.raises(TypeError, match=r"`model` must be a reinforceable\.models\.Model"):
        rf.TFEnv("Pendulum-v1", 3)


def test_spec_and_spaces_are_those_of_model_env():
    env = rf.TFEnv(Pendulum(), 8)
    reference = ModelEnv(Pendulum())
    spec = rf.EnvSpec(reference.observation_space, reference.action_space, 8)
    assert env.spec.differences(spec) == []
    assert env.num_envs == 8 and env.in_graph and env.xla_compatible


class _Diverging(Model):
    """A state that counts steps (x' = x + 1); once it reaches `at`, env `index`'s next state is
    NaN (`field="observation"`) or its reward is (`"reward"`), as a model that blows up."""

    state_dim, action_dim = 1, 1
    xla_compatible = True

    def __init__(self, at=3, index=1, field="observation"):
        self.at, self.index, self.field = at, index, field

    def _faulty(self, state):
        rows = tf.range(tf.shape(state)[0]) == self.index
        return rows & (state[:, 0] >= self.at - 1)

    def _step(self, state, action):
        bad = (
            self._faulty(state) if self.field == "observation" else tf.zeros_like(state[:, 0], bool)
        )
        nan = tf.constant(np.nan, state.dtype)
        return tf.where(bad[:, None], nan, state + 1.0)

    def _reward(self, state, action):
        bad = self._faulty(state) if self.field == "reward" else tf.zeros_like(state[:, 0], bool)
        return tf.where(bad, tf.constant(np.inf, state.dtype), tf.zeros_like(state[:, 0]))

    def _initial_state(self, shape, seed, dtype):
        return tf.zeros([*shape, 1], dtype)


class _Zero(Policy):
    def step(self, timestep, state, seed):
        return PolicyStep(action=tf.zeros([tf.shape(timestep.reward)[0], 1]), state=state,
                          extras={})  # fmt: skip


@pytest.mark.parametrize("field", ["observation", "reward"])
@pytest.mark.parametrize("loop", ["graph", "xla", "eager"])
def test_a_non_finite_observation_or_reward_is_refused_naming_env_field_and_step(field, loop):
    """Before, a TFEnv over a model that returned NaN ran `Driver.run` to the end with NaN
    observations and rewards. XLA drops the in-graph assertion: the run raises at its end."""
    env = rf.TFEnv(_Diverging(at=3, index=1, field=field), 4, 50)
    driver = rf.Driver(_Zero(), env, run_eagerly=loop == "eager", jit_compile=loop == "xla")
    message = rf"environment 1 returned a non-finite {field} at step 3 after the TFEnv's reset"
    with pytest.raises(rf.envs.NonFiniteError, match=message):
        driver.run(steps=4 * 10)
    quiet = rf.TFEnv(_Diverging(at=3, index=1, field=field), 4, 50, check_finite=False)
    trajectory = rf.Driver(_Zero(), quiet).run(steps=4 * 10)
    values = trajectory.observation if field == "observation" else trajectory.reward
    assert not np.all(np.isfinite(values))
