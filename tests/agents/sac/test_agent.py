"""SACAgent: construction errors, what the buffer stores, warm-up, learning, save/load, resume."""

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import SACAgent, SACConfig
from reinforceable.networks import sac_actor
from tests.conftest import n_step_reference

SMALL = SACConfig(batch_size=32, hidden=(16,), steps_per_iteration=16, warmup_steps=32, seed=0)


def _agent(env_id="Pendulum-v1", num_envs=2, config=SMALL, hidden=(16,)):
    env = rf.GymEnv(env_id, num_envs=num_envs, seed=0)
    return SACAgent(sac_actor(env, hidden=hidden), env, config)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"batch_size": 64, "buffer_capacity": 32}, "batch_size"),
        ({"tau": 0.0}, "tau"),
        ({"tau": -0.5}, "tau"),
        ({"discount": 1.5}, "discount"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"warmup_steps": -1}, "warmup_steps"),
        ({"discrete_target_entropy_ratio": 1.0}, "discrete_target_entropy_ratio"),
        ({"hidden": ()}, "hidden"),
    ],
)
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        SACConfig(**kwargs)


def test_jit_compile_must_be_a_bool():
    with pytest.raises(TypeError, match="`jit_compile` must be a bool; received 'yes'"):
        SACConfig(jit_compile="yes")


def test_heads_must_cover_the_action_space():
    env = rf.GymEnv("CartPole-v1", num_envs=1, seed=0)
    observation = keras.Input((4,))
    wrong = keras.Model(observation, rf.DenseNormal(1)(observation))
    with pytest.raises(ValueError, match="Discrete, so its head must be a DenseCategorical"):
        SACAgent(wrong, env, SMALL)
    env = rf.GymEnv("Pendulum-v1", num_envs=1, seed=0)
    observation = keras.Input((3,))
    wrong = keras.Model(observation, rf.DenseCategorical(3)(observation))
    with pytest.raises(ValueError, match="Box, so its head must be a DenseNormal"):
        SACAgent(wrong, env, SMALL)
    env = rf.GymEnv([lambda: _MultiBinaryAction(gym.make("CartPole-v1"))], seed=0)
    observation = keras.Input((4,))
    with pytest.raises(ValueError, match="MultiBinary"):
        SACAgent(keras.Model(observation, rf.DenseBernoulli(2)(observation)), env, SMALL)


class _MultiBinaryAction(gym.ActionWrapper):
    def __init__(self, env):
        super().__init__(env)
        self.action_space = gym.spaces.MultiBinary(2)

    def action(self, action):
        return int(action[0])


def test_buffer_holds_exactly_the_real_transitions():
    # CartPole episodes end inside the rollout: the reset rows must not be stored, and the next
    # observation of an episode's last transition is its final observation.
    agent = _agent("CartPole-v1", config=SACConfig(batch_size=8, hidden=(8,), warmup_steps=10**6))
    driver = rf.Driver(agent.policy, agent.env, seed=0)
    trajectory = driver.run(2 * 64)
    agent.train(trajectory)
    valid = trajectory.valid.numpy()
    assert int(agent.buffer.size) == valid.sum() < valid.size
    stored = agent.buffer._storage
    names = sorted(["observation", "action", "reward", "next_observation", "discount"])
    items = dict(zip(names, stored, strict=True))
    observation = trajectory.observation.numpy()
    following = np.concatenate(
        [observation[1:], trajectory.next_timestep.observation.numpy()[None]]
    )
    rows = np.argwhere(valid)  # [t, b] in row-major order, as stored
    np.testing.assert_array_equal(items["observation"].numpy()[: len(rows)], observation[valid])
    np.testing.assert_array_equal(items["next_observation"].numpy()[: len(rows)], following[valid])
    # One-step returns (n_step = 1): the reward, and γ where the episode goes on, 0 where it
    # terminated.
    np.testing.assert_array_equal(
        items["reward"].numpy()[: len(rows)], trajectory.reward.numpy()[valid]
    )
    np.testing.assert_allclose(
        items["discount"].numpy()[: len(rows)],
        0.99 * (1.0 - trajectory.terminated.numpy()[valid]),
        rtol=1e-6,
    )


