"""Observation encoders: ready-made networks for Discrete, MultiDiscrete, Dict, Tuple and image
observations, in PPO and SAC, saved and loaded."""

import dataclasses

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import (
    PPOConfig,
    RecurrentPPOAgent,
    RecurrentSACAgent,
    RecurrentSACConfig,
    SACAgent,
    SACConfig,
)
from reinforceable.envs import EnvSpec
from reinforceable.layers.fold_time import FoldTime
from reinforceable.networks import (
    OneHot,
    actor_critic,
    is_image_space,
    nature_cnn,
    observation_encoder,
    sac_actor,
)

Box, Discrete = gym.spaces.Box, gym.spaces.Discrete


def test_one_hot_and_flat_encoders_give_the_expected_features():
    space = gym.spaces.Dict(
        {"mode": Discrete(3), "dice": gym.spaces.MultiDiscrete([2, 4]), "x": Box(-1, 1, (2, 2))}
    )
    encoder = observation_encoder(space)
    observation = {
        "dice": tf.constant([[1, 3], [0, 0]]),
        "mode": tf.constant([2, 0]),
        "x": tf.reshape(tf.range(8, dtype=tf.float32), [2, 2, 2]),
    }
    features = encoder(observation).numpy()
    # tf.nest order (sorted keys): dice (2 + 4), mode (3), x (4)
    np.testing.assert_array_equal(
        features,
        [[0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 2, 3], [1, 0, 1, 0, 0, 0, 1, 0, 0, 4, 5, 6, 7]],
    )


def test_images_get_the_nature_cnn_channels_first_or_last():
    stack = Box(0, 255, (4, 84, 84), np.uint8)  # ale-py's frame stack
    rgb = Box(0, 255, (64, 64, 3), np.uint8)
    assert is_image_space(stack) and is_image_space(rgb)
    assert not is_image_space(Box(0, 1, (4, 84, 84), np.float32))
    assert nature_cnn(stack.shape)(tf.zeros([2, 4, 84, 84], tf.uint8)).shape == (2, 512)
    encoder = observation_encoder(gym.spaces.Dict({"camera": rgb, "speed": Box(-1, 1, (1,))}))
    assert encoder({"camera": tf.zeros([2, 64, 64, 3], tf.uint8), "speed": tf.zeros([2, 1])}
                   ).shape == (2, 513)  # fmt: skip
    convs = [layer for layer in encoder.layers[2].layers if isinstance(layer, keras.layers.Conv2D)]
    assert [conv.filters for conv in convs] == [32, 64, 64]


def test_supplied_encoders_replace_the_defaults_and_bad_ones_are_named():
    space = gym.spaces.Dict({"mode": Discrete(3), "x": Box(-1, 1, (2,))})
    mine = keras.layers.Dense(5, name="mine")
    encoder = observation_encoder(space, encoders={"x": mine})
    assert encoder({"mode": tf.constant([1]), "x": tf.zeros([1, 2])}).shape == (1, 3 + 5)
    assert mine.built
    with pytest.raises(ValueError, match=r"\['y'\].*parts are \['mode', 'x'\]"):
        observation_encoder(space, encoders={"y": mine})
    with pytest.raises(TypeError, match="encoders"):
        observation_encoder(space, encoders={"x": "dense"})


class _DictCartPole(gym.ObservationWrapper):
    """CartPole seen as {"state": Box(4), "side": Discrete(2)} (which half the cart is in)."""

    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.observation_space = gym.spaces.Dict(
            {"state": self.env.observation_space, "side": Discrete(2)}
        )

    def observation(self, observation):
        return {"state": observation, "side": int(observation[0] > 0)}


@pytest.mark.parametrize("recurrent", [None, "gru"])
def test_ppo_trains_saves_and_loads_with_dict_observations(recurrent, tmp_path):
    env = rf.GymEnv([_DictCartPole] * 2, seed=0)
    config = PPOConfig(num_steps=8, batch_size=16, num_epochs=1, seed=0)
    if recurrent:
        config = dataclasses.replace(config, sequence_length=4)
    model = actor_critic(env, hidden=(8,), recurrent=recurrent, units=4)
    assert isinstance(model.input if not recurrent else model.input["observation"], dict)
    agent = RecurrentPPOAgent(model, env, config)
    history = agent.fit(2 * 16)
    assert np.isfinite(history[-1]["losses/value_loss"])
    agent.save(tmp_path / "agent")
    loaded = RecurrentPPOAgent.load(tmp_path / "agent")
    observation = {"side": np.array([0, 1]), "state": np.zeros([2, 4], np.float32)}
    np.testing.assert_array_equal(loaded.predict(observation)[0], agent.predict(observation)[0])


