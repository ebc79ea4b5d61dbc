"""`PPOConfig`: every hyperparameter of `RecurrentPPOAgent`, checked at construction."""

from __future__ import annotations

import dataclasses
import math

from reinforceable._checks import check_bool, check_number, check_positive_int, check_seed
from reinforceable.agents._config import Config, check_schedule
from reinforceable.ops.schedules import LinearSchedule

__all__ = ["PPOConfig"]

OWNER = "PPOConfig"
DISCRETE_ENTROPY_COEF = 0.05
"""The default weight of the discrete heads' entropy (`PPOConfig.entropy_coef=None`)."""


@dataclasses.dataclass(frozen=True)
class PPOConfig(Config):
    """Hyperparameters of `RecurrentPPOAgent` (Schulman et al., 2017, with recurrent policies).

    The defaults are those of sb3-contrib's RecurrentPPO. Every invalid value raises a
    `ValueError` naming the field when the config is made. What depends on the environment and
    the model (`batch_size` must divide `num_steps * num_envs`, and hold whole sequences of a
    recurrent policy) is checked when the agent is made.

    Example:
        >>> PPOConfig(num_steps=32, batch_size=256, num_epochs=20, discount=0.98,
        ...           gae_lambda=0.8, learning_rate=LinearSchedule(1e-3),
        ...           clip_range=LinearSchedule(0.2))
    """

    num_steps: int = 128
    """Steps per environment in each rollout (`n_steps`); a rollout is `num_steps * num_envs`."""
    batch_size: int = 128
    """Environment steps per minibatch. It must be a multiple of the sequence length and divide
    the rollout."""
    sequence_length: int | None = None
    """Length of the sequence chunks that minibatches are made of; it must divide `num_steps`.
    `None` uses, for a recurrent policy, the longest chunks that fit both the rollout and a
    minibatch, `gcd(num_steps, batch_size)` (whole rollouts when `batch_size` is a multiple of
    `num_steps`; 128-step chunks for the RL Zoo's `n_steps=1024, batch_size=128`), and single
    steps for a memoryless one. Each chunk is replayed from the recurrent state that the policy
    had at its first step during the rollout."""
    num_epochs: int = 10
    """Passes over the rollout per `train` call."""
    learning_rate: float | LinearSchedule = 3e-4
    """Adam learning rate: a constant or a `LinearSchedule` over the training budget."""
    adam_epsilon: float = 1e-5
    """Adam's epsilon."""
    discount: float = 0.99
    """γ, in (0, 1]."""
    gae_lambda: float = 0.95
    """λ of GAE, in [0, 1]."""
    clip_range: float | LinearSchedule = 0.2
    """ε of the clipped surrogate: a constant or a `LinearSchedule`."""
    clip_range_value: float | None = None
    """If set, the value prediction is kept within this distance of the rollout's value, as in
    the PPO2 baselines (the loss takes the worse of the clipped and unclipped errors)."""
    entropy_coef: float | None = None
    """Weight of the entropy bonus. `None` (the default): `DISCRETE_ENTROPY_COEF` (0.05) on the
    entropy of the discrete heads (categorical, Bernoulli) and 0 on the continuous parts'. A
    number weighs every part's entropy alike (SB3's `ent_coef`; 0.0 was the default before).

    Why: where a discrete action ends the episode (a stop, a "done" switch), stopping early is
    a local optimum that the discrete head settles into before the continuous part has learned
    where to go, and without a bonus its entropy collapses within a few iterations. A
    continuous part's differential entropy is on another scale (negative, unbounded below), so
    it gets none by default. `benchmarks/hybrid_defaults.py` measures it
    (`media/hybrid_defaults_ppo.md`)."""
    value_coef: float = 0.5
    """Weight of the value loss."""
    max_grad_norm: float | None = 0.5
    """Gradients are clipped to this global norm; `None` turns clipping off."""
    target_kl: float | None = None
    """If set, the epochs of a `train` call stop once the approximate KL of a minibatch exceeds
    `1.5 * target_kl` (SB3's rule)."""
    normalize_advantages: bool = False
    """Standardise the advantages of each minibatch (over its valid steps), as SB3's PPO and
    CleanRL do. Off by default (SB3's A2C's choice): a minibatch that holds no rare success, only
    small costs per step, has its noise blown up to unit scale, and on tasks with a discrete
    action that ends the episode (stop, signal "done") those updates drive the policy into
    stopping at once or after one move before the rare rewards are learned from; unstandardised,
    the costs stay small next to the rewards. The gradients are clipped (`max_grad_norm`) and
    the policy ratio too, so large rewards are safe. `benchmarks/hybrid_defaults.py` measures it
    with the default entropy bonus (`media/hybrid_defaults_ppo.md`); the presets that follow the
    RL Zoo set `True`, as SB3 does. The cost: on dense rewards with a small budget, standardised
    advantages learn faster (CartPole-v1, 41k steps, lr 1e-3: 128 unstandardised against >= 300
    standardised; at 100k both reach 500), so set `True` for such tasks."""
    normalize_observations: bool = False
    """Normalise floating observations with running mean and variance (kept in TF variables,
    checkpointed, updated after each `train` call so a rollout and its update see the same
    statistics)."""
    scale_rewards: bool = False
    """Divide rewards by the running standard deviation of the discounted return."""
    total_steps: int | None = None
    """The training budget in env steps that linear schedules run over. `fit(total_steps=...)`
    provides it when this is `None`; calling `train` directly with a `LinearSchedule` needs it."""
    replay_initial_states: bool = False
    """Recompute each chunk's initial recurrent state by replaying the rollout with the current
    weights before the first update, instead of taking the states the actor recorded at the
    chunk boundaries (`Trajectory.sequence_states`). Both are exact when acting and learning
    are synchronous; only the recorded states are right for data that an actor collected with
    older weights. It matters only with several chunks per rollout (`sequence_length` below
    `num_steps`)."""
    seed: int | None = None
    """Seed of the minibatch shuffling. `None` draws one."""

    def entropy_coefs(self) -> tuple[float, float]:
        """`(continuous, discrete)`: the entropy bonus's weight on each kind of action part."""
        if self.entropy_coef is None:
            return 0.0, DISCRETE_ENTROPY_COEF
        return float(self.entropy_coef), float(self.entropy_coef)

    def __post_init__(self):
        for name in ("num_steps", "batch_size", "num_epochs"):
            check_positive_int(OWNER, name, getattr(self, name))
        if self.sequence_length is not None:
            check_positive_int(OWNER, "sequence_length", self.sequence_length)
            if self.num_steps % self.sequence_length:
                raise ValueError(
                    f"PPOConfig: `sequence_length` must divide `num_steps` ({self.num_steps}); "
                    f"received {self.sequence_length}."
                )
            self.check_sequences(recurrent=True)
        check_schedule(OWNER, "learning_rate", self.learning_rate)
        check_schedule(OWNER, "clip_range", self.clip_range)
        check_number(OWNER, "adam_epsilon", self.adam_epsilon, low=0.0)
        check_number(OWNER, "discount", self.discount, low=0.0, high=1.0)
        check_number(OWNER, "gae_lambda", self.gae_lambda, low=0.0, high=1.0, low_open=False)
        if self.entropy_coef is not None:
            check_number(OWNER, "entropy_coef", self.entropy_coef, low=0.0, low_open=False)
        check_number(OWNER, "value_coef", self.value_coef, low=0.0, low_open=False)
        for name in ("clip_range_value", "max_grad_norm", "target_kl"):
            if getattr(self, name) is not None:
                check_number(OWNER, name, getattr(self, name), low=0.0)
        for name in (
            "normalize_advantages",
            "normalize_observations",
            "scale_rewards",
            "replay_initial_states",
        ):
            check_bool(OWNER, name, getattr(self, name))
        if self.total_steps is not None:
            check_positive_int(OWNER, "total_steps", self.total_steps)
        check_seed(OWNER, self.seed)

    def ppo_config(self, num_envs: int | None = None) -> PPOConfig:
        """The `PPOConfig` that the agent runs: this one (`ScoreFunctionConfig` maps itself)."""
        return self

    def chunk_length(self, recurrent: bool) -> int:
        """The sequence length used: `sequence_length`, or if unset `gcd(num_steps,
        batch_size)` for a recurrent policy and 1 for a memoryless one."""
        if self.sequence_length is not None:
            return self.sequence_length
        return math.gcd(self.num_steps, self.batch_size) if recurrent else 1

    def check_sequences(self, recurrent: bool) -> None:
        """Raises a ValueError unless minibatches hold whole sequences."""
        length = self.chunk_length(recurrent)
        if self.batch_size % length:
            raise ValueError(
                f"PPOConfig: `batch_size` must be a multiple of the sequence length ({length}"
                f"{'' if self.sequence_length else ', num_steps for a recurrent policy'}), so "
                f"minibatches hold whole sequences; received {self.batch_size}."
            )

    def check_num_envs(self, num_envs: int) -> None:
        """Raises a ValueError if `batch_size` does not divide the rollout of `num_envs` envs."""
        rollout = self.num_steps * num_envs
        if rollout % self.batch_size:
            raise ValueError(
                f"PPOConfig: `batch_size` must divide the rollout, num_steps * num_envs = "
                f"{self.num_steps} * {num_envs} = {rollout}; received {self.batch_size}."
            )