def test_no_updates_before_warmup_and_a_full_batch():
    agent = _agent(
        config=SACConfig(batch_size=64, hidden=(8,), steps_per_iteration=8, warmup_steps=0)
    )
    driver = rf.Driver(agent.policy, agent.env, seed=0)
    metrics = agent.train(driver.run(agent.rollout_steps))  # 16 transitions < 64
    assert metrics["losses/updates"] == 0
    for _ in range(3):
        metrics = agent.train(driver.run(agent.rollout_steps))
    assert metrics["losses/updates"] == 16  # utd 1: one update per new env step
    assert np.isfinite(metrics["losses/critic_loss"])


@pytest.mark.parametrize("env_id", ["reinforceable/MixedAction2D-v0", "CartPole-v1"])
def test_hybrid_and_discrete_updates_move_actor_critics_and_temperatures(env_id):
    agent = _agent(env_id)
    before = [v.numpy().copy() for v in agent.model.trainable_variables]
    alpha_c, alpha_d = float(agent.log_alpha_continuous), agent.log_alpha_discrete.numpy().copy()
    driver = rf.Driver(agent.policy, agent.env, seed=0)
    for _ in range(3):
        metrics = agent.train(driver.run(agent.rollout_steps))
    assert metrics["losses/updates"] > 0
    assert all(np.isfinite(v) for v in metrics.values())
    assert all(
        not np.array_equal(a, b.numpy())
        for a, b in zip(before, agent.model.trainable_variables, strict=True)
    )
    # Each discrete head's temperature learns (MixedAction2D has two heads, "axis" and "done");
    # the continuous one only where there is a continuous part.
    heads = 2 if env_id != "CartPole-v1" else 1
    assert agent.log_alpha_discrete.shape == (heads,)
    assert np.all(agent.log_alpha_discrete.numpy() != alpha_d)
    assert (float(agent.log_alpha_continuous) != alpha_c) == (env_id != "CartPole-v1")
    names = ("axis", "done") if heads == 2 else ("action",)
    assert {f"losses/{m}_{h}" for m in ("alpha", "entropy") for h in names} <= set(metrics)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_sac_learns_pendulum_quickly(jit_compile):
    """6.4k steps (about 25 s): the deterministic policy swings up and holds, a mean return of
    -300 or better over 10 episodes (random: about -1200; SB3's RL Zoo: -157 at 20k), with the
    updates in a graph or compiled by XLA (whose normal samples differ, so the two runs are not
    identical)."""
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("Pendulum-v1", num_envs=1, seed=0)
    config = SACConfig(learning_rate=1e-3, seed=0, jit_compile=jit_compile)
    agent = SACAgent(sac_actor(env), env, config)
    agent.fit(6400, seed=0)
    evaluation = rf.training.Evaluation(rf.GymEnv("Pendulum-v1", num_envs=5, seed=100), episodes=10)
    assert evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"] >= -300


def test_save_load_acts_identically_and_resume_keeps_the_buffer(tmp_path):
    agent = _agent("reinforceable/MixedAction2D-v0")
    history = agent.fit(4 * agent.rollout_steps, run_dir=tmp_path / "run", checkpoint_every=1)
    assert len(history) == 4
    agent.save(tmp_path / "agent")
    loaded = SACAgent.load(tmp_path / "agent", agent.env)
    for mine, theirs in (
        (agent.learner_policy, loaded.learner_policy),
        (agent.eval_policy, loaded.eval_policy),
    ):
        runs = [
            rf.Driver(p, rf.GymEnv("reinforceable/MixedAction2D-v0", 2, seed=3), seed=1).run(40)
            for p in (mine, theirs)
        ]
        tf.nest.map_structure(
            lambda a, b: np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6),
            runs[0][:8],
            runs[1][:8],
        )
    resumed = _agent("reinforceable/MixedAction2D-v0")
    trainer = rf.training.Trainer(resumed, run_dir=tmp_path / "run")
    trainer._restore()
    assert int(resumed.buffer.size) == int(agent.buffer.size) > 0
    np.testing.assert_array_equal(
        resumed.buffer._storage[0].numpy(), agent.buffer._storage[0].numpy()
    )


