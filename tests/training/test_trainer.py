"""Trainer: callbacks and their files, stopping, resume, and faults (NaN, SIGKILL)."""

import csv
import math
import pathlib
import re
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
from reinforceable.agents import PPOConfig, RecurrentPPOAgent, TrainingDivergedError
from reinforceable.networks import actor_critic
from reinforceable.training import Callback, LearningCurve, ProgressBar, TensorBoard, Trainer

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"
CONFIG = PPOConfig(num_steps=8, batch_size=16, num_epochs=2, normalize_observations=True, seed=0)


def _agent(env_id="CartPole-v1", config=CONFIG, **kwargs):
    env = rf.GymEnv(env_id, num_envs=2, seed=0, **kwargs)
    return RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, config)


def _rows(run_dir):
    with (run_dir / "progress.csv").open(newline="") as file:
        return list(csv.DictReader(file))


def test_fit_writes_progress_tensorboard_and_the_learning_curve(tmp_path, capsys):
    agent = _agent()
    evaluation = rf.training.Evaluation(rf.GymEnv("CartPole-v1", 2, seed=1), every=2, episodes=2)
    history = agent.fit(
        5 * 16,
        callbacks=[ProgressBar(print_every=1), TensorBoard(), LearningCurve(every=2), evaluation],
        run_dir=tmp_path,
    )
    assert [row["iteration"] for row in history] == [1, 2, 3, 4, 5]
    assert history[-1]["env_steps"] == 80
    assert "eval/episode_return" in history[1] and "eval/episode_return" not in history[0]
    for key in ("charts/episode_return", "charts/fps", "losses/approx_kl", "losses/clip_fraction"):
        assert key in history[-1]
    assert [int(float(r["iteration"])) for r in _rows(tmp_path)] == [1, 2, 3, 4, 5]
    assert (tmp_path / "learning_curve.png").stat().st_size > 1000
    events = list((tmp_path / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    tags = {
        value.tag
        for event in tf.compat.v1.train.summary_iterator(str(events[0]))
        for value in event.summary.value
    }
    assert {"losses/approx_kl", "charts/episode_return", "eval/episode_return"} <= tags
    assert "iteration 5 | 80 steps" in capsys.readouterr().out


def test_a_callback_returning_false_stops_training(tmp_path):
    class StopAtTwo(Callback):
        def on_iteration_end(self, trainer, logs):
            return logs["iteration"] < 2

    history = _agent().fit(1000 * 16, callbacks=[StopAtTwo()], run_dir=tmp_path)
    assert len(history) == 2
    assert (tmp_path / "checkpoints" / "ckpt-2.index").exists()


def test_resume_continues_counters_optimizer_statistics_and_rng(tmp_path):
    # One run of 4 iterations, against 2 iterations, a new process's worth of objects, and 2 more.
    straight = _agent()
    Trainer(straight, seed=5).fit(4 * 16)

    first = _agent()
    Trainer(first, run_dir=tmp_path, checkpoint_every=1, seed=5).fit(2 * 16)
    resumed = _agent()
    trainer = Trainer(resumed, run_dir=tmp_path, checkpoint_every=1, seed=5)
    history = trainer.fit(4 * 16)
    assert [row["iteration"] for row in history] == [1, 2, 3, 4]
    assert int(resumed.env_steps.numpy()) == 64
    assert int(resumed.optimizer.iterations.numpy()) == int(straight.optimizer.iterations.numpy())
    np.testing.assert_array_equal(
        resumed.observation_normalizer.statistics[0].count.numpy(),
        straight.observation_normalizer.statistics[0].count.numpy(),
    )
    # The random generators were restored, not restarted: the next draws differ from a fresh
    # generator's and equal those of the uninterrupted agent.
    np.testing.assert_array_equal(resumed.rng.state.numpy(), straight.rng.state.numpy())
    assert not np.array_equal(resumed.rng.state.numpy(), _agent().rng.state.numpy())


class _NanRewardsAfter(gym.Wrapper):
    def __init__(self, env, steps):
        super().__init__(env)
        self.left = steps

    def step(self, action):
        observation, reward, terminated, truncated, info = self.env.step(action)
        self.left -= 1
        return observation, math.nan if self.left < 0 else reward, terminated, truncated, info


@pytest.mark.parametrize("check_finite", [True, False])
def test_nan_keeps_the_last_good_checkpoint(tmp_path, check_finite):
    # Checked at the env boundary (the default), or let through to a NaN loss.
    factories = [lambda: _NanRewardsAfter(gym.make("CartPole-v1"), 8 * 3 + 2)] * 2
    env = rf.GymEnv(factories, seed=0, check_finite=check_finite)
    agent = RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, CONFIG)
    trainer = Trainer(agent, run_dir=tmp_path, checkpoint_every=1)
    with pytest.raises(TrainingDivergedError, match="iteration 4") as info:
        trainer.fit(10 * 16)
    if check_finite:
        assert isinstance(info.value.__cause__, rf.envs.NonFiniteError)
        found = r"environment \d returned a non-finite reward at step \d+"
        assert re.search(found, str(info.value))
        assert "ckpt-3" in str(info.value)
    assert trainer.manager.latest_checkpoint.endswith("ckpt-3")
    weights = [w.numpy() for w in agent.model.weights]
    assert all(np.isfinite(w).all() for w in weights)
    # The checkpoint holds exactly the weights the failed update left in place.
    restored = _agent()
    tf.train.Checkpoint(model=restored.model).read(
        trainer.manager.latest_checkpoint
    ).expect_partial()
    for a, b in zip(weights, restored.model.weights, strict=True):
        np.testing.assert_array_equal(a, b.numpy())


def test_training_killed_with_sigkill_resumes_and_finishes(tmp_path):
    run_dir = tmp_path / "run"
    command = [
        sys.executable,
        str(EXAMPLES / "recurrent_ppo_cartpole.py"),
        "--total-steps", "12800",
        "--units", "8",
        "--eval-every", "1000",
        "--eval-episodes", "4",
        "--checkpoint-every", "5",
        "--run-dir", str(run_dir),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path
    )
    deadline = time.monotonic() + 300
    while not (run_dir / "checkpoints" / "ckpt-10.index").exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = len(_rows(run_dir))
    assert killed_at < 50, "the run finished before it could be killed"

    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from" in result.stdout and "result:" in result.stdout
    iterations = [int(float(row["iteration"])) for row in _rows(run_dir)]
    assert iterations == list(range(1, 51))


def test_evaluation_runs_on_an_in_graph_environment():
    """A model-based agent trains without an environment and is evaluated on its model's own
    `TFEnv`, which a fixed start makes deterministic: two evaluations of the same policy agree."""
    model = rf.models.PointMass2D()
    config = rf.agents.AnalyticPolicySearchConfig(horizon=8, episode_length=16, num_rollouts=8,
                                                  seed=0)  # fmt: skip
    inputs = keras.Input((4,))
    heads = rf.DenseNormal((2,), output_bounds=[-1.0, 1.0], hard_bounds=True)(inputs)
    agent = rf.agents.AnalyticPolicySearch(keras.Model(inputs, heads), model, config)
    env = rf.TFEnv(model, 4, 20, initial_state=[0.5, -0.5, 0.0, 0.0], seed=0)
    evaluation = rf.training.Evaluation(env, every=1, episodes=4)
    history = agent.fit(2 * agent.rollout_steps, callbacks=[evaluation])
    assert [math.isfinite(row["eval/episode_return"]) for row in history] == [True, True]
    again = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    assert again == pytest.approx(history[-1]["eval/episode_return"])


def test_an_exploding_update_warns_once_before_any_nan():
    """PPO with learning_rate=1e9 once finished with weights of 1e9 and no word."""
    from reinforceable.training.health import DivergenceWarning

    def fit(learning_rate):
        env = rf.GymEnv("CartPole-v1", 4, seed=0)
        config = PPOConfig(num_steps=32, batch_size=64, num_epochs=2, learning_rate=learning_rate)
        agent = RecurrentPPOAgent(actor_critic(env, hidden=(16,)), env, config)
        return agent.fit(128 * 3)

    with pytest.warns(DivergenceWarning) as caught:
        history = fit(1e9)
    assert len(caught) == 1  # once per run, though every iteration is far past the limit
    assert re.search(r"divergent at iteration 1: the RMS of the policy model's weights went "
                     r"from 0\.\d+ to \d\.\d+e\+\d\d", str(caught[0].message))  # fmt: skip
    assert all(row["health/weight_rms/policy"] > 1e3 for row in history)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        healthy = fit(3e-4)
    assert all(0.01 < row["health/weight_rms/policy"] < 10 for row in healthy)


def test_the_progress_line_shows_a_dash_until_an_episode_has_ended(capsys):
    """It printed `return nan` before any episode had ended."""
    env = rf.GymEnv("CartPole-v1", 2, seed=0)
    config = PPOConfig(num_steps=4, batch_size=8, num_epochs=1, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, config)
    agent.fit(8, callbacks=[ProgressBar(print_every=1)])  # 4 steps: no CartPole episode ends
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("iteration 1 | 8 steps | return – | ") and "nan" not in line
