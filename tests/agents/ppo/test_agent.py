"""RecurrentPPOAgent: construction errors, updates on every action kind, faults, save/load."""

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import PPOConfig, RecurrentPPOAgent, TrainingDivergedError
from reinforceable.networks import actor_critic

SMALL = PPOConfig(num_steps=16, batch_size=32, num_epochs=2, seed=0)


def _weights(model):
    return [w.numpy().copy() for w in model.weights]


def test_model_without_a_value_output_is_rejected():
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    observation = keras.Input((4,))
    model = keras.Model(observation, rf.DenseCategorical(2)(observation))
    with pytest.raises(ValueError, match=r"'value'.*no 'value' output"):
        RecurrentPPOAgent(model, env, SMALL)
    value = keras.layers.Dense(1)(observation)
    model = keras.Model(
        observation, {"action": rf.DenseCategorical(2)(observation), "value": value}
    )
    with pytest.raises(ValueError, match=r"shape \(2, 1\).*Reshape"):
        RecurrentPPOAgent(model, env, SMALL)


def test_recurrent_model_must_take_episode_start():
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    observation = keras.Input((None, 4), name="observation")
    rnn = rf.StatefulRNN("gru", 8, name="rnn")
    state = rnn.state_inputs()
    h, final = rnn(observation, initial_state=state, return_state=True)
    value = keras.layers.Reshape((-1,))(keras.layers.Dense(1)(h))
    outputs = {"action": rf.DenseCategorical(2)(h), "value": value, "state": {"rnn": list(final)}}
    model = keras.Model({"observation": observation, "state": {"rnn": state}}, outputs)
    with pytest.raises(ValueError, match="episode_start"):
        RecurrentPPOAgent(model, env, SMALL)
    # A model that keeps its state inside (no 'state' input) is refused with the recipe.
    h = rf.StatefulRNN("gru", 8)(observation)
    value = keras.layers.Reshape((-1,))(keras.layers.Dense(1)(h))
    implicit = keras.Model(observation, {"action": rf.DenseCategorical(2)(h), "value": value})
    with pytest.raises(ValueError, match=r"StatefulRNN layers but no input named 'state'"):
        RecurrentPPOAgent(implicit, env, SMALL)


def test_batch_that_does_not_divide_the_rollout_is_rejected_at_construction():
    env = rf.GymEnv("CartPole-v1", num_envs=3, seed=0)
    config = PPOConfig(num_steps=16, batch_size=32)  # rollout 48
    with pytest.raises(ValueError, match="`batch_size` must divide the rollout"):
        RecurrentPPOAgent(actor_critic(env), env, config)
    # A recurrent policy needs whole sequences per minibatch: an explicit length must fit.
    env = rf.GymEnv("CartPole-v1", num_envs=4, seed=0)
    with pytest.raises(ValueError, match="`batch_size` must be a multiple of the sequence length"):
        PPOConfig(num_steps=16, batch_size=8, sequence_length=16)


def test_sequence_length_defaults_to_what_fits_rollout_and_minibatch():
    """The RL Zoo's ppo_lstm settings (n_steps 1024, batch 128) need no sequence_length."""
    assert PPOConfig(num_steps=1024, batch_size=128).chunk_length(recurrent=True) == 128
    assert PPOConfig(num_steps=32, batch_size=256).chunk_length(recurrent=True) == 32
    assert PPOConfig(num_steps=48, batch_size=32).chunk_length(recurrent=True) == 16
    assert PPOConfig(num_steps=1024, batch_size=128).chunk_length(recurrent=False) == 1
    env = rf.GymEnv("CartPole-v1", num_envs=4, seed=0)
    model = actor_critic(env, recurrent="gru", units=4, hidden=(4,))
    config = PPOConfig(num_steps=16, batch_size=8, num_epochs=1, seed=0)
    agent = RecurrentPPOAgent(model, env, config)
    assert np.isfinite(agent.fit(64)[-1]["losses/approx_kl"])


def _first_update_kl(env, model, config):
    agent = RecurrentPPOAgent(model, env, config)
    driver = rf.Driver(agent.policy, env, seed=1)
    driver.run(agent.rollout_steps)  # a first update moves the normaliser off its defaults
    agent.train(driver.run(agent.rollout_steps))
    return agent.train(driver.run(agent.rollout_steps))["losses/approx_kl"]


