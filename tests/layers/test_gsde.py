"""gSDE: the state-dependent scale, noise held between resamples and redrawn at episode starts,
samples distributed as the head's Normal, bounds, saving and bad arguments."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.layers.dense_normal import gsde_layers
from reinforceable.layers.gsde import GSDE_KEY, gsde_noise


def _policy(features=3, actions=2, deterministic=False, **sde):
    inputs = keras.Input((features,))
    head = rf.DenseNormal((actions,), sde=True, name="move", **sde)(inputs)
    return rf.KerasPolicy(keras.Model(inputs, head), deterministic=deterministic)


def _timestep(observation):
    batch = observation.shape[0]
    return rf.Timestep(
        tf.constant(observation, tf.float32), tf.zeros([batch]), tf.zeros([batch], bool),
        tf.zeros([batch], bool), tf.zeros([batch], bool),
    )  # fmt: skip


def test_gsde_noise_is_latent_times_draws_times_std():
    rng = np.random.default_rng(0)
    latent, draws, std = rng.normal(size=(4, 5, 3)), rng.normal(size=(4, 3, 2)), rng.random((3, 2))
    expected = np.einsum("btf,bfa->bta", latent, draws * std)
    got = gsde_noise(tf.constant(latent), tf.constant(draws), tf.constant(std), (2,))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)
    reshaped = gsde_noise(tf.constant(latent[:, 0]), tf.constant(draws), tf.constant(std), (1, 2))
    assert reshaped.shape == (4, 1, 2)


def test_scale_is_state_dependent_and_only_sigma_learns_through_it():
    layer = rf.DenseNormal((2,), sde=True, sde_initial_std=0.5, min_scale=0.0)
    x = tf.constant([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        scale = layer(x).distribution.scale
    expected = np.sqrt((x.numpy() ** 2) @ np.full((3, 2), 0.25))
    np.testing.assert_allclose(scale.numpy(), expected, rtol=1e-5)
    assert tape.gradient(scale, x) is None  # latent features: gradients stopped (SB3's default)
    assert tape.gradient(scale, layer.sde_log_std) is not None


def test_noise_is_held_between_resamples_and_matches_log_prob():
    policy = _policy(sde_sample_freq=3)
    timestep = _timestep(np.ones([4, 3], np.float32))  # the same state: only the noise moves
    policy.build(timestep)
    state = policy.initial_state(4)
    actions = []
    for t in range(7):
        step = policy.step(timestep, state, tf.constant([t, 1]))
        actions.append(step.action.numpy())
        distribution = policy.model(timestep.observation)
        np.testing.assert_allclose(step.extras["log_prob"], distribution.log_prob(step.action))
        state = step.state
    actions = np.array(actions)  # [7, 4, 2]
    for block in (slice(0, 3), slice(3, 6)):
        np.testing.assert_allclose(actions[block], actions[block][:1].repeat(3, 0), rtol=1e-6)
    assert not np.allclose(actions[0], actions[3]) and not np.allclose(actions[3], actions[6])
    assert not np.allclose(actions[0, 0], actions[0, 1])  # a matrix per environment
    assert int(state[GSDE_KEY]["steps"][0]) == 7


def test_samples_follow_the_heads_normal():
    policy = _policy(features=4, actions=1, sde_initial_std=0.7)
    observation = np.tile([[0.5, -1.0, 2.0, 0.0]], (4000, 1)).astype(np.float32)
    timestep = _timestep(observation)
    policy.build(timestep)
    step = policy.step(timestep, policy.initial_state(4000), tf.constant([3, 4]))
    distribution = policy.model(timestep.observation)
    noise = step.action.numpy() - distribution.distribution.loc.numpy()
    expected = 0.7 * np.sqrt(0.25 + 1.0 + 4.0)
    assert abs(noise.mean()) < 0.1 and noise.std() == pytest.approx(expected, rel=0.05)


def test_hard_bounds_deterministic_mode_and_driver_episode_starts():
    env = rf.GymEnv("Pendulum-v1", num_envs=2, seed=0, max_episode_steps=4)
    model = rf.networks.actor_critic(env, hidden=(8,), hard_bounds=True, sde=True,
                                     sde_initial_std=3.0)  # fmt: skip
    policy = rf.KerasPolicy(model)
    driver = rf.Driver(policy, env)
    draws = []
    for _ in range(10):  # one step per run: read the noise state after each
        trajectory = driver.run(2)
        assert np.all(np.abs(trajectory.action.numpy()) <= 2.0)
        draws.append(driver.policy_state[GSDE_KEY]["noise"]["action"].numpy())
    # episodes of 4 steps + a reset step: draws taken at steps 0 and 5 (episode starts)
    same = [np.allclose(draws[i], draws[i + 1]) for i in range(9)]
    assert same == [True, True, True, True, False, True, True, True, True]
    mode = rf.KerasPolicy(model, deterministic=True)
    timestep = env.example_timestep()
    mode.build(timestep)
    step = mode.step(timestep, mode.initial_state(2), tf.constant([0, 0]))
    np.testing.assert_allclose(step.action, model(timestep.observation)["action"].mode())


def test_gsde_heads_are_saved_and_bad_arguments_refused(tmp_path):
    policy = _policy(sde_sample_freq=4, sde_initial_std=0.3)
    policy.model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    layer = loaded.get_layer("move")
    assert layer.sde and layer.sde_sample_freq == 4 and layer.sde_initial_std == 0.3
    with pytest.raises(ValueError, match="state_dependent_scale"):
        rf.DenseNormal(2, sde=True, state_dependent_scale=True)
    with pytest.raises(ValueError, match="sde_sample_freq"):
        rf.DenseNormal(2, sde=True, sde_sample_freq=0)
    with pytest.raises(ValueError, match="sde_initial_std"):
        rf.DenseNormal(2, sde=True, sde_initial_std=0.0)


@pytest.mark.parametrize("algo", ["ppo", "recurrent_ppo", "sac", "recurrent_sac"])
def test_agents_learn_and_act_with_gsde_heads(algo):
    from reinforceable.agents import (
        PPOConfig,
        RecurrentPPOAgent,
        RecurrentSACAgent,
        RecurrentSACConfig,
        SACAgent,
        SACConfig,
    )

    env = rf.GymEnv("Pendulum-v1", num_envs=2, seed=0)
    small = {"units": 4, "hidden": (8,), "sde": True, "sde_sample_freq": 4}
    if algo.endswith("ppo"):
        recurrent = "gru" if algo == "recurrent_ppo" else None
        model = rf.networks.actor_critic(env, recurrent=recurrent, **small)
        agent = RecurrentPPOAgent(model, env, PPOConfig(num_steps=16, batch_size=16, seed=0))
    elif algo == "sac":
        small.pop("units")
        config = SACConfig(hidden=(8,), warmup_steps=32, batch_size=16, seed=0)
        agent = SACAgent(rf.networks.sac_actor(env, **small), env, config)
    else:
        model = rf.networks.sac_actor(env, recurrent="gru", embedding=4, **small)
        config = RecurrentSACConfig(units=4, embedding=4, hidden=(8,), warmup_steps=32,
                                    batch_size=4, seed=0)  # fmt: skip
        agent = RecurrentSACAgent(model, env, config)
    history = agent.fit(128)
    assert all(np.isfinite(v) for k, v in history[-1].items() if k.startswith("losses/"))
    assert GSDE_KEY in agent.policy.initial_state(2)
    (model,) = agent.actor_models().values()
    features = 4 if algo == "recurrent_ppo" else 8  # the head's inputs: GRU or MLP output
    assert [layer.sde_log_std.shape for layer in gsde_layers(model)] == [(features, 1)]
