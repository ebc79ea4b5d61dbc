"""Evaluation in the Driver: a Driver that keeps the statistics of the last episodes, and the
means of a number of whole episodes from fresh resets (what `Evaluation` and the evaluation
runners log)."""

from __future__ import annotations

from reinforceable.driver.driver import Driver
from reinforceable.driver.observers import EpisodeStatistics, SuccessRate
from reinforceable.envs.base import Environment

__all__ = ["evaluate_episodes", "evaluation_driver"]


def evaluation_driver(policy, env: Environment, episodes: int) -> Driver:
    """A Driver of `policy` on `env` that keeps the statistics of the last `episodes` episodes,
    and their success rate where the environment carries gymnasium's `is_success` info."""
    observers = [EpisodeStatistics(window=episodes)]
    if "is_success" in env.info_spec:
        observers.append(SuccessRate())
    return Driver(policy, env, observers, seed=0)


def evaluate_episodes(driver: Driver, episodes: int) -> dict[str, float]:
    """Runs `driver` (from `evaluation_driver`) for `episodes` episodes from fresh resets;
    returns `eval/episode_return` and `eval/episode_length`, their means, and
    `eval/success_rate` where the environment carries `is_success`."""
    driver.reset()
    for observer in driver.observers:
        observer.reset()
    driver.run(episodes=episodes)
    metrics = driver.metrics()
    results = {
        "eval/episode_return": metrics["episode_return"],
        "eval/episode_length": metrics["episode_length"],
    }
    if "success_rate" in metrics:
        results["eval/success_rate"] = metrics["success_rate"]
    return results
