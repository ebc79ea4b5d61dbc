"""`SACConfig`: every hyperparameter of `SACAgent`, checked at construction."""

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

__all__ = ["RecurrentSACConfig", "SACConfig"]

OWNER = "SACConfig"
BACKUPS = {
    True: (True, True),
    "all": (True, True),
    "continuous": (False, True),
    False: (False, False),
    "none": (False, False),
}
"""`backup_entropy`'s explicit values: (discrete heads backed up, continuous part backed up).
`"auto"`, the default, resolves to `"continuous"` for an action without a discrete part and to
`"none"` for a hybrid one (`SACConfig.entropy_backup`)."""


@dataclasses.dataclass(frozen=True)
class SACConfig(Config):
    """Hyperparameters of `SACAgent` (Haarnoja et al., 2018, "Soft Actor-Critic Algorithms and
    Applications": twin critics, target networks, learned temperature).

    Defaults follow SB3's SAC, except that environment steps are collected in rollouts of
    `steps_per_iteration` steps per environment between bursts of updates (SpinningUp's
    `update_every`), which keeps the update-to-data ratio and spends less time in Python.
    Invalid values raise a `ValueError` naming the field.
    """

    buffer_capacity: int = 1_000_000
    """Transitions the replay buffer keeps."""
    batch_size: int = 256
    """Transitions per gradient update."""
    learning_rate: float = 3e-4
    """Adam learning rate of the actor, the critics and the temperatures."""
    discount: float = 0.99
    """γ, in (0, 1]."""
    tau: float = 0.005
    """Polyak coefficient of the target critics, in (0, 1]."""
    steps_per_iteration: int = 64
    """Vector-environment steps collected per iteration (per environment)."""
    utd_ratio: float = 1.0
    """Gradient updates per environment step collected (update-to-data ratio)."""
    warmup_steps: int = 100
    """Environment steps of uniformly random actions before learning starts."""
    initial_temperature: float = 1.0
    """Initial α of every action part."""
    learn_temperature: bool = True
    """Learn α towards the target entropy; otherwise it stays at `initial_temperature`."""
    target_entropy: float | None = None
    """Target entropy of the continuous part; `None` uses -(number of continuous dimensions)."""
    discrete_target_entropy_ratio: float = 0.5
    """Target entropy of each discrete head, as a fraction of its largest entropy (log n for `n`
    choices); in [0, 1). Each head has a temperature of its own."""
    backup_entropy: bool | str = "auto"
    """Which entropy bonuses go into the critics' target. `"auto"` (the default): the continuous
    part's bonus for a purely continuous action (standard SAC), none for a hybrid one; `True`
    (or `"all"`) every part's (SAC's and Christodoulou's discrete SAC's); `"continuous"` that of
    the continuous part only; `False` (or `"none"`) none. The others stay in the actor's
    objective only. A bonus in the target is paid at every step the episode lasts, so where an
    action ends the episode (a stop, a "done" switch) it biases that action: a discrete head's
    `α_h H_h` is positive and pays for never stopping (the survival bias: recurrent SAC learned
    never to stop), and the continuous part's `-α_c log π` sits near `α_c` times its target
    entropy, `-dims`, a cost per step that pays for stopping early (measured on memory tasks
    whose stop ends the episode: `media/hybrid_defaults_rsac.md`)."""
    n_step: int = 1
    """Rewards summed in each critic target, `r_t + ... + γ^(n-1) r_{t+n-1} + γ^n V(s_{t+n})`,
    cut short at the episode's end and at the end of each rollout (uncorrected n-step returns, as
    in Rainbow and D4PG). At most `steps_per_iteration`."""
    hidden: tuple[int, ...] = (256, 256)
    """Units of each critic's hidden layers."""
    n_critics: int = 2
    """Critics (and target critics)."""
    critic_subset: int | None = None
    """REDQ (Chen et al. 2021): the critics' target takes the minimum over a random subset of
    this many target critics, drawn per update, and the actor follows the mean of all critics;
    `None`: the minimum over all of them for both (SAC's clipped double Q-learning). REDQ's
    settings: `n_critics=10, critic_subset=2, utd_ratio=20`."""
    critic_dropout: float = 0.0
    """DroQ (Hiraoka et al. 2022): dropout of this rate, then layer normalisation, in each
    hidden layer of the default critics (on in every critic pass, targets included); 0: none.
    DroQ's settings: `critic_dropout=0.01, utd_ratio=20`."""
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
    crossq: bool = False
    """CrossQ (Bhatt et al. 2024): batch-renormalised critics (`BatchRenormalization` on the
    input and after each hidden layer; a custom critic must have normalisation layers), no
    target critics (`tau` is unused), and the current and next state-actions through each
    critic in one batch. The paper's settings add wider critics (`hidden=(2048, 2048)`) and
    `learning_rate=1e-3`."""
    seed: int | None = None
    """Seed of the replay sampling and the updates' action samples."""
    jit_compile: bool = False
    """Compile each burst of updates with XLA: about 1.2x more updates per second for the
    standard 256x256 networks on a 2-core CPU (HalfCheetah), after a few seconds of compiling.
    An actor with an op that XLA cannot compile fails at the first update."""

    def entropy_backup(self, hybrid: bool = False) -> tuple[float, float]:
        """`(discrete, continuous)`: 1.0 where that part's entropy bonus goes into the critics'
        target (`backup_entropy`), 0.0 where it does not; `hybrid` says whether the action has
        both a continuous and a discrete part (for `"auto"`)."""
        chosen = self.backup_entropy
        if chosen == "auto":
            chosen = "none" if hybrid else "continuous"
        discrete, continuous = BACKUPS[chosen]
        return float(discrete), float(continuous)

    def __post_init__(self):
        for name in ("buffer_capacity", "batch_size", "steps_per_iteration", "n_step"):
            check_positive_int(OWNER, name, getattr(self, name))
        check_nonnegative_int(OWNER, "warmup_steps", self.warmup_steps)
        if self.batch_size > self.buffer_capacity:
            raise ValueError(
                f"SACConfig: `batch_size` ({self.batch_size}) must not exceed `buffer_capacity` "
                f"({self.buffer_capacity})."
            )
        if self.n_step > self.steps_per_iteration:
            raise ValueError(
                f"SACConfig: `n_step` ({self.n_step}) must not exceed `steps_per_iteration` "
                f"({self.steps_per_iteration}): the returns are summed within each rollout."
            )
        check_number(OWNER, "learning_rate", self.learning_rate, low=0.0)
        check_number(OWNER, "discount", self.discount, low=0.0, high=1.0)
        check_number(OWNER, "tau", self.tau, low=0.0, high=1.0)
        check_number(OWNER, "utd_ratio", self.utd_ratio, low=0.0)
        check_number(OWNER, "initial_temperature", self.initial_temperature, low=0.0)
        if self.target_entropy is not None:
            check_number(OWNER, "target_entropy", self.target_entropy)
        ratio = self.discrete_target_entropy_ratio
        check_number(OWNER, "discrete_target_entropy_ratio", ratio)
        if not 0.0 <= ratio < 1.0:
            raise ValueError(
                f"SACConfig: `discrete_target_entropy_ratio` must be in [0, 1); received {ratio!r}."
            )
        for name in ("learn_temperature", "jit_compile", "normalize_observations", "crossq"):
            check_bool(OWNER, name, getattr(self, name))
        backup = self.backup_entropy
        if not isinstance(backup, bool | str) or (backup != "auto" and backup not in BACKUPS):
            raise ValueError(
                f"{OWNER}: `backup_entropy` must be one of 'auto', True, False, 'all', "
                f"'continuous' or 'none'; received {self.backup_entropy!r}."
            )
        object.__setattr__(self, "hidden", check_units(OWNER, "hidden", self.hidden))
        check_positive_int(OWNER, "n_critics", self.n_critics)
        if self.critic_subset is not None:
            check_positive_int(OWNER, "critic_subset", self.critic_subset)
            if self.critic_subset > self.n_critics:
                raise ValueError(
                    f"{OWNER}: `n_critics` ({self.n_critics}) must be at least `critic_subset` "
                    f"({self.critic_subset}), the critics the target's minimum is taken over."
                )
        check_number(OWNER, "critic_dropout", self.critic_dropout, low=0.0, low_open=False)
        if self.critic_dropout >= 1.0:
            raise ValueError(
                f"{OWNER}: `critic_dropout` must be in [0, 1); received {self.critic_dropout!r}."
            )
        check_seed(OWNER, self.seed)
        check_hindsight(type(self).__name__, self)