def test_discrete_observations_in_ppo_and_sac():
    spec = EnvSpec(Discrete(5), Discrete(2), num_envs=2)
    ppo = RecurrentPPOAgent(actor_critic(spec, hidden=(8,)), spec, PPOConfig(seed=0))
    action, _ = ppo.predict(np.array([0, 4]))
    assert action.shape == (2,)
    layer = next(layer for layer in ppo.model.layers if isinstance(layer, OneHot))
    assert layer.depths == [5]
    spec = EnvSpec(Discrete(5), Box(-1, 1, (1,), np.float32), num_envs=2)
    sac = SACAgent(sac_actor(spec, hidden=(8,)), spec, SACConfig(hidden=(8,), seed=0))
    action, _ = sac.predict(np.array([0, 4]))
    assert action.shape == (2, 1) and np.all(np.abs(action) <= 1)


def test_recurrent_sac_actor_with_tuple_observations():
    space = gym.spaces.Tuple((Discrete(3), Box(-1, 1, (2,))))
    spec = EnvSpec(space, Box(-1, 1, (1,), np.float32), num_envs=2)
    model = sac_actor(spec, hidden=(8,), recurrent="gru", units=4, embedding=4)
    observation = (tf.constant([[0, 2, 1]] * 2), tf.zeros([2, 3, 2]))
    outputs = model({"observation": observation, "episode_start": tf.zeros([2, 3], tf.bool),
                     "state": {"actor_rnn": [tf.zeros([2, 4])]}})  # fmt: skip
    assert outputs["action"].sample(seed=[0, 0]).shape == (2, 3, 1)


def test_sac_critic_splits_its_input_back_into_the_observation_and_encodes_it():
    from reinforceable.agents.sac.networks import SplitFeatures, critic, features, features_dim
    from reinforceable.envs.specs import space_to_spec

    space = gym.spaces.Dict(
        {
            "camera": Box(0, 255, (36, 36, 3), np.uint8),
            "mode": Discrete(3),
            "x": Box(-1, 1, (2, 2), np.float32),
        }
    )
    space.seed(0)
    samples = [space.sample() for _ in range(2)]
    observation = {key: np.stack([s[key] for s in samples]) for key in space.spaces}
    action = np.array([[0.5], [-0.25]], np.float32)
    inputs = tf.concat([features(observation), action], 1)
    leaves = tf.nest.flatten(space_to_spec(space))
    split = SplitFeatures([s.shape for s in leaves], [s.dtype.name for s in leaves])(inputs)
    pairs = zip(split[:-1], tf.nest.flatten(observation), leaves, strict=True)
    for leaf, expected, leaf_spec in pairs:  # in the spec's dtypes (Discrete: int32)
        assert leaf.dtype == leaf_spec.dtype
        np.testing.assert_array_equal(leaf.numpy(), expected)
    np.testing.assert_array_equal(split[-1].numpy(), action)

    model = critic(features_dim(space_to_spec(space)) + 1, (8,), observation_space=space)
    encoder = model.get_layer("critic_encoder")
    kinds = {type(layer).__name__ for layer in encoder._flatten_layers()}
    assert {"Conv2D", "OneHot", "Flat"} <= kinds
    one_hot = next(layer for layer in encoder._flatten_layers() if isinstance(layer, OneHot))
    assert one_hot.depths == [3]
    # The encoded observation and the action reach the MLP: the features before it are the
    # encoder's output on the observation, followed by the action.
    before_mlp = keras.Model(model.input, model.get_layer("encoded_and_action").output)
    observation_encoder = encoder.get_layer("critic_encoder_observation")  # takes the nest
    expected = tf.concat([observation_encoder(observation), action], 1)
    np.testing.assert_allclose(before_mlp(inputs).numpy(), expected.numpy(), rtol=1e-6)
    assert model(inputs).shape == (2,)


