"""TD3 and DDPG: the target smoothing, the delayed actor steps, the exploration noise, Box nests,
the errors, the shared replay, and resume after SIGKILL."""

import pathlib
import signal
import subprocess
import sys
import time

import gymnasium as gym
import keras
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.agents import (
    Agent,
    DDPGAgent,
    DDPGConfig,
    SharedReplayLearner,
    TD3Agent,
    TD3Config,
)
from reinforceable.agents.td3 import ExplorationNoise, smoothed_target_action
from reinforceable.distributed import LocalReplay, LocalRunners
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.networks import sac_actor
from tests.agents.test_action_nests import ActionNestEnv, _containers

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _config(cls=TD3Config, **changes):
    values = dict(hidden=(16,), batch_size=16, warmup_steps=32, steps_per_iteration=32, seed=0)
    return cls(**{**values, **changes})


def _agent(cls=TD3Agent, env=None, **changes):
    keras.utils.set_random_seed(0)
    env = env or rf.GymEnv("Pendulum-v1", 2, seed=0)
    return cls(sac_actor(env, hidden=(16,)), env, _config(cls.config_class, **changes))


def test_target_smoothing_clips_the_noise_then_the_action():
    action = tf.constant([[0.0, 1.9], [0.5, -2.0]])
    noise = tf.constant([[10.0, 1.0], [-1.0, -10.0]])
    half, low, high = tf.constant([1.0, 2.0]), tf.constant([-1.0, -2.0]), tf.constant([1.0, 2.0])
    got = smoothed_target_action(action, noise, 0.2, 0.5, half, low, high)
    # noise · σ = [[2, .2], [-.2, -2]] → clipped to ±0.5 → × h = [[.5, .4], [-.2, -1]]
    np.testing.assert_allclose(got, [[0.5, 2.0], [0.3, -2.0]], atol=1e-6)
    # σ = 0 is DDPG's target: the target actor's action itself.
    np.testing.assert_allclose(smoothed_target_action(action, noise, 0.0, 0.5, half, low, high),
                               action)  # fmt: skip


