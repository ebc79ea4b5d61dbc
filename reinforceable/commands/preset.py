"""`Preset`: one task's tuned settings (algorithm, environment, budget, config, network) with
the figure they reach and the command that measured it; `presets` holds the table."""

from __future__ import annotations

import dataclasses
from typing import Any

from reinforceable.commands.algorithms import ALGOS

__all__ = ["Preset"]


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
