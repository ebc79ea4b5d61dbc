"""`Config`: the JSON round trip that the agents' frozen config dataclasses share, and the check
of a field that takes a constant or a `LinearSchedule`."""

from __future__ import annotations

import dataclasses
from typing import Any

from reinforceable._checks import check_known_names, check_nonnegative_int, check_number
from reinforceable.ops.schedules import LinearSchedule
from reinforceable.replay.hindsight import STRATEGIES as HINDSIGHT_STRATEGIES

__all__ = ["Config", "check_hindsight", "check_known_fields", "check_schedule"]


class Config:
    """`to_dict` and `from_dict` (which refuses unknown fields by name) for the frozen config
    dataclasses whose fields are plain JSON values or `LinearSchedule`s, which JSON holds as
    `{"linear": {"start": ..., "end": ...}}` (the form presets and `--config` use)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; `from_dict` inverts it."""
        out = dataclasses.asdict(self)
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, LinearSchedule):
                out[field.name] = {"linear": dataclasses.asdict(value)}
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        check_known_fields(cls, values)
        return cls(**{key: _schedule_from_json(value) for key, value in values.items()})


def _schedule_from_json(value):
    if isinstance(value, dict) and set(value) == {"linear"}:
        return LinearSchedule(**value["linear"])
    return value


def check_known_fields(cls, values: dict[str, Any]) -> None:
    check_known_names(cls.__name__, values, {field.name for field in dataclasses.fields(cls)})


def check_schedule(owner: str, name: str, value) -> None:
    """A positive number, or a `LinearSchedule` from a positive start to an end >= 0; else a
    `ValueError` naming `owner.name`."""
    if isinstance(value, LinearSchedule):
        check_number(owner, f"{name}.start", value.start, low=0.0)
        check_number(owner, f"{name}.end", value.end, low=0.0, low_open=False)
    else:
        check_number(owner, name, value, low=0.0)


def check_hindsight(owner: str, config) -> None:
    """The hindsight replay fields of an off-policy config (`hindsight`, `n_sampled_goal`), and
    what they need of the others: one-step returns (each relabelled step's reward is recomputed)
    and no XLA (the task's `compute_reward` runs in Python). Raises a `ValueError` naming the
    field."""
    check_nonnegative_int(owner, "n_sampled_goal", config.n_sampled_goal)
    if config.hindsight is None:
        return
    if config.hindsight not in HINDSIGHT_STRATEGIES:
        raise ValueError(
            f"{owner}: `hindsight` must be None or one of {HINDSIGHT_STRATEGIES}; received "
            f"{config.hindsight!r}."
        )
    if config.n_step != 1:
        raise ValueError(
            f"{owner}: hindsight replay recomputes each step's reward for its new goal, so it "
            f"needs `n_step` = 1; received n_step={config.n_step}."
        )
    if config.jit_compile:
        raise ValueError(
            f"{owner}: hindsight replay calls the task's `compute_reward` in Python, which XLA "
            "cannot compile; set `jit_compile` to False."
        )
