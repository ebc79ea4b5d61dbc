"""`TD3Config` and `DDPGConfig`: every hyperparameter of `TD3Agent` and `DDPGAgent`, checked at
construction."""

from __future__ import annotations

import dataclasses

from reinforceable._checks import (
    check_bool,
    check_nonnegative_int,
    check_number,
    check_positive_int,
    check_seed,
    check_units,
)
from reinforceable.agents._config import Config, check_hindsight

__all__ = ["DDPGConfig", "TD3Config"]

NOISES = ("gaussian", "ou", "none")


@dataclasses.dataclass(frozen=True)
class TD3Config(Config):
    """Hyperparameters of `TD3Agent` (Fujimoto et al. 2018). Defaults are SB3's TD3's, with
    Gaussian exploration noise of 0.1 (the RL Zoo's; SB3's default is none); `steps_per_iteration`
    is how many env steps are collected between bursts of `utd_ratio` updates per step.

    Noise scales are fractions of each action dimension's half-range `(high - low) / 2` (SB3
    works in actions rescaled to [-1, 1], which is the same), or absolute for an unbounded one.
    Invalid values raise a `ValueError` naming the field."""

    buffer_capacity: int = 1_000_000
    batch_size: int = 256
    learning_rate: float = 1e-3
    """Adam's, for the actor and the critics."""
    discount: float = 0.99
    tau: float = 0.005
    """Polyak rate of the target actor and critics."""
    steps_per_iteration: int = 64
    utd_ratio: float = 1.0
    """Critic updates per env step collected."""
    warmup_steps: int = 100
    """Env steps of uniformly random actions before learning starts."""
    policy_delay: int = 2
    """Critic updates per actor update (and per Polyak step of the targets)."""
    target_noise: float = 0.2
    """Std of the Gaussian noise on the target actor's action (target policy smoothing); 0 turns
    it off."""
    target_noise_clip: float = 0.5
    """The target noise is clipped to ±this."""
    exploration: str = "gaussian"
    """Noise added to the actor's action when collecting: `"gaussian"` (independent per step),
    `"ou"` (Ornstein-Uhlenbeck, reset at episode starts) or `"none"` (an actor that explores by
    itself, such as one with noisy layers)."""
    exploration_std: float = 0.1
    """σ of the exploration noise."""
    ou_theta: float = 0.15
    """θ of the Ornstein-Uhlenbeck noise, `x ← x - θ x dt + σ √dt ε` (with `dt = 1e-2`, SB3's)."""
    n_critics: int = 2
    """Critics; the target is the minimum over all of them (clipped double Q-learning), and the
    actor follows the first."""
    n_step: int = 1
    """Rewards summed in each critic target, cut at the episode's end and the rollout's."""
    hidden: tuple[int, ...] = (400, 300)
    """Units of each critic's hidden layers (SB3's TD3)."""
    normalize_observations: bool = False
    """Normalise each float observation leaf (each key of a Dict: the goal tasks' `observation`,
    `achieved_goal` and `desired_goal`) with running statistics of the observations collected,
    which the actor acts through and the learner applies to its batches (SB3's `VecNormalize`,
    the HER paper's normaliser); clipped at ±10."""
    hindsight: str | None = None
    """Hindsight experience replay for goal tasks (`HindsightReplay`): the goal strategy,
    `"future"`, `"final"` or `"episode"`; `None`: none. Needs a goal-conditioned Dict observation
    and the task's `compute_reward` (`EnvSpec.compute_reward`), `n_step=1` and no XLA."""
    n_sampled_goal: int = 4
    """Relabelled transitions per real one (`her_ratio = k / (k + 1)`), with `hindsight`."""
    seed: int | None = None
    jit_compile: bool = False
    """Compile each burst of updates with XLA."""

    def __post_init__(self):
        owner = type(self).__name__
        names = ("buffer_capacity", "batch_size", "steps_per_iteration", "n_step")
        for name in (*names, "policy_delay", "n_critics"):
            check_positive_int(owner, name, getattr(self, name))
        check_nonnegative_int(owner, "warmup_steps", self.warmup_steps)
        for small, large in (("batch_size", "buffer_capacity"), ("n_step", "steps_per_iteration")):
            if getattr(self, small) > getattr(self, large):
                raise ValueError(
                    f"{owner}: `{small}` ({getattr(self, small)}) must not exceed "
                    f"`{large}` ({getattr(self, large)})."
                )
        check_number(owner, "learning_rate", self.learning_rate, low=0.0)
        check_number(owner, "discount", self.discount, low=0.0, high=1.0)
        check_number(owner, "tau", self.tau, low=0.0, high=1.0)
        check_number(owner, "utd_ratio", self.utd_ratio, low=0.0)
        for name in ("target_noise", "target_noise_clip", "exploration_std"):
            check_number(owner, name, getattr(self, name), low=0.0, low_open=False)
        check_number(owner, "ou_theta", self.ou_theta, low=0.0)
        if self.exploration not in NOISES:
            raise ValueError(
                f"{owner}: `exploration` must be one of {', '.join(map(repr, NOISES))}; "
                f"received {self.exploration!r}."
            )
        check_bool(owner, "jit_compile", self.jit_compile)
        check_bool(owner, "normalize_observations", self.normalize_observations)
        object.__setattr__(self, "hidden", check_units(owner, "hidden", self.hidden))
        check_seed(owner, self.seed)
        check_hindsight(owner, self)


@dataclasses.dataclass(frozen=True)
class DDPGConfig(TD3Config):
    """Hyperparameters of `DDPGAgent` (Lillicrap et al. 2016, as SB3 runs it): `TD3Config`'s
    with one critic, an actor update after every critic update and no target policy
    smoothing."""

    policy_delay: int = 1
    target_noise: float = 0.0
    n_critics: int = 1
