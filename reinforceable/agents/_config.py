"""`Config`: the JSON round trip that the agents' frozen config dataclasses share, and the check
of a field that takes a constant or a `LinearSchedule`."""

from __future__ import annotations

import dataclasses
from typing import Any

from reinforceable._checks import check_known_names, check_number
from reinforceable.ops.schedules import LinearSchedule

__all__ = ["Config", "check_known_fields", "check_schedule"]


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
