"""`MDGPSConfig`: the hyperparameters of `MDGPSAgent`."""

from __future__ import annotations

import dataclasses

from reinforceable._checks import check_number, check_positive_int, check_seed
from reinforceable.agents._config import Config

__all__ = ["MDGPSConfig"]

OWNER = "MDGPSConfig"


@dataclasses.dataclass(frozen=True)
class MDGPSConfig(Config):
    """Hyperparameters of `MDGPSAgent` (mirror-descent guided policy search). Invalid values
    raise a `ValueError` naming the field."""

    horizon: int = 50
    """T, steps per episode (and of each local controller)."""
    samples_per_condition: int = 5
    """Trajectories sampled from each local controller per iteration."""
    initial_noise: float = 1.0
    """Standard deviation of the initial local controllers' actions (zero gains and mean)."""
    kl_step: float = 0.2
    """ε per step: the KL between a new local controller's trajectory distribution and the
    global policy's is at most `kl_step · horizon · multiplier`."""
    min_step_multiplier: float = 0.1
    """The step multiplier never falls below this."""
    max_step_multiplier: float = 10.0
    """Nor rises above this."""
    prior_components: int = 8
    """Components of the dynamics prior's Gaussian mixture."""
    prior_strength: float = 1.0
    """Pseudo-observations of the normal-inverse-Wishart prior per step."""
    policy_steps: int = 300
    """Gradient steps of the S-step per iteration (full batch)."""
    learning_rate: float = 3e-3
    """Adam's learning rate for the global policy."""
    seed: int = 0
    """Seed of the sampling."""

    def __post_init__(self):
        for name in ("horizon", "samples_per_condition", "prior_components", "policy_steps"):
            check_positive_int(OWNER, name, getattr(self, name))
        for name in ("initial_noise", "kl_step", "min_step_multiplier", "max_step_multiplier",
                     "prior_strength", "learning_rate"):  # fmt: skip
            check_number(OWNER, name, getattr(self, name), low=0.0)
        if self.min_step_multiplier > self.max_step_multiplier:
            raise ValueError(
                f"{OWNER}: `min_step_multiplier` must be <= `max_step_multiplier`; received "
                f"{self.min_step_multiplier} and {self.max_step_multiplier}."
            )
        check_seed(OWNER, self.seed)
