"""`ReplaySpec`: what an agent stores in a replay that lives outside it (a shared replay)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["ReplaySpec"]


@dataclasses.dataclass(frozen=True)
class ReplaySpec:
    """What an agent stores, from `agent.replay_spec()`: plain, picklable data."""

    item_spec: Any
    """A nest of unbatched `tf.TensorSpec`: one stored item (an n-step transition for SAC)."""
    capacity: int
    """Items kept (the oldest are overwritten)."""
    transform: Callable[[Any], Any]
    """`transform(trajectory) -> items [N, ...]`, picklable, run where the replay is."""
