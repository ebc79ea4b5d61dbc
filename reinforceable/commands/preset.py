"""`Preset`: one task's tuned settings (algorithm, environment, budget, config, network) with
the figure they reach and the command that measured it, and settings several presets and
benchmarks share; `presets` holds the table."""

from __future__ import annotations

import dataclasses
from typing import Any

from reinforceable.commands.algorithms import ALGOS

__all__ = [
    "PENDULUM_NOVEL_TORSO",
    "RL_ZOO_PENDULUM_NOVEL_CONFIG",
    "RL_ZOO_PENDULUM_NOVEL_NETWORK",
    "Preset",
]


@dataclasses.dataclass(frozen=True)
class Preset:
    """Tuned settings for one task, with the figure they reach."""

    name: str
    algo: str
    env_id: str
    steps: int
    num_envs: int
    config: dict[str, Any]
    """Fields of the algorithm's config, as its `to_dict` writes them (a linear schedule is
    `{"linear": {"start": ...}}`); the seed is added by `train`."""
    network: dict[str, Any]
    """Keyword arguments of the algorithm's network builder."""
    figure: float
    """Mean deterministic evaluation return at `steps`, over the seeds of `command`."""
    measured: str
    """What `figure` is: seeds, episodes, the media file."""
    command: str
    """The benchmark command that measured `figure`."""
    check_steps: int
    """The budget of the preset's slow test (tests/commands), `<= steps`."""
    check_return: float
    """The return its slow test asserts at `check_steps` (seed 0)."""
    eval_episodes: int = 10

    def make_config(self, seed: int, changes: dict[str, Any] | None = None):
        """The algorithm's config with this preset's fields, `changes` and the seed."""
        values = {**self.config, **(changes or {}), "seed": seed}
        return ALGOS[self.algo].config().from_dict(values)

    def make_network(self, spec, changes: dict[str, Any] | None = None):
        """The network builder's model for `spec` with this preset's fields and `changes`."""
        return ALGOS[self.algo].network(spec, **{**self.network, **(changes or {})})


PENDULUM_NOVEL_TORSO: dict[str, Any] = {
    "hidden": (),
    "recurrent": "lstm",
    "units": 64,
    "hidden_after": (64,),
    "activation": "relu",
}
RL_ZOO_PENDULUM_NOVEL_CONFIG: dict[str, Any] = {
    "num_steps": 1024,
    "batch_size": 128,
    "sequence_length": 32,  # ours: chunks replayed from recorded LSTM states
    "num_epochs": 10,
    "discount": 0.9,
    "gae_lambda": 0.95,
    "learning_rate": 1e-3,
    "clip_range": 0.2,
    "normalize_observations": True,
    "normalize_advantages": True,  # SB3's
}
"""The RL Zoo's sb3-contrib ppo_lstm settings for PendulumNoVel-v1 (4 envs, 100k steps)."""
RL_ZOO_PENDULUM_NOVEL_NETWORK: dict[str, Any] = {
    **PENDULUM_NOVEL_TORSO,
    "hard_bounds": False,  # clipped samples, as sb3-contrib
    "sde": True,
    "sde_sample_freq": 4,
}
"""The RL Zoo's sb3-contrib network for PendulumNoVel-v1 (LSTM 64 then 64 ReLU, gSDE resampled
every 4 steps). With `RL_ZOO_PENDULUM_NOVEL_CONFIG`, what `benchmarks/ppo_pendulum_novel.py` puts
next to sb3-contrib at 100k steps."""