@pytest.mark.parametrize("sequence_length", [4, 16])
def test_replayed_chunks_reproduce_the_rollout_log_probs(sequence_length):
    """With one epoch of one minibatch, the loss is computed before any update, so the ratio is
    exactly 1 (approx KL 0) only if every chunk starts from the state the policy had during the
    rollout, resets where episodes start, and sees the observations normalised as in the
    rollout. Starting chunks from zeros instead gives a KL of about 1e-3 here."""
    env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", num_envs=4, seed=0)
    model = actor_critic(env, hidden=(16,), recurrent="gru", units=16)
    config = PPOConfig(
        num_steps=16,
        batch_size=64,
        num_epochs=1,
        sequence_length=sequence_length,
        normalize_observations=True,
        scale_rewards=True,
        learning_rate=1e-2,
        seed=0,
    )
    assert abs(_first_update_kl(env, model, config)) < 1e-6


def test_memoryless_policy_learns_cartpole():
    """CartPole with full observations: the deterministic policy holds the pole for 195 steps
    or more on average after 40k steps (about 10 s); a random policy lasts about 22."""
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("CartPole-v1", num_envs=8, seed=0)
    model = actor_critic(env)
    config = PPOConfig(
        num_steps=32,
        batch_size=256,
        num_epochs=20,
        discount=0.98,
        gae_lambda=0.8,
        learning_rate=rf.ops.LinearSchedule(1e-3),
        clip_range=rf.ops.LinearSchedule(0.2),
        seed=0,
    )
    agent = RecurrentPPOAgent(model, env, config)
    evaluation = rf.training.Evaluation(rf.GymEnv("CartPole-v1", num_envs=4, seed=99), episodes=8)
    agent.fit(40_960, seed=0)
    assert evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"] >= 195


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("reinforceable/MixedAction2D-v0", {"recurrent": "lstm"}),
        ("Pendulum-v1", {"hard_bounds": True}),
        ("Pendulum-v1", {"shared_torso": True, "recurrent": "gru"}),
    ],
)
def test_hybrid_and_bounded_actions_train(env_id, kwargs):
    env = rf.GymEnv(env_id, num_envs=2, seed=0)
    model = actor_critic(env, hidden=(16,), units=16, **kwargs)
    agent = RecurrentPPOAgent(model, env, SMALL)
    before = _weights(model)
    driver = rf.Driver(agent.policy, env, seed=0)
    metrics = agent.train(driver.run(agent.rollout_steps))
    assert all(math.isfinite(v) for v in metrics.values()), metrics
    changed = [not np.array_equal(a, b.numpy()) for a, b in zip(before, model.weights, strict=True)]
    trainable = [any(w is v for v in model.trainable_weights) for w in model.weights]
    # Every trainable weight moved: both heads of a hybrid action got gradients.
    assert all(c for c, t in zip(changed, trainable, strict=True) if t)
    assert int(agent.env_steps.numpy()) == agent.rollout_steps


def test_nan_stops_training_without_touching_the_weights():
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env), env, SMALL)
    driver = rf.Driver(agent.policy, env, seed=0)
    agent.train(driver.run(agent.rollout_steps))
    trajectory = driver.run(agent.rollout_steps)
    poisoned = trajectory._replace(reward=tf.fill(trajectory.reward.shape, math.nan))
    before = _weights(agent.model)
    with pytest.raises(TrainingDivergedError, match="iteration 2"):
        agent.train(poisoned)
    for a, b in zip(before, agent.model.weights, strict=True):
        np.testing.assert_array_equal(a, b.numpy())
    # The agent is still usable.
    assert math.isfinite(agent.train(trajectory)["losses/loss"])


def test_target_kl_stops_the_epochs_early():
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    config = PPOConfig(
        num_steps=16, batch_size=8, num_epochs=10, learning_rate=1e-2, target_kl=1e-4, seed=0
    )
    agent = RecurrentPPOAgent(actor_critic(env), env, config)
    driver = rf.Driver(agent.policy, env, seed=0)
    metrics = agent.train(driver.run(agent.rollout_steps))
    assert metrics["losses/epochs"] < 10


def test_train_rejects_a_trajectory_of_the_wrong_shape():
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env), env, PPOConfig(num_steps=16, batch_size=32))
    driver = rf.Driver(agent.policy, env, seed=0)
    with pytest.raises(ValueError, match=r"received \[5, 2\]"):
        agent.train(driver.run(10))
    with pytest.raises(TypeError, match="Trajectory"):
        agent.train({"reward": 1})


