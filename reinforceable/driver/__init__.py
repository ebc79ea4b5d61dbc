"""The graph-mode agent-environment loop: `Driver`, policies, observers and trajectories."""

from reinforceable.driver.driver import Driver
from reinforceable.driver.observers import EpisodeStatistics, Observer, SuccessRate
from reinforceable.driver.policy import (
    KerasPolicy,
    Policy,
    PolicyStep,
    RandomPolicy,
    SequenceEvaluation,
)
from reinforceable.driver.trajectory import Trajectory, Transition

__all__ = [
    "Driver",
    "EpisodeStatistics",
    "KerasPolicy",
    "Observer",
    "Policy",
    "PolicyStep",
    "RandomPolicy",
    "SequenceEvaluation",
    "SuccessRate",
    "Trajectory",
    "Transition",
]
