"""Evaluation in the Driver: a Driver that keeps the statistics of the last episodes, and the
means of a number of whole episodes from fresh resets (what `Evaluation` and the evaluation
runners log)."""

from __future__ import annotations

from reinforceable.driver.driver import Driver
from reinforceable.driver.observers import EpisodeStatistics
from reinforceable.envs.base import Environment

__all__ = ["evaluate_episodes", "evaluation_driver"]


def evaluation_driver(policy, env: Environment, episodes: int) -> Driver:
    """A Driver of `policy` on `env` that keeps the statistics of the last `episodes` episodes."""
    return Driver(policy, env, [EpisodeStatistics(window=episodes)], seed=0)


def evaluate_episodes(driver: Driver, episodes: int) -> dict[str, float]:
    """Runs `driver` (from `evaluation_driver`) for `episodes` episodes from fresh resets;
    returns `eval/episode_return` and `eval/episode_length`, their means."""
    driver.reset()
    for observer in driver.observers:
        observer.reset()
    driver.run(episodes=episodes)
    metrics = driver.metrics()
    return {
        "eval/episode_return": metrics["episode_return"],
        "eval/episode_length": metrics["episode_length"],
    }
