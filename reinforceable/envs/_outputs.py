"""Checks of what one gymnasium environment returns from `reset` and `step`, against its spaces.

`mismatch(space, value)` describes the first way in which `value` cannot be an element of
`space` for batching (wrong structure, shape or a dtype that cannot be cast), or returns `None`.
It is deliberately looser than `space.contains`: values out of bounds, and a float64 observation
of a float32 Box, batch without harm and are accepted, as gymnasium's vector envs accept them.

`step_mismatch` and `reset_mismatch` check a whole `step`/`reset` return (tuple arity, reward,
flags). They run on the first reset and the first step of every sub-environment, on every step
inside asynchronous workers, and after a failed batch assembly to find the culprit, never on the
hot path of a synchronous vector env.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["mismatch", "reset_mismatch", "step_mismatch"]

_NUMERIC = "biuf"


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    if isinstance(value, Mapping):
        return f"a {type(value).__name__} with keys {sorted(map(str, value))}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 40 else text[:37] + '...'}"


def _array(value: Any) -> np.ndarray | None:
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # ragged nests
        return None
    return array if array.dtype.kind in _NUMERIC else None


def _leaf(space: gym.Space, value: Any, name: str) -> str | None:
    array = _array(value)
    expected = f"shape {space.shape} and dtype {space.dtype}"
    if array is None:
        return f"{name}: expected {expected}, received {_describe(value)}"
    if array.shape != space.shape:
        return f"{name}: expected {expected}, received shape {array.shape} ({array.dtype})"
    if not np.can_cast(array.dtype, space.dtype, casting="same_kind"):
        return f"{name}: expected {expected}, received dtype {array.dtype}"
    return None


def mismatch(space: gym.Space, value: Any, name: str = "observation") -> str | None:
    """How `value` fails to fit `space`, naming the field (`observation['pos'][1]`), or `None`."""
    if isinstance(space, gym.spaces.Tuple):
        if not isinstance(value, (tuple, list)) or len(value) != len(space.spaces):
            return f"{name}: expected a tuple of {len(space.spaces)}, received {_describe(value)}"
        for index, (sub_space, sub_value) in enumerate(zip(space.spaces, value, strict=True)):
            if problem := mismatch(sub_space, sub_value, f"{name}[{index}]"):
                return problem
        return None
    if isinstance(space, gym.spaces.Dict):
        keys = list(space.spaces)
        if not isinstance(value, Mapping) or set(value) != set(keys):
            return f"{name}: expected a dict with keys {sorted(keys)}, received {_describe(value)}"
        for key in keys:
            if problem := mismatch(space.spaces[key], value[key], f"{name}[{key!r}]"):
                return problem
        return None
    if isinstance(space, (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiDiscrete,
                          gym.spaces.MultiBinary)):  # fmt: skip
        return _leaf(space, value, name)
    return None  # spaces without a TF spec are refused when the GymEnv is made


def _scalar(value: Any, name: str, kinds: str, wanted: str) -> str | None:
    array = _array(value)
    if array is None or array.size != 1 or array.dtype.kind not in kinds:
        return f"{name}: expected {wanted}, received {_describe(value)}"
    return None


def reset_mismatch(space: gym.Space, result: Any) -> str | None:
    """How a `reset()` return fails to be `(observation, info)` with an observation of `space`."""
    if not isinstance(result, tuple) or len(result) != 2:
        return f"reset(): expected a tuple (observation, info), received {_describe(result)}"
    observation, info = result
    return _info(info) or mismatch(space, observation)


def step_mismatch(space: gym.Space, result: Any) -> str | None:
    """How a `step()` return fails to be `(observation, reward, terminated, truncated, info)`."""
    if not isinstance(result, tuple) or len(result) != 5:
        return (
            "step(): expected a tuple (observation, reward, terminated, truncated, info), "
            f"received {_describe(result)}"
        )
    observation, reward, terminated, truncated, info = result
    return (
        mismatch(space, observation)
        or _scalar(reward, "reward", "biuf", "a real number")
        or _scalar(terminated, "terminated", "biu", "a bool")
        or _scalar(truncated, "truncated", "biu", "a bool")
        or _info(info)
    )


def _info(info: Any) -> str | None:
    return None if isinstance(info, dict) else f"info: expected a dict, received {_describe(info)}"
