"""Evaluation(save_best=True) keeps the best agent; StopAtReturn stops training at a return."""

import json
import math

import pytest

import reinforceable as rf
from reinforceable.agents import PPOConfig, RecurrentPPOAgent
from reinforceable.networks import actor_critic
from reinforceable.training import Evaluation, StopAtReturn
from reinforceable.training.best import BestAgent

CONFIG = PPOConfig(num_steps=8, batch_size=16, num_epochs=2, seed=0)


def _agent():
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    return RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, config=CONFIG)


class _ScriptedEvaluation(Evaluation):
    """Evaluates as usual, then reports the next of `returns` (so the best is known)."""

    def __init__(self, returns, **kwargs):
        super().__init__(rf.GymEnv("CartPole-v1", 2, seed=1), every=1, episodes=2, **kwargs)
        self.returns = list(returns)

    def evaluate_policy(self, policy):
        return {**super().evaluate_policy(policy), "eval/episode_return": self.returns.pop(0)}


def test_save_best_keeps_the_agent_of_the_best_evaluation(tmp_path):
    agent = _agent()
    evaluation = _ScriptedEvaluation([1.0, 3.0, math.nan, 2.0, 3.0], save_best=True)
    history = agent.fit(5 * 16, callbacks=[evaluation], run_dir=tmp_path)
    record = json.loads((tmp_path / "best_agent" / "best.json").read_text())
    assert record == {"score": 3.0, "env_steps": 32, "iteration": 2}  # a tie does not replace it
    assert [row["eval/best_return"] for row in history] == [1.0, 3.0, 3.0, 3.0, 3.0]
    loaded = RecurrentPPOAgent.load(tmp_path / "best_agent")
    assert int(loaded.iterations.numpy()) == 2  # that agent, not the last
    # a resumed run keeps the saved best unless it beats it
    evaluation = _ScriptedEvaluation([2.5, 4.0], save_best=True)
    agent.fit(7 * 16, callbacks=[evaluation], run_dir=tmp_path, resume=True)
    assert json.loads((tmp_path / "best_agent" / "best.json").read_text())["iteration"] == 7


def test_best_agent_replaces_only_with_a_better_score_and_survives_a_restart(tmp_path):
    agent = _agent()
    best = BestAgent(tmp_path / "best")
    assert best.score == -math.inf
    assert best.offer(agent, 10.0, env_steps=16, iteration=1)
    assert not best.offer(agent, math.nan, env_steps=32, iteration=2)
    assert not best.offer(agent, 9.0, env_steps=32, iteration=2)
    (tmp_path / "best" / "notes.txt").write_text("mine")
    again = BestAgent(tmp_path / "best")  # a resumed run reads the saved score
    assert again.score == 10.0
    assert not again.offer(agent, 10.0, env_steps=48, iteration=3)
    assert again.offer(agent, 11.0, env_steps=48, iteration=3)
    assert json.loads((tmp_path / "best" / "best.json").read_text())["env_steps"] == 48
    assert (tmp_path / "best" / "notes.txt").read_text() == "mine"  # the user's file stays
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best"]  # no temporary left


def test_save_best_needs_a_place(tmp_path):
    agent = _agent()
    evaluation = Evaluation(rf.GymEnv("CartPole-v1", 2, seed=1), save_best=True)
    with pytest.raises(ValueError, match=r"save_best=True.*best_path.*run_dir"):
        agent.fit(16, callbacks=[evaluation])
    with pytest.raises(TypeError, match="save_best"):
        Evaluation(rf.GymEnv("CartPole-v1", 2, seed=1), save_best="yes")


def test_stop_at_return_stops_training_and_checkpoints(tmp_path, capsys):
    agent = _agent()
    stop = StopAtReturn(5.0, key="charts/episode_return")
    history = agent.fit(50 * 16, callbacks=[stop], run_dir=tmp_path)
    finished = [i for i, row in enumerate(history) if row["charts/episode_return"] >= 5.0]
    assert len(history) == finished[0] + 1 < 50  # stops at the first iteration that reaches it
    assert stop.stopped_at == history[-1]["env_steps"]
    assert "training stops" in capsys.readouterr().out
    assert list((tmp_path / "checkpoints").glob("ckpt-*.index"))


def test_stop_at_return_refuses_bad_input():
    agent = _agent()
    with pytest.raises(ValueError, match="Evaluation callback"):
        agent.fit(16, callbacks=[StopAtReturn(100.0)])
    with pytest.raises(ValueError, match="threshold"):
        StopAtReturn(math.inf)
    with pytest.raises(TypeError, match="threshold"):
        StopAtReturn("100")
