"""Evaluation on a runner of its own: the same returns as evaluating in the learner, logged with
the version evaluated; asynchronous on Ray; bad arguments refused."""

import math

import pytest

import reinforceable as rf
from reinforceable.distributed import (
    Evaluator,
    LocalRunners,
    RayRunners,
    RunnerError,
    RunnerEvaluation,
)
from reinforceable.training import Callback, Evaluation
from tests.distributed.helpers import broken_factory, sac_agent


def in_learner(agent, episodes=2) -> float:
    """The final policy's return, evaluated in this process as `Evaluation` does."""
    env = rf.GymEnv("Pendulum-v1", episodes, seed=0)
    try:
        return Evaluation(env, episodes=episodes).evaluate_policy(agent.eval_policy)[
            "eval/episode_return"
        ]
    finally:
        env.close()


def test_an_evaluator_measures_what_the_learner_would_from_the_acting_state_alone():
    agent = sac_agent()
    agent.fit(128, runners=LocalRunners(1, "Pendulum-v1", 2))
    evaluator = Evaluator(agent.blueprint(), "Pendulum-v1", num_envs=2, episodes=2, seed=0)
    try:
        result = evaluator.evaluate(agent.acting_state())
    finally:
        evaluator.close()
    assert result["eval/version"] == float(agent.iterations.numpy())
    assert result["eval/episode_return"] == pytest.approx(in_learner(agent), rel=1e-5)


def test_a_local_evaluation_runner_logs_every_few_iterations_and_at_the_end():
    agent = sac_agent()
    evaluation = RunnerEvaluation("Pendulum-v1", every=4, episodes=2, backend="local")
    history = agent.fit(256, runners=LocalRunners(1, "Pendulum-v1", 2), callbacks=[evaluation])
    evaluated = [row for row in history if "eval/episode_return" in row]
    assert [row["iteration"] for row in evaluated[:-1]] == [4.0 * k for k in range(1, 4)]
    assert all(row["eval/version"] == row["iteration"] for row in evaluated)
    last = history[-1]
    assert last["eval/version"] == last["iteration"] and last["eval/episode_length"] == 200.0
    assert math.isfinite(last["eval/episode_return"])


def test_bad_arguments_are_refused_early():
    with pytest.raises(ValueError, match="`backend` must be one of"):
        RunnerEvaluation("Pendulum-v1", backend="gpu")
    with pytest.raises(ValueError, match="`every` must be a positive int"):
        RunnerEvaluation("Pendulum-v1", every=0)
    with pytest.raises(TypeError, match="`env` must be a gymnasium id or a factory"):
        RunnerEvaluation(3)
    evaluation = RunnerEvaluation(broken_factory, backend="local")
    with pytest.raises(RunnerError, match=r"(?s)evaluation runner's env factory failed.*OSError"):
        sac_agent().fit(64, runners=LocalRunners(1, "Pendulum-v1", 2), callbacks=[evaluation])


class WaitFor(Callback):
    """At iteration `at`, waits until the evaluation in flight has finished."""

    def __init__(self, evaluation, at):
        self.evaluation, self.at, self.waited = evaluation, at, False

    def on_iteration_end(self, trainer, logs):
        if logs["iteration"] == self.at:
            self.waited = self.evaluation.wait()


@pytest.mark.xdist_group("ray")
def test_a_ray_evaluation_runner_evaluates_while_training_goes_on(local_ray):
    """Requests go out every 2 iterations, one at a time; a result is logged in the iteration in
    which it arrives, with the version it evaluated (never newer than the iteration logging it);
    the last iteration holds the final policy's evaluation."""
    agent = sac_agent()
    evaluation = RunnerEvaluation("Pendulum-v1", every=2, episodes=2)
    wait = WaitFor(evaluation, at=6)
    history = agent.fit(320, runners=RayRunners(1, "Pendulum-v1", 2),
                        callbacks=[evaluation, wait])  # fmt: skip
    assert wait.waited
    evaluated = [row for row in history if not math.isnan(row.get("eval/version", math.nan))]
    assert len(evaluated) >= 2
    assert all(row["eval/version"] <= row["iteration"] for row in evaluated)
    assert any(row["eval/version"] < row["iteration"] for row in evaluated[:-1])  # it did not wait
    last = history[-1]
    assert last["eval/version"] == last["iteration"] and last["eval/episode_length"] == 200.0
    assert math.isfinite(last["eval/episode_return"])
    assert evaluation.evaluator is None  # ended with the run