def test_the_actor_and_the_targets_step_once_per_policy_delay_critic_steps():
    agent = _agent(policy_delay=3)
    target_before = [w.numpy() for w in agent.target_model.weights]
    history = agent.fit(64)  # one iteration of 32 steps in 2 envs, past the warm-up: 64 updates
    assert int(agent.critic_updates.numpy()) == 64
    assert int(agent.critic_optimizer.iterations.numpy()) == 64
    assert int(agent.actor_optimizer.iterations.numpy()) == 64 // 3
    assert history[-1]["losses/actor_updates"] == pytest.approx(64 // 3)
    assert np.isfinite(history[-1]["losses/actor_loss"])
    after = agent.target_model.weights
    moved = [not np.array_equal(a, b.numpy()) for a, b in zip(target_before, after, strict=True)]
    assert any(moved)  # the target actor follows the actor by Polyak steps


def test_ddpg_is_one_critic_an_actor_step_per_critic_step_and_no_smoothing():
    agent = _agent(DDPGAgent)
    assert isinstance(agent.config, DDPGConfig)
    assert len(agent.critics) == 1 and agent.config.target_noise == 0.0
    agent.fit(64)
    assert int(agent.actor_optimizer.iterations.numpy()) == 64
    assert int(agent.critic_optimizer.iterations.numpy()) == 64


class Constant(Policy):
    """Always the same action, for watching the noise."""

    def __init__(self, value, batch):
        self.value = tf.fill([batch, 3], value)

    def step(self, timestep, state, seed):
        return PolicyStep(self.value, state, {})


BOX = gym.spaces.Box(-2.0, 2.0, (3,), np.float32)


def test_gaussian_noise_has_the_std_in_half_ranges_and_stays_in_the_bounds():
    noisy = ExplorationNoise(Constant(0.0, 20_000), BOX, "gaussian", 0.1, 0.15)
    action = noisy.step(None, noisy.initial_state(20_000), tf.constant([1, 2])).action.numpy()
    assert np.std(action) == pytest.approx(0.1 * 2.0, rel=0.03)
    near = ExplorationNoise(Constant(1.99, 1000), BOX, "gaussian", 0.5, 0.15)
    action = near.step(None, near.initial_state(1000), tf.constant([1, 2])).action.numpy()
    assert action.max() <= 2.0 and (action == 2.0).mean() > 0.3


def test_ou_noise_follows_its_recursion_and_restarts_with_each_episode():
    noisy = ExplorationNoise(Constant(0.0, 4), BOX, "ou", 0.3, 0.15)
    state = noisy.initial_state(4)
    np.testing.assert_array_equal(state["noise"], np.zeros([4, 3]))
    first = noisy.step(None, state, tf.constant([3, 4]))
    second = noisy.step(None, first.state, tf.constant([3, 5]))
    x1, x2 = first.state["noise"].numpy(), second.state["noise"].numpy()
    epsilon = tf.random.stateless_normal([4, 3], tf.random.split(tf.constant([3, 5]), 2)[1])
    np.testing.assert_allclose(x2, x1 - 0.15 * x1 * 0.01 + 0.3 * 0.1 * epsilon, atol=1e-6)
    np.testing.assert_allclose(second.action, np.clip(x2 * 2.0, -2, 2), atol=1e-6)

    # In the Driver, the noise restarts from zero where an episode starts: there its variance
    # is one step's, within an episode it grows step by step.
    # 256 environments of 6-step episodes, 14 steps each: about 500 rows of each kind (3
    # dimensions), so the stds below are within about 4% of their values (and seeded).
    env = rf.GymEnv([lambda: ActionNestEnv(BOX)] * 256, seed=0)
    walk = ExplorationNoise(Constant(0.0, 256), BOX, "ou", 1.0, 0.0)
    trajectory = rf.Driver(walk, env, seed=0).run(steps=256 * 14)
    action = trajectory.action.numpy() / 2.0  # x, in half-ranges
    starts = trajectory.episode_start.numpy()
    step = 1.0 * np.sqrt(0.01)
    assert np.std(action[1:][starts[1:]]) == pytest.approx(step, rel=0.1)
    sixth = np.zeros_like(starts)
    sixth[5:] = starts[:-5]  # the sixth step of each episode
    assert np.std(action[sixth.astype(bool)]) == pytest.approx(step * np.sqrt(6), rel=0.1)


@pytest.mark.parametrize(
    "space",
    [
        gym.spaces.Tuple((BOX, gym.spaces.Box(-0.5, 0.5, (1,), np.float32))),
        gym.spaces.Dict({"arm": BOX, "grip": gym.spaces.Box(0.0, 1.0, (2,), np.float32)}),
    ],
    ids=["tuple", "dict"],
)
def test_box_nests_train_evaluate_predict_and_reload(space, tmp_path):
    env = rf.GymEnv([lambda: ActionNestEnv(space)] * 2, seed=0)
    agent = _agent(env=env)
    eval_env = rf.GymEnv([lambda: ActionNestEnv(space)] * 2, seed=1)
    history = agent.fit(96, callbacks=[rf.training.Evaluation(eval_env, every=1, episodes=2)])
    assert np.isfinite(history[-1]["eval/episode_return"]) and history[-1]["losses/updates"] > 0
    observation = np.zeros(3, np.float32)
    action, _ = agent.predict(observation)
    assert _containers(action) == _containers(space.sample()) and space.contains(action)
    # The deterministic action is each head's mode.
    distributions = agent.model(observation[None])
    for got, head in zip(tf.nest.flatten(action), tf.nest.flatten(distributions), strict=True):
        np.testing.assert_allclose(got, head.mode().numpy()[0], atol=1e-6)
    agent.save(tmp_path / "agent")
    loaded = Agent.load(tmp_path / "agent")
    assert type(loaded) is TD3Agent
    again, _ = loaded.predict(observation)
    for got, want in zip(tf.nest.flatten(again), tf.nest.flatten(action), strict=True):
        np.testing.assert_allclose(got, want)


def test_discrete_parts_recurrent_actors_and_bad_configs_are_refused_by_name():
    env = rf.GymEnv("CartPole-v1", 1, seed=0)
    with pytest.raises(ValueError, match="must be a Box; received a Discrete"):
        TD3Agent(sac_actor(env, hidden=(8,)), env, _config())
    pendulum = rf.GymEnv("Pendulum-v1", 1, seed=0)
    with pytest.raises(ValueError, match="memoryless actor"):
        TD3Agent(sac_actor(pendulum, hidden=(8,), recurrent="gru", units=8), pendulum)
    for field, value in [("exploration", "uniform"), ("n_critics", 0), ("policy_delay", 0),
                         ("target_noise", -0.1), ("exploration_std", float("nan"))]:  # fmt: skip
        with pytest.raises(ValueError, match=f"TD3Config: `{field}`"):
            TD3Config(**{field: value})


def test_td3_learns_from_a_shared_replay_that_runners_fill():
    agent = _agent()
    assert isinstance(agent, SharedReplayLearner)
    replay, sizes = LocalReplay(), []

    class Watch(rf.training.Callback):
        def on_iteration_end(self, trainer, logs):
            sizes.append((int(agent.buffer.size), replay.size()))

    runners = LocalRunners(2, "Pendulum-v1", 2)
    history = agent.fit(192, runners=runners, replay=replay, callbacks=[Watch()])
    # The learner stored nothing itself; the replay holds every env step the runners took.
    assert sizes[-1] == (0, int(agent.env_steps.numpy()))
    assert sum(row["losses/updates"] for row in history) > 0
    assert np.isfinite(history[-1]["losses/critic_loss"])


def test_td3_killed_with_sigkill_resumes_with_its_replay(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable, "-m", "reinforceable", "train", "td3", "--env", "Pendulum-v1",
        "--steps", "4096", "--run-dir", str(run_dir), "--eval-every", "1000",
        "--set", "warmup_steps=64", "hidden=(16,)", "steps_per_iteration=32",
        "network.hidden=(16,)",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 300
    while not (run_dir / "checkpoints" / "ckpt-20.index").exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()

    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from" in result.stdout and "result:" in result.stdout
    agent = Agent.load(run_dir / "agent")
    assert int(agent.env_steps.numpy()) == 4096
    # The replay came back with the checkpoint: the resumed run's buffer holds every real
    # transition (Pendulum's 200-step episodes take 201 steps with the reset step, never stored).
    checkpoint = tf.train.Checkpoint(**agent.checkpoint_items())
    checkpoint.read(tf.train.latest_checkpoint(run_dir / "checkpoints")).expect_partial()
    assert int(agent.buffer.size) == 4096 - 4096 // 201
    # One update per env step once the replay holds a batch of 256 transitions: not in the first
    # 8 iterations (256 steps, of which the reset step at 201 is no transition).
    assert int(agent.critic_updates.numpy()) == 4096 - 8 * 32


@pytest.mark.slow
def test_td3_learns_pendulum():
    rf.training.configure_threads(1, 1)
    keras.utils.set_random_seed(0)
    env = rf.GymEnv("Pendulum-v1", 1, seed=0)
    config = TD3Config(warmup_steps=1000, discount=0.98, seed=0)
    agent = TD3Agent(sac_actor(env, hidden=(400, 300)), env, config)
    agent.fit(12_000)
    driver = rf.Driver(agent.eval_policy, rf.GymEnv("Pendulum-v1", 5, seed=9),
                       [rf.driver.EpisodeStatistics(window=10)])  # fmt: skip
    driver.run(episodes=10)
    assert driver.metrics()["episode_return"] > -400
