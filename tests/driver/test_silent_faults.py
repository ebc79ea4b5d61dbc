"""What once passed silently: NaN actions reached the environment (a hard-bounded head given NaN
inputs samples NaN), and an action mask that allowed nothing chose a masked action unreported."""

import warnings

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import PPOConfig, RecurrentPPOAgent
from reinforceable.driver import Driver, NonFiniteActionError
from reinforceable.models import Pendulum


class _NanAfter(keras.layers.Layer):
    """Passes its input through, but makes the batch row `row` NaN once the first feature
    exceeds `above` (a NaN that comes from outside the policy's weights)."""

    def __init__(self, row=1, above=0.5, **kwargs):
        super().__init__(**kwargs)
        self.row, self.above = row, above

    def call(self, x):
        rows = tf.range(tf.shape(x)[0])[:, None] == self.row
        return tf.where(rows & (x[:, :1] > self.above), np.nan, x)


def _bounded_policy(observation_dim, row=1, above=0.5):
    inputs = keras.Input((observation_dim,))
    head = rf.DenseNormal((1,), output_bounds=[[-2.0, 2.0]], hard_bounds=True)
    return keras.Model(inputs, {"torque": head(_NanAfter(row, above)(inputs))})


def test_a_hard_bounded_head_given_nan_inputs_samples_nan_which_the_driver_refuses():
    """Documented: NaN in, NaN out (tanh(NaN) is NaN), hard bounds included. The Driver refuses
    the action before the environment steps with it, naming the leaf, the env and the step."""
    head = rf.DenseNormal((1,), output_bounds=[[-2.0, 2.0]], hard_bounds=True)
    sample = head(tf.constant([[np.nan, 0.0], [0.1, 0.2]])).sample(seed=(1, 2)).numpy()
    assert np.isnan(sample[0, 0]) and np.all(np.abs(sample[1]) <= 2.0)

    class _Dict(gym.Wrapper):
        def __init__(self, env):
            super().__init__(env)
            self.action_space = gym.spaces.Dict({"torque": env.action_space})

        def step(self, action):
            return self.env.step(action["torque"])

    env = rf.GymEnv([lambda: _Dict(gym.make("Pendulum-v1"))] * 3, seed=0)
    # Pendulum's cos θ exceeds 0.5 for env 1 at some step: that row's action becomes NaN.
    driver = Driver(_bounded_policy(3, row=1, above=0.5), env, seed=0)
    with pytest.raises(NonFiniteActionError, match=r"the policy's action\['torque'\] is NaN or "
                       r"infinite for environment 1 at step \d+ of the run"):  # fmt: skip
        driver.run(steps=3 * 200)


@pytest.mark.parametrize("loop", ["graph", "xla", "eager"])
def test_non_finite_actions_are_refused_in_every_loop(loop):
    """In a TFEnv loop compiled with XLA the assertion is dropped: the run raises at its end."""
    env = rf.TFEnv(Pendulum(), 4, 200, seed=0, initial_state=[0.1, 0.0])
    # The observation is (cos θ, sin θ, θ'): the first feature is cos(0.1) > 0.5 from the start.
    driver = Driver(_unbounded(), env, run_eagerly=loop == "eager", jit_compile=loop == "xla")
    with pytest.raises(NonFiniteActionError, match="for environment 2 at step 0 of the run"):
        driver.run(steps=4 * 5)


def _unbounded():
    inputs = keras.Input((3,))
    return keras.Model(inputs, rf.DenseNormal((1,))(_NanAfter(row=2, above=0.5)(inputs)))


