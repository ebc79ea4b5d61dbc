"""`ScoreFunctionAgent`: the score-function policy gradient (REINFORCE with a learned baseline)."""

from __future__ import annotations

import dataclasses

from reinforceable._checks import (
    check_bool,
    check_number,
    check_positive_int,
    check_seed,
)
from reinforceable.agents._config import Config
from reinforceable.agents.ppo.agent import RecurrentPPOAgent
from reinforceable.agents.ppo.config import PPOConfig

__all__ = ["ScoreFunctionAgent", "ScoreFunctionConfig"]

OWNER = "ScoreFunctionConfig"


@dataclasses.dataclass(frozen=True)
class ScoreFunctionConfig(Config):
    """Hyperparameters of `ScoreFunctionAgent`. Invalid values raise a `ValueError` naming the
    field."""

    num_steps: int = 200
    """Steps per environment in each rollout; one gradient step per rollout."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    discount: float = 0.99
    """γ of the returns, in (0, 1]."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus."""
    value_coef: float = 0.5
    """Weight of the baseline's squared error."""
    max_grad_norm: float | None = 0.5
    """Global-norm gradient clipping; `None` for none."""
    normalize_advantages: bool = True
    """Standardise `G - b(s)` over each rollout."""
    normalize_observations: bool = False
    """Normalise observations with running statistics."""
    seed: int | None = None
    """Seed of the learner's random generator."""

    def __post_init__(self):
        check_positive_int(OWNER, "num_steps", self.num_steps)
        check_number(OWNER, "learning_rate", self.learning_rate, low=0.0)
        check_number(OWNER, "discount", self.discount, low=0.0, high=1.0)
        check_number(OWNER, "entropy_coef", self.entropy_coef, low=-1e-300)
        check_number(OWNER, "value_coef", self.value_coef, low=-1e-300)
        if self.max_grad_norm is not None:
            check_number(OWNER, "max_grad_norm", self.max_grad_norm, low=0.0)
        for name in ("normalize_advantages", "normalize_observations"):
            check_bool(OWNER, name, getattr(self, name))
        check_seed(OWNER, self.seed)

    def ppo_config(self, num_envs: int) -> PPOConfig:
        """The equivalent `PPOConfig`: one epoch over one minibatch holding the whole rollout,
        with λ = 1. The only update is made at the rollout's own parameters, where the clipped
        ratio is 1 and its gradient is exactly `∇ log π(a|s) (G - b(s))`."""
        return PPOConfig(
            num_steps=self.num_steps,
            batch_size=self.num_steps * num_envs,
            num_epochs=1,
            learning_rate=self.learning_rate,
            discount=self.discount,
            gae_lambda=1.0,
            entropy_coef=self.entropy_coef,
            value_coef=self.value_coef,
            max_grad_norm=self.max_grad_norm,
            normalize_advantages=self.normalize_advantages,
            normalize_observations=self.normalize_observations,
            seed=self.seed,
        )


class ScoreFunctionAgent(RecurrentPPOAgent):
    """The score-function (likelihood-ratio) policy gradient with a learned baseline: REINFORCE
    (Williams, 1992) on real environments through the Driver.

    Each iteration collects `num_steps` steps in every environment and takes one gradient step on
    `-mean(log π(a|s) (G - b(s))) + value_coef · mean((b(s) - G)²) - entropy_coef · H`, where `G`
    is the discounted return to the episode's end (bootstrapped from `b` at a truncation and at
    the rollout's end) and `b = V` the model's `"value"` output. It shares the recurrent-PPO
    machinery (one epoch over one minibatch with λ = 1 is exactly this update), so recurrent
    policies, hybrid actions, callbacks and checkpoints all work the same way.

    Args:
        model: A Keras model with `{"action": distributions, "value": [B]}` outputs
            (`rf.networks.actor_critic(env)` builds one).
        env: The `EnvSpec` (or an `Environment`, whose spec is taken and which `fit` then uses
            by default).
        config: A `ScoreFunctionConfig`.

    Example:
        >>> env = rf.GymEnv("CartPole-v1", num_envs=8, seed=0)
        >>> agent = ScoreFunctionAgent(rf.networks.actor_critic(env), env)
        >>> agent.fit(100_000)
    """

    config_class = ScoreFunctionConfig
