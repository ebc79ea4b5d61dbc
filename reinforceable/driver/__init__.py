"""The graph-mode agent-environment loop: `Driver`, policies, observers and trajectories."""

from reinforceable.driver.driver import Driver
from reinforceable.driver.evaluation import evaluate_episodes, evaluation_driver
from reinforceable.driver.keras_policy import KerasPolicy, SequenceEvaluation
from reinforceable.driver.observers import EpisodeStatistics, Observer, SuccessRate
from reinforceable.driver.policy import NonFiniteActionError, Policy, PolicyStep
from reinforceable.driver.random_policy import RandomPolicy
from reinforceable.driver.trajectory import Trajectory, Transition

__all__ = [
    "Driver",
    "EpisodeStatistics",
    "KerasPolicy",
    "NonFiniteActionError",
    "Observer",
    "Policy",
    "PolicyStep",
    "RandomPolicy",
    "SequenceEvaluation",
    "SuccessRate",
    "Trajectory",
    "Transition",
    "evaluate_episodes",
    "evaluation_driver",
]
