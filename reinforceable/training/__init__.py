"""The training experience shared by the agents: `Trainer`, callbacks and checkpoints."""

from reinforceable.training.callbacks import (
    Callback,
    Evaluation,
    LearningCurve,
    ProgressBar,
    TensorBoard,
)
from reinforceable.training.cli import configure_threads, parse_args
from reinforceable.training.trainer import Trainer, final_metric

__all__ = [
    "Callback",
    "Evaluation",
    "LearningCurve",
    "ProgressBar",
    "TensorBoard",
    "Trainer",
    "configure_threads",
    "final_metric",
    "parse_args",
]
