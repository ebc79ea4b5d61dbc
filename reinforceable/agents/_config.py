"""`Config`: the JSON round trip that the agents' frozen config dataclasses share."""

from __future__ import annotations

import dataclasses
from typing import Any

from reinforceable._checks import check_known_names

__all__ = ["Config", "check_known_fields"]


class Config:
    """`to_dict` and `from_dict` (which refuses unknown fields by name) for the frozen config
    dataclasses whose fields are plain JSON values."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; `from_dict` inverts it."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        check_known_fields(cls, values)
        return cls(**values)


def check_known_fields(cls, values: dict[str, Any]) -> None:
    check_known_names(cls.__name__, values, {field.name for field in dataclasses.fields(cls)})
