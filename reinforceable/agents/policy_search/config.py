"""`AnalyticPolicySearchConfig`: the hyperparameters of `AnalyticPolicySearch`."""

from __future__ import annotations

import dataclasses

from reinforceable._checks import (
    check_bool,
    check_number,
    check_positive_int,
    check_seed,
    check_units,
)
from reinforceable.agents._config import Config

__all__ = ["AnalyticPolicySearchConfig"]


@dataclasses.dataclass(frozen=True)
class AnalyticPolicySearchConfig(Config):
    """Hyperparameters of `AnalyticPolicySearch` (backpropagation through model rollouts).

    Each iteration rolls `num_rollouts` states forward `horizon` steps through the model with
    the policy and ascends the gradient of their discounted return (plus, with `terminal_value`,
    the discounted value of the last state, as in SHAC: Xu et al., 2022, "Accelerated Policy
    Learning with Parallel Differentiable Simulation"). Rollouts continue from where the last
    iteration stopped until `episode_length` steps, then restart from the model's initial states.
    Invalid values raise a `ValueError` naming the field.
    """

    horizon: int = 32
    """Steps per rollout window (and per gradient step), > 0."""
    episode_length: int = 200
    """Steps before the rollouts restart from `model.initial_state`; >= `horizon`."""
    truncation: int | None = None
    """Cut the gradient through the state every this many steps (truncated backprop); `None`
    backpropagates through the whole window."""
    num_rollouts: int = 64
    """Rollouts in parallel (the batch)."""
    learning_rate: float = 1e-3
    """Adam learning rate of the policy (and of the value function)."""
    max_grad_norm: float | None = 1.0
    """Global-norm clipping of the policy gradient, against exploding gradients; `None` for none."""
    discount: float = 0.99
    """γ, in (0, 1]."""
    deterministic: bool = False
    """Act with the mode of the policy's distribution; otherwise with a reparameterised sample."""
    terminal_value: bool = False
    """Learn a value function and add `γ^H V(s_H)` to each window's return (SHAC)."""
    value_hidden: tuple[int, ...] = (64, 64)
    """Hidden units of the value function."""
    value_updates: int = 8
    """Value-function gradient steps per iteration."""
    seed: int | None = None
    """Seed of the initial states and the policy's samples."""

    def __post_init__(self):
        owner = "AnalyticPolicySearchConfig"
        for name in ("horizon", "episode_length", "num_rollouts", "value_updates"):
            check_positive_int(owner, name, getattr(self, name))
        if self.truncation is not None:
            check_positive_int(owner, "truncation", self.truncation)
        if self.episode_length < self.horizon:
            raise ValueError(
                f"{owner}: `episode_length` ({self.episode_length}) must be >= `horizon` "
                f"({self.horizon})."
            )
        check_number(owner, "learning_rate", self.learning_rate, low=0.0)
        check_number(owner, "discount", self.discount, low=0.0, high=1.0)
        if self.max_grad_norm is not None:
            check_number(owner, "max_grad_norm", self.max_grad_norm, low=0.0)
        for name in ("deterministic", "terminal_value"):
            check_bool(owner, name, getattr(self, name))
        object.__setattr__(
            self, "value_hidden", check_units(owner, "value_hidden", self.value_hidden)
        )
        check_seed(owner, self.seed)
