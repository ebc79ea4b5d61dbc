"""parse_args: flags from an example's dataclass, bools and tuples included."""

import dataclasses

import pytest

from reinforceable.training import parse_args


@dataclasses.dataclass(frozen=True)
class _Args:
    steps: int = 10
    rate: float = 0.5
    fast: bool = False
    names: tuple[str, ...] = ("a", "b")

    def __post_init__(self):
        if self.steps <= 0:
            raise ValueError("--steps must be positive")


def test_flags_take_the_types_of_the_defaults():
    args = parse_args(_Args, argv=["--steps", "3", "--rate", "0.25", "--fast", "true",
                                   "--names", "x", "y", "z"])  # fmt: skip
    assert args == _Args(3, 0.25, True, ("x", "y", "z"))
    assert parse_args(_Args, argv=[]) == _Args()


def test_bad_values_exit_with_the_dataclass_message(capsys):
    with pytest.raises(SystemExit):
        parse_args(_Args, argv=["--steps", "0"])
    assert "--steps must be positive" in capsys.readouterr().err
