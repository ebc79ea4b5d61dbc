"""The training experience shared by the agents: `Trainer`, callbacks, checkpoints and the
`Logger` of interim results."""

from reinforceable.training.callbacks import (
    Callback,
    Evaluation,
    LearningCurve,
    LogTo,
    ProgressBar,
    StopAtReturn,
    TensorBoard,
)
from reinforceable.training.cli import configure_threads, parse_args
from reinforceable.training.episodes import VideoError, VideoRecorder, run_episodes
from reinforceable.training.health import DivergenceWarning
from reinforceable.training.logger import FileBackend, Logger, MemoryBackend, TensorBoardBackend
from reinforceable.training.run_dir import CheckpointError
from reinforceable.training.trainer import Trainer, final_metric

__all__ = [
    "Callback",
    "CheckpointError",
    "DivergenceWarning",
    "Evaluation",
    "FileBackend",
    "LearningCurve",
    "LogTo",
    "Logger",
    "MemoryBackend",
    "ProgressBar",
    "StopAtReturn",
    "TensorBoard",
    "TensorBoardBackend",
    "Trainer",
    "VideoError",
    "VideoRecorder",
    "configure_threads",
    "final_metric",
    "parse_args",
    "run_episodes",
]