@dataclasses.dataclass(frozen=True)
class RecurrentSACConfig(SACConfig):
    """Hyperparameters of `RecurrentSACAgent`: `SACConfig`'s, and the sequences it learns from.

    Replay holds sequences of `sequence_length` steps starting every `sequence_length - overlap`
    steps of a rollout, each with the actor's recorded state at its start (R2D2, Kapturowski et
    al. 2019). An update replays `batch_size` sequences: `burn_in` steps without gradient from
    the stored state refresh the recurrent states, and the remaining steps are trained on.
    `batch_size` counts sequences and `buffer_capacity` env steps (the replay keeps
    `buffer_capacity // (sequence_length - overlap)` sequences). Invalid values, or values that do
    not fit together, raise a `ValueError` naming the fields.
    """

    batch_size: int = 32
    """Sequences per gradient update (each trains `sequence_length - burn_in` steps)."""
    sequence_length: int = 16
    """`L`, steps per stored sequence; at most `steps_per_iteration`."""
    burn_in: int = 8
    """`B`, steps at each sequence's start that only refresh the recurrent states (no gradient,
    no loss); in [0, L)."""
    overlap: int = 8
    """Steps shared by consecutive sequences, in [0, L); `steps_per_iteration` must be a multiple
    of the stride `L - overlap`."""
    prioritized: bool = False
    """Prioritised sequence replay (R2D2's priorities and importance weights)."""
    priority_exponent: float = 0.9
    """`α` of the sampling probabilities `p^α / Σ p^α`."""
    importance_exponent: float = 0.6
    """`β` of the importance weights."""
    priority_eta: float = 0.9
    """`η` of a sequence's priority, `η max |δ| + (1 - η) mean |δ|`."""
    cell: str = "gru"
    """The critics' recurrent cell, `"gru"` or `"lstm"`."""
    units: int = 128
    """Units of the critics' recurrent layer."""
    embedding: int = 64
    """Units of the dense layer before the critics' recurrent layer."""

    def __post_init__(self):
        super().__post_init__()
        owner = "RecurrentSACConfig"
        for name in ("sequence_length", "units", "embedding"):
            check_positive_int(owner, name, getattr(self, name))
        for name in ("burn_in", "overlap"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{owner}: `{name}` must be an int >= 0; received {value!r}.")
        length = self.sequence_length
        if self.burn_in >= length:
            raise ValueError(
                f"{owner}: `burn_in` ({self.burn_in}) must be shorter than `sequence_length` "
                f"({length}), so that each sequence has steps to train on."
            )
        if self.overlap >= length:
            raise ValueError(
                f"{owner}: `overlap` ({self.overlap}) must be shorter than `sequence_length` "
                f"({length})."
            )
        if length > self.steps_per_iteration:
            raise ValueError(
                f"{owner}: a sequence of `sequence_length` {length} steps does not fit a rollout "
                f"of `steps_per_iteration` {self.steps_per_iteration} steps."
            )
        stride = length - self.overlap
        if self.steps_per_iteration % stride:
            raise ValueError(
                f"{owner}: `steps_per_iteration` ({self.steps_per_iteration}) must be a multiple "
                f"of the stride `sequence_length - overlap` ({stride})."
            )
        if length > self.buffer_capacity:
            raise ValueError(
                f"{owner}: a sequence of `sequence_length` {length} steps is longer than the "
                f"replay's `buffer_capacity` ({self.buffer_capacity} steps)."
            )
        if self.batch_size > self.buffer_capacity // stride:
            raise ValueError(
                f"{owner}: `batch_size` ({self.batch_size} sequences) exceeds the "
                f"{self.buffer_capacity // stride} sequences that `buffer_capacity` "
                f"({self.buffer_capacity} steps) holds."
            )
        if self.n_step > length - self.burn_in:
            raise ValueError(
                f"{owner}: `n_step` ({self.n_step}) must not exceed the trained steps of a "
                f"sequence, `sequence_length - burn_in` ({length - self.burn_in})."
            )
        for name in ("priority_exponent", "importance_exponent", "priority_eta"):
            check_number(owner, name, getattr(self, name), low=0.0, high=1.0)
        check_bool(owner, "prioritized", self.prioritized)
        if self.cell not in ("gru", "lstm"):
            raise ValueError(f"{owner}: `cell` must be 'gru' or 'lstm'; received {self.cell!r}.")

    @property
    def stride(self) -> int:
        """Steps between the starts of consecutive sequences."""
        return self.sequence_length - self.overlap