def test_training_that_meets_a_nan_action_stops_as_diverged_and_keeps_its_checkpoint(tmp_path):
    env = rf.GymEnv("Pendulum-v1", 2, seed=0)
    model = rf.networks.actor_critic(env, hidden=(8,))
    agent = RecurrentPPOAgent(model, env, PPOConfig(num_steps=8, batch_size=16, num_epochs=1))
    agent.fit(32, run_dir=tmp_path)
    for weight in model.trainable_weights:  # what a diverged update leaves behind
        weight.assign(tf.fill(weight.shape, np.nan))
    agent.actor.update(agent.acting_state())
    message = r"the policy returned a non-finite value.*The last good checkpoint is kept: .*ckpt-2"
    with pytest.raises(rf.agents.TrainingDivergedError, match=message):
        agent.fit(64, run_dir=tmp_path, resume=False)


class _MaskedEnv(gym.Env):
    """Observation `{"x": Box(1), "action_mask": MultiBinary(3)}`; from step `bad_at` on, the
    mask of env `bad_env` allows nothing (a bug in the env)."""

    observation_space = gym.spaces.Dict(
        {"x": gym.spaces.Box(-1, 1, (1,), np.float32), "action_mask": gym.spaces.MultiBinary(3)}
    )
    action_space = gym.spaces.Dict({"choice": gym.spaces.Discrete(3)})

    def __init__(self, index, bad_env=1, bad_at=3):
        self.index, self.bad_env, self.bad_at = index, bad_env, bad_at

    def _observation(self):
        mask = np.array([1, 0, 1], np.int8)
        if self.index == self.bad_env and self._t >= self.bad_at:
            mask[:] = 0
        return {"x": np.zeros(1, np.float32), "action_mask": mask}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self._observation(), {}

    def step(self, action):
        self._t += 1
        return self._observation(), 0.0, False, self._t >= 20, {}


def _masked_policy(validate_args=False):
    x = keras.Input((1,), name="x")
    mask = keras.Input((3,), dtype="int32", name="action_mask")
    head = rf.DenseCategorical(3, validate_args=validate_args, name="choice")
    return keras.Model({"x": x, "action_mask": mask}, {"choice": head(x, action_mask=mask)})


def test_an_all_false_mask_row_warns_once_naming_the_head_and_the_row():
    env = rf.GymEnv([lambda i=i: _MaskedEnv(i) for i in range(3)], seed=0)
    driver = Driver(_masked_policy(), env, seed=0)
    with pytest.warns(UserWarning, match=r"action mask of the head \['choice'\] allowed no "
                      r"action in batch row 1"):  # fmt: skip
        driver.run(steps=3 * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once: later runs do not warn again
        driver.run(steps=3 * 10)


def test_an_all_false_mask_row_raises_under_validate_args_naming_the_rows():
    env = rf.GymEnv([lambda i=i: _MaskedEnv(i, bad_at=0) for i in range(3)], seed=0)
    message = r"(?s)'choice': the `action_mask` allows no action in.*the rows \(batch, \.\.\.\)'\n1"
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        Driver(_masked_policy(validate_args=True), env, run_eagerly=True).run(steps=3)


def test_predict_warns_once_when_a_mask_allows_nothing():
    x = keras.Input((1,), name="x")
    mask = keras.Input((3,), dtype="int32", name="action_mask")
    model = keras.Model(
        {"x": x, "action_mask": mask},
        {
            "action": {"choice": rf.DenseCategorical(3, name="choice")(x, action_mask=mask)},
            "value": keras.ops.squeeze(keras.layers.Dense(1)(x), -1),
        },
    )
    spec = rf.EnvSpec(_MaskedEnv.observation_space, _MaskedEnv.action_space, num_envs=2)
    agent = RecurrentPPOAgent(model, spec, PPOConfig(num_steps=8, batch_size=16))
    observation = {"x": np.zeros((2, 1), np.float32), "action_mask": np.array([[1, 0, 0], [0] * 3])}
    with pytest.warns(UserWarning, match=r"head \['choice'\] allowed no action in batch row 1"):
        agent.predict(observation)
    allowed = {"x": np.zeros(1, np.float32), "action_mask": np.array([0, 1, 0])}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert agent.predict(allowed)[0] == {"choice": 1}