def test_linear_schedule_needs_a_budget_outside_fit():
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    config = PPOConfig(num_steps=16, batch_size=32, learning_rate=rf.ops.LinearSchedule(1e-3))
    agent = RecurrentPPOAgent(actor_critic(env), env, config)
    driver = rf.Driver(agent.policy, env, seed=0)
    with pytest.raises(ValueError, match="total_steps"):
        agent.train(driver.run(agent.rollout_steps))


def test_a_later_fit_to_a_larger_total_stretches_the_schedule():
    """A first `fit` sets the schedules' budget; a second to a larger total stretches it (the
    learning rate must not stay at its end), unless the config fixes the budget."""
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    lr = rf.ops.LinearSchedule(1e-3)
    agent = RecurrentPPOAgent(actor_critic(env), env, PPOConfig(num_steps=16, batch_size=32,
                                                                learning_rate=lr))  # fmt: skip
    agent.fit(64)
    assert agent.schedule_steps == 64
    agent.fit(256)
    assert agent.schedule_steps == 256
    agent.fit(128)  # a smaller total trains no further and leaves the budget alone
    assert agent.schedule_steps == 256
    fixed = PPOConfig(num_steps=16, batch_size=32, learning_rate=lr, total_steps=1000)
    agent = RecurrentPPOAgent(actor_critic(env), env, fixed)
    agent.fit(64)
    agent.fit(128)
    assert agent.schedule_steps == 1000


def test_saved_and_loaded_agent_acts_identically(tmp_path):
    env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", num_envs=2, seed=0)
    config = PPOConfig(num_steps=16, batch_size=32, num_epochs=2, normalize_observations=True)
    agent = RecurrentPPOAgent(actor_critic(env, recurrent="lstm", units=8), env, config)
    driver = rf.Driver(agent.policy, env, seed=0)
    for _ in range(2):
        agent.train(driver.run(agent.rollout_steps))
    agent.save(tmp_path / "agent")
    loaded = RecurrentPPOAgent.load(tmp_path / "agent", env)
    assert int(loaded.env_steps.numpy()) == int(agent.env_steps.numpy())
    for mine, theirs in ((agent.policy, loaded.policy), (agent.eval_policy, loaded.eval_policy)):
        trajectories = []
        for policy in (mine, theirs):
            eval_env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", num_envs=2, seed=7)
            trajectories.append(rf.Driver(policy, eval_env, seed=3).run(steps=2 * 40))
        tf.nest.map_structure(
            lambda a, b: np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6),
            trajectories[0][:8],
            trajectories[1][:8],
        )
    with pytest.raises(FileNotFoundError, match="no saved agent"):
        RecurrentPPOAgent.load(tmp_path / "nothing", env)


def test_rollouts_of_several_actors_count_together_for_the_batch_size():
    """Two actors of 4 environments fill a batch made for 8; one alone is refused at update."""
    spec = rf.GymEnv("CartPole-v1", num_envs=8, seed=0).spec
    agent = RecurrentPPOAgent(actor_critic(spec), spec, PPOConfig(num_steps=8, batch_size=64))
    halves = [rf.Driver(agent.policy, rf.GymEnv("CartPole-v1", 4, seed=s)) for s in (0, 4)]
    for driver in halves:
        agent.observe(driver.run(steps=32))
    assert agent.update()["losses/epochs"] > 0
    agent.observe(halves[0].run(steps=32))
    with pytest.raises(ValueError, match=r"update: .* T \* B a multiple of batch_size 64"):
        agent.update()


def test_ppo_says_when_it_replays_chunk_states_a_driver_did_not_record():
    """A Driver built without `sequence_length` records no chunk states: PPO warns once, names
    the fix, and trains on replayed states; with it, no warning."""
    env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", num_envs=2, seed=0)
    config = PPOConfig(num_steps=16, batch_size=16, sequence_length=4, num_epochs=1, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env, hidden=(8,), recurrent="gru", units=8), env, config)
    assert agent.collection.sequence_length == 4
    bare = rf.Driver(agent.policy, env, seed=0)
    with pytest.warns(UserWarning, match=r"no recorded chunk states.*sequence_length=4"):
        agent.train(bare.run(agent.rollout_steps))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        agent.train(bare.run(agent.rollout_steps))  # once only
        recording = rf.Driver(agent.policy, env, seed=0, sequence_length=4)
        agent.train(recording.run(agent.rollout_steps))
    assert int(agent.iterations.numpy()) == 3
