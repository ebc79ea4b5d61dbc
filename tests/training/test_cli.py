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


@dataclasses.dataclass(frozen=True)
class _Budget:
    total_steps: int | None = None  # None: a default chosen elsewhere

    def __post_init__(self):
        if self.total_steps is not None and self.total_steps < 1:
            raise ValueError(f"--total-steps must be at least 1; received {self.total_steps}")


def test_an_optional_field_takes_its_type_and_zero_is_not_the_default(capsys):
    assert parse_args(_Budget, argv=[]).total_steps is None
    assert parse_args(_Budget, argv=["--total-steps", "7"]).total_steps == 7
    with pytest.raises(SystemExit):
        parse_args(_Budget, argv=["--total-steps", "0"])
    assert "received 0" in capsys.readouterr().err


def test_the_memory_example_refuses_zero_steps(capsys):
    from tests.examples.test_examples import load_example

    example = load_example("memory_mixed_action")
    assert parse_args(example.Args, argv=["--algo", "sac"]).total_steps is None
    with pytest.raises(SystemExit):
        parse_args(example.Args, argv=["--total-steps", "0"])
    assert "at least 1" in capsys.readouterr().err
