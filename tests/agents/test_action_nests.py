"""Tuple, Dict and nested action spaces in every agent that takes a Keras policy of
distribution heads: training, evaluation, `predict`, and save and load.

`Joint` once kept a Tuple space's heads as TF's `_TupleWrapper` (a `tf.Module` attribute), so
its samples were not tuples: the Driver refused recurrent PPO's action as "different structure",
and SAC's warm-up raised tf.nest's own error (`ListWrapper` against a tuple).
"""

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import (
    Agent,
    PPOConfig,
    RecurrentPPOAgent,
    RecurrentSACAgent,
    RecurrentSACConfig,
    SACAgent,
    SACConfig,
    ScoreFunctionAgent,
    ScoreFunctionConfig,
)
from reinforceable.networks import actor_critic, sac_actor

STEP = gym.spaces.Box(-0.5, 0.5, (1,), np.float32)
SPACES = {
    "tuple": gym.spaces.Tuple((gym.spaces.Discrete(2), STEP)),
    "dict": gym.spaces.Dict({"stop": gym.spaces.Discrete(2), "step": STEP}),
    "nested": gym.spaces.Dict(
        {"move": gym.spaces.Tuple((gym.spaces.Discrete(3), STEP)), "stop": gym.spaces.Discrete(2)}
    ),
}


def _containers(value):
    """The nest's container types, leaves replaced by None, to compare with the space's."""
    if isinstance(value, dict):
        return {key: _containers(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return type(value)(_containers(item) for item in value)
    return None


class ActionNestEnv(gym.Env):
    """A Box(3) observation and the action space given; 6-step episodes. The env checks that
    every action has the space's own container types (a list for a Tuple is refused, as
    gymnasium's `contains` refuses it) and lies in the space."""

    def __init__(self, action_space):
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = action_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self.np_random.uniform(-1, 1, 3).astype(np.float32), {}

    def step(self, action):
        expected = _containers(self.action_space.sample())
        if _containers(action) != expected or not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        self._t += 1
        reward = float(np.sum([np.sum(leaf) for leaf in gym.spaces.flatten(self.action_space,
                                                                          action)]))  # fmt: skip
        return self.np_random.uniform(-1, 1, 3).astype(np.float32), reward, False, self._t >= 6, {}


def _env(space, num_envs=2, seed=0):
    return rf.GymEnv([lambda: ActionNestEnv(space)] * num_envs, seed=seed)


def _ppo(env, recurrent):
    model = actor_critic(env, hidden=(8,), recurrent=recurrent, units=8)
    return RecurrentPPOAgent(model, env, PPOConfig(num_steps=8, batch_size=16, num_epochs=1))


def _sac(env, _):
    config = SACConfig(hidden=(8,), batch_size=8, warmup_steps=8, steps_per_iteration=8, seed=0)
    return SACAgent(sac_actor(env, hidden=(8,)), env, config)


def _recurrent_sac(env, _):
    config = RecurrentSACConfig(
        batch_size=4, sequence_length=4, burn_in=1, overlap=2, units=8, embedding=8,
        hidden=(8,), warmup_steps=8, steps_per_iteration=8, seed=0,
    )  # fmt: skip
    return RecurrentSACAgent(sac_actor(env, hidden=(8,), recurrent="gru", units=8), env, config)


def _reinforce(env, _):
    model = actor_critic(env, hidden=(8,))
    return ScoreFunctionAgent(model, env, ScoreFunctionConfig(num_steps=8))


AGENTS = {
    "ppo": (_ppo, None),
    "recurrent-ppo": (_ppo, "gru"),
    "sac": (_sac, None),
    "recurrent-sac": (_recurrent_sac, None),
    "reinforce": (_reinforce, None),
}


@pytest.mark.parametrize("space", sorted(SPACES))
@pytest.mark.parametrize("name", sorted(AGENTS))
def test_every_agent_trains_evaluates_predicts_and_reloads_with_nested_actions(
    name, space, tmp_path
):
    keras.utils.set_random_seed(0)
    action_space = SPACES[space]
    env = _env(action_space)
    make, recurrent = AGENTS[name]
    agent = make(env, recurrent)
    evaluation = rf.training.Evaluation(_env(action_space, seed=1), every=1, episodes=2)
    history = agent.fit(32, callbacks=[evaluation], run_dir=tmp_path / "run")
    assert np.isfinite(history[-1]["eval/episode_return"])

    expected = _containers(action_space.sample())
    observation = np.zeros(3, np.float32)
    action, _ = agent.predict(observation)
    assert _containers(action) == expected and action_space.contains(action)
    batch, _ = agent.predict(np.zeros((4, 3), np.float32), deterministic=False)
    assert _containers(batch) == expected
    assert all(np.shape(leaf)[0] == 4 for leaf in tf.nest.flatten(batch))

    agent.save(tmp_path / "agent")
    loaded = Agent.load(tmp_path / "agent")
    again, _ = loaded.predict(observation)
    for got, want in zip(tf.nest.flatten(again), tf.nest.flatten(action), strict=True):
        np.testing.assert_allclose(got, want)
    # The loaded agent's actor acts in the Driver with the space's containers too.
    trajectory = rf.Driver(loaded.eval_policy, _env(action_space, seed=2)).run(steps=8)
    assert _containers(trajectory.action) == expected


def test_a_model_returning_a_list_for_a_tuple_space_acts_in_the_space_s_tuple():
    action_space = SPACES["tuple"]
    env = _env(action_space)
    inputs = keras.Input((3,))
    heads = [rf.DenseCategorical(2)(inputs), rf.DenseNormal((1,), output_bounds=[[-0.5, 0.5]],
                                                           hard_bounds=True)(inputs)]  # fmt: skip
    trajectory = rf.Driver(keras.Model(inputs, heads), env, seed=0).run(steps=12)
    assert isinstance(trajectory.action, tuple)
    config = SACConfig(hidden=(8,), batch_size=8, warmup_steps=4, steps_per_iteration=4)
    agent = SACAgent(keras.Model(inputs, heads), env, config)
    agent.fit(16)
    assert isinstance(agent.predict(np.zeros(3, np.float32))[0], tuple)


def test_a_structure_mismatch_names_the_container_types():
    """Leaves that print alike in two containers: the message says which containers differ."""
    env = _env(SPACES["tuple"])
    inputs = keras.Input((3,))
    heads = {"0": rf.DenseCategorical(2)(inputs), "1": rf.DenseNormal((1,))(inputs)}
    with pytest.raises(ValueError, match=r"at the root: expected tuple of 2, received dict"):
        rf.Driver(keras.Model(inputs, heads), env)