def test_sac_critics_encode_discrete_and_dict_observations_and_learn():
    spec = EnvSpec(Discrete(5), Box(-1, 1, (1,), np.float32), num_envs=2)
    sac = SACAgent(sac_actor(spec, hidden=(8,)), spec, SACConfig(hidden=(8,), seed=0))
    for model in (*sac.critics, *sac.target_critics):
        one_hot = [layer for layer in model._flatten_layers() if isinstance(layer, OneHot)]
        assert [layer.depths for layer in one_hot] == [[5]]
    # A flat float Box keeps the plain MLP.
    spec = EnvSpec(Box(-1, 1, (3,), np.float32), Box(-1, 1, (1,), np.float32), num_envs=2)
    plain = SACAgent(sac_actor(spec, hidden=(8,)), spec, SACConfig(hidden=(8,), seed=0))
    assert all("split" not in [layer.name for layer in c.layers] for c in plain.critics)

    env = rf.GymEnv([_DictCartPole] * 2, seed=0)
    config = SACConfig(batch_size=16, hidden=(8,), steps_per_iteration=8, warmup_steps=16, seed=0)
    agent = SACAgent(sac_actor(env, hidden=(8,)), env, config)
    before = [w.numpy().copy() for w in agent.critics[0].trainable_weights]
    history = agent.fit(64)
    assert history[-1]["losses/updates"] > 0 and np.isfinite(history[-1]["losses/critic_loss"])
    after = agent.critics[0].trainable_weights
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, after, strict=True))


def test_recurrent_sac_critics_encode_observations_in_their_torso():
    space = gym.spaces.Tuple((Discrete(3), Box(-1, 1, (2,))))
    spec = EnvSpec(space, Box(-1, 1, (1,), np.float32), num_envs=2)
    actor = sac_actor(spec, hidden=(8,), recurrent="gru", units=4, embedding=4)
    config = RecurrentSACConfig(
        batch_size=4, hidden=(8,), units=4, embedding=4, sequence_length=4, burn_in=1, overlap=2,
        steps_per_iteration=8, warmup_steps=8, seed=0,
    )  # fmt: skip
    agent = RecurrentSACAgent(actor, spec, config)
    for torso in (agent.critic_torso, agent.target_critic_torso):
        one_hot = [layer for layer in torso._flatten_layers() if isinstance(layer, OneHot)]
        assert [layer.depths for layer in one_hot] == [[3]]
        assert torso.output["encoded"].shape[-1] == 3 + 2
    assert agent.critics[0].input.shape[-1] == 4 + 5 + 1  # torso, encoded observation, action
    # A flat float Box: the torso passes the features through as they are.
    spec = EnvSpec(Box(-1, 1, (3,), np.float32), Box(-1, 1, (1,), np.float32), num_envs=2)
    actor = sac_actor(spec, hidden=(8,), recurrent="gru", units=4, embedding=4)
    plain = RecurrentSACAgent(actor, spec, config)
    assert plain.critic_torso.output["encoded"].shape[-1] == 3
    assert not any(isinstance(layer, FoldTime) for layer in plain.critic_torso.layers)


def test_recurrent_sac_learns_with_dict_observations():
    env = rf.GymEnv([_DictCartPole] * 2, seed=0)
    config = RecurrentSACConfig(
        batch_size=4, hidden=(8,), units=4, embedding=4, sequence_length=4, burn_in=1, overlap=2,
        steps_per_iteration=8, warmup_steps=16, seed=0,
    )  # fmt: skip
    actor = sac_actor(env, hidden=(8,), recurrent="gru", units=4, embedding=4)
    agent = RecurrentSACAgent(actor, env, config)
    before = [w.numpy().copy() for w in agent.critic_torso.trainable_weights]
    history = agent.fit(64)
    assert history[-1]["losses/updates"] > 0 and np.isfinite(history[-1]["losses/critic_loss"])
    after = agent.critic_torso.trainable_weights
    assert all(not np.array_equal(a, b.numpy()) for a, b in zip(before, after, strict=True))


def test_tuple_observations_act_through_keras_policy():
    """Keras keeps a Tuple observation's inputs as a list; the policy feeds the tuple to it."""
    space = gym.spaces.Tuple((Discrete(3), Box(-1, 1, (2,))))
    spec = EnvSpec(space, Box(-1, 1, (1,), np.float32), num_envs=2)
    sac = SACAgent(sac_actor(spec, hidden=(8,)), spec, SACConfig(hidden=(8,), seed=0))
    observation = (np.array([0, 2]), np.zeros([2, 2], np.float32))
    action, _ = sac.predict(observation)
    assert action.shape == (2, 1)
    other, _ = sac.predict((np.array([1, 2]), np.zeros([2, 2], np.float32)), deterministic=True)
    first, _ = sac.predict(observation, deterministic=True)
    assert not np.allclose(first[0], other[0]) and np.allclose(first[1], other[1])