def test_n_step_transitions_stop_at_episode_ends_and_bootstrap_from_the_right_observation():
    gamma, n = 0.9, 3
    config = SACConfig(batch_size=8, hidden=(8,), warmup_steps=10**6, discount=gamma, n_step=n)
    agent = _agent("CartPole-v1", config=config)
    trajectory = rf.Driver(agent.policy, agent.env, seed=0).run(2 * 64)
    agent.train(trajectory)
    items = dict(
        zip(
            sorted(["observation", "action", "reward", "next_observation", "discount"]),
            agent.buffer._storage,
            strict=True,
        )
    )
    valid = trajectory.valid.numpy()
    ended = (trajectory.terminated | trajectory.truncated).numpy()
    rewards, terminated = trajectory.reward.numpy(), trajectory.terminated.numpy()
    observations = np.concatenate(
        [trajectory.observation.numpy(), trajectory.next_timestep.observation.numpy()[None]]
    )
    for row, (t, b) in enumerate(np.argwhere(valid)):
        total, expected, following = n_step_reference(rewards, ended, terminated, gamma, n, t, b)
        np.testing.assert_allclose(items["reward"][row].numpy(), total, rtol=1e-5)
        np.testing.assert_allclose(items["discount"][row].numpy(), expected, rtol=1e-5)
        np.testing.assert_array_equal(
            items["next_observation"][row].numpy(), observations[following, b]
        )
    assert np.any(items["discount"].numpy()[: valid.sum()] == 0.0)  # terminations were seen


def test_n_step_must_fit_in_a_rollout():
    with pytest.raises(ValueError, match="`n_step`"):
        SACConfig(n_step=0)
    with pytest.raises(ValueError, match="`n_step` \\(9\\) must not exceed `steps_per_iteration`"):
        SACConfig(n_step=9, steps_per_iteration=8)


def test_entropy_backup_keeps_the_discrete_bonus_out_of_the_target_by_default():
    """A discrete head's bonus is positive at every step: backed up, it paid for never taking an
    action that ends the episode (recurrent SAC learned never to stop). Continuous-only SAC is
    standard SAC by default."""
    assert SACConfig().backup_entropy == "auto"
    assert SACConfig().entropy_backup() == (0.0, 1.0)  # (discrete heads, continuous part)
    assert SACConfig().entropy_backup(hybrid=True) == (0.0, 0.0)
    assert SACConfig(backup_entropy="continuous").entropy_backup(hybrid=True) == (0.0, 1.0)
    assert SACConfig(backup_entropy=True).entropy_backup() == (1.0, 1.0)
    assert SACConfig(backup_entropy="all").entropy_backup() == (1.0, 1.0)
    assert SACConfig(backup_entropy=False).entropy_backup() == (0.0, 0.0)
    assert SACConfig(backup_entropy="none").entropy_backup() == (0.0, 0.0)
    assert SACConfig.from_dict({"backup_entropy": False}).entropy_backup() == (0.0, 0.0)
    for bad in ("discrete", 1, None):
        with pytest.raises(ValueError, match=r"`backup_entropy` must be one of 'auto', True"):
            SACConfig(backup_entropy=bad)


@pytest.mark.parametrize(
    ("env_id", "expected"),
    [
        ("Pendulum-v1", (0.0, 1.0)),  # continuous: standard SAC
        ("CartPole-v1", (0.0, 1.0)),  # discrete: no continuous part to back up
        ("reinforceable/MixedAction2D-v0", (0.0, 0.0)),  # hybrid: no bonus in the target
    ],
)
def test_auto_entropy_backup_follows_the_action_space(env_id, expected):
    """By default a hybrid action keeps its continuous bonus out of the target too: near
    `-α_c dims` per step, it paid for stopping early where an action ends the episode."""
    assert _agent(env_id).entropy_backup == expected
    chosen = SACConfig(batch_size=32, hidden=(16,), backup_entropy="continuous")
    assert _agent(env_id, config=chosen).entropy_backup == (0.0, 1.0)
