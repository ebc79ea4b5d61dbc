"""Where else the Trainer can collect: `Collectors` (runners in other processes,
`reinforceable.distributed`), and the `CollectorLoop` they give the Trainer.

They are declared here, below the runners, so that the Trainer needs no runner module: the
runners import the Trainer's declarations, never the other way round (`Trainable`, in
`trainer.py`, does the same for the agents).
"""

from __future__ import annotations

import abc
from typing import Any

__all__ = ["CollectorLoop", "Collectors"]


class CollectorLoop(abc.ABC):
    """One training run's collection through `Collectors`, driven by the Trainer."""

    @abc.abstractmethod
    def start(self) -> None:
        """Starts collecting (after a resume, so that the collectors act with the restored
        state)."""

    @abc.abstractmethod
    def iteration(self) -> tuple[dict[str, float], dict[str, Any], float]:
        """Collects and updates the agent once; returns (the agent's metrics, the Trainer's
        charts, including `charts/episode_return` and `charts/episode_length`, and the seconds
        spent waiting for experience)."""

    @abc.abstractmethod
    def before_checkpoint(self) -> None:
        """Brings into the agent what a checkpoint must hold (a shared replay's contents)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stops collecting and frees what `start` began."""


class Collectors(abc.ABC):
    """Collect an agent's experience elsewhere than in the Trainer's own Driver (the
    `Runners` of `reinforceable.distributed`)."""

    @abc.abstractmethod
    def loop(self, agent, seed: int | None, broadcast_every: int, replay) -> CollectorLoop:
        """The loop that collects for `agent` and trains it, one Trainer iteration at a time.

        Raises:
            ValueError: If the agent cannot be trained this way (see the subclass).
        """
