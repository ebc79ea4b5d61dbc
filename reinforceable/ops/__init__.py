"""Pure tensor functions shared by the agents: returns, advantages and running statistics."""

from reinforceable.ops.normalization import RewardScaler, RunningMeanStd, running_discounted_returns
from reinforceable.ops.observation import ObservationNormalizer
from reinforceable.ops.returns import generalized_advantage_estimation, n_step_returns
from reinforceable.ops.schedules import LinearSchedule, schedule_value

__all__ = [
    "LinearSchedule",
    "ObservationNormalizer",
    "RewardScaler",
    "RunningMeanStd",
    "generalized_advantage_estimation",
    "n_step_returns",
    "running_discounted_returns",
    "schedule_value",
]
