"""`DQNConfig`: every hyperparameter of `DQNAgent`, checked at construction."""

from __future__ import annotations

import dataclasses

from reinforceable._checks import (
    check_bool,
    check_nonnegative_int,
    check_number,
    check_positive_int,
    check_seed,
)
from reinforceable.agents._config import Config, check_schedule
from reinforceable.ops.schedules import LinearSchedule

__all__ = ["DQNConfig"]

OWNER = "DQNConfig"


@dataclasses.dataclass(frozen=True)
class DQNConfig(Config):
    """Hyperparameters of `DQNAgent` (Mnih et al. 2015; double DQN, van Hasselt et al. 2016;
    n-step returns, cut at episode ends). Defaults are SB3's DQN's (`train_freq` is
    `steps_per_iteration`, `gradient_steps / train_freq` is `utd_ratio`, `learning_starts` is
    `warmup_steps`). Invalid values raise a `ValueError` naming the field."""

    buffer_capacity: int = 1_000_000
    batch_size: int = 32
    learning_rate: float | LinearSchedule = 1e-4
    """Adam's: a constant or a `LinearSchedule` over the budget of `fit`."""
    discount: float = 0.99
    n_step: int = 1
    double: bool = True  # the online network picks the next action, the target values it
    steps_per_iteration: int = 4
    utd_ratio: float = 0.25
    warmup_steps: int = 100
    target_update_interval: int = 10_000
    """Gradient updates between copies of the online weights into the target network."""
    exploration_fraction: float = 0.1
    """The fraction of the budget of `fit` over which ε falls linearly to `exploration_final`."""
    exploration_initial: float = 1.0
    exploration_final: float = 0.05
    max_grad_norm: float | None = 10.0  # the global norm of the gradients; None: no clipping
    seed: int | None = None

    def __post_init__(self):
        for name in ("buffer_capacity", "batch_size", "n_step", "steps_per_iteration"):
            check_positive_int(OWNER, name, getattr(self, name))
        check_positive_int(OWNER, "target_update_interval", self.target_update_interval)
        check_nonnegative_int(OWNER, "warmup_steps", self.warmup_steps)
        for small, large in (("batch_size", "buffer_capacity"), ("n_step", "steps_per_iteration")):
            if getattr(self, small) > getattr(self, large):
                raise ValueError(
                    f"{OWNER}: `{small}` ({getattr(self, small)}) must not exceed "
                    f"`{large}` ({getattr(self, large)})."
                )
        check_schedule(OWNER, "learning_rate", self.learning_rate)
        check_number(OWNER, "utd_ratio", self.utd_ratio, low=0.0)
        if self.max_grad_norm is not None:
            check_number(OWNER, "max_grad_norm", self.max_grad_norm, low=0.0)
        for name in ("discount", "exploration_fraction"):
            check_number(OWNER, name, getattr(self, name), low=0.0, high=1.0)
        for name in ("exploration_initial", "exploration_final"):
            check_number(OWNER, name, getattr(self, name), low=0.0, high=1.0, low_open=False)
        check_bool(OWNER, "double", self.double)
        check_seed(OWNER, self.seed)
