"""`EnvSpec`: what an agent needs to know of an environment, without the environment itself.

Agents are made from an `EnvSpec` (the spaces and the number of environments), never from a live
environment, so that a learner can run in one process and its actors in others, and a saved agent
can be loaded where no environment exists. The spec is plain data: it pickles (to cross a process
boundary) and round-trips through JSON (`to_dict` / `from_dict`, stored with a saved agent).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np

from reinforceable.envs.goals import GoalReward, goal_space_problem
from reinforceable.envs.ids import registered_spec
from reinforceable.envs.specs import batch_spec, space_to_spec
from reinforceable.envs.timestep import Timestep

__all__ = ["EnvSpec", "space_differences", "space_from_dict", "space_to_dict"]


@dataclasses.dataclass(frozen=True, eq=False)
class EnvSpec:
    """The observation and action spaces of a batch of environments, their number and id.

    Args:
        observation_space: The gymnasium space of one environment's observation.
        action_space: The gymnasium space of one environment's action.
        num_envs: How many environments are stepped together.
        env_id: The registered id, when known (`"CartPole-v1"`), for messages and saved agents.
        compute_reward: A goal task's vectorised `compute_reward(achieved_goal, desired_goal,
            info)` (a picklable `GoalReward`, which `GymEnv` sets for goal-conditioned tasks),
            what hindsight replay relabels with; `None` for other tasks. It is not compared nor
            saved: `from_dict` makes it again from a registered goal task's id.

    Raises:
        TypeError: For spaces that are not gymnasium spaces, or that have no TF spec (the message
            names the part of the space, as in `space_to_spec`).
        ValueError: For a `num_envs` that is not a positive int.

    Example:
        >>> spec = EnvSpec(gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2), num_envs=8)
        >>> spec.observation_spec          # TensorSpec(shape=(3,), dtype=tf.float32)
        >>> agent = RecurrentPPOAgent(model, spec, config)
    """

    observation_space: gym.Space
    action_space: gym.Space
    num_envs: int
    env_id: str | None = None
    compute_reward: Callable | None = None

    def __post_init__(self):
        for name in ("observation_space", "action_space"):
            if not isinstance(getattr(self, name), gym.Space):
                raise TypeError(
                    f"EnvSpec: `{name}` must be a gymnasium Space; received "
                    f"{type(getattr(self, name)).__name__}."
                )
        if isinstance(self.num_envs, bool) or not isinstance(self.num_envs, int | np.integer):
            raise ValueError(
                f"EnvSpec: `num_envs` must be a positive int; received {self.num_envs!r}."
            )
        if self.num_envs <= 0:
            raise ValueError(
                f"EnvSpec: `num_envs` must be a positive int; received {self.num_envs!r}."
            )
        object.__setattr__(self, "num_envs", int(self.num_envs))
        if self.env_id is not None and not isinstance(self.env_id, str):
            raise TypeError(f"EnvSpec: `env_id` must be a str or None; received {self.env_id!r}.")
        if self.compute_reward is not None and not callable(self.compute_reward):
            raise TypeError(
                f"EnvSpec: `compute_reward` must be callable or None; received "
                f"{type(self.compute_reward).__name__}."
            )
        # The TF specs are checked (and cached) now, so that an unsupported space fails here.
        self.observation_spec  # noqa: B018
        self.action_spec  # noqa: B018

    @functools.cached_property
    def observation_spec(self):
        """The nest of `tf.TensorSpec` of one observation (no batch dimension)."""
        return space_to_spec(self.observation_space)

    @functools.cached_property
    def action_spec(self):
        """The nest of `tf.TensorSpec` of one action (no batch dimension)."""
        return space_to_spec(self.action_space)

    @property
    def timestep_spec(self) -> Timestep:
        """`Timestep` of `tf.TensorSpec`s with the batch dimension `[num_envs, ...]`."""
        import tensorflow as tf

        scalar = tf.TensorSpec([self.num_envs], tf.float32)
        flag = tf.TensorSpec([self.num_envs], tf.bool)
        return Timestep(
            observation=batch_spec(self.observation_spec, self.num_envs),
            reward=scalar,
            terminated=flag,
            truncated=flag,
            episode_start=flag,
        )

    def replace(self, **changes) -> EnvSpec:
        """A copy with some fields changed (`spec.replace(num_envs=1)`)."""
        return dataclasses.replace(self, **changes)

    def example_timestep(self, seed: int | None = 0) -> Timestep:
        """A first timestep of `[num_envs, ...]` NumPy arrays, with observations sampled from the
        observation space: for building a model before any environment exists."""
        from reinforceable.envs.specs import SpaceConverter

        batched = gym.vector.utils.batch_space(self.observation_space, self.num_envs)
        batched.seed(seed)
        observation = SpaceConverter(self.observation_space).to_arrays(batched.sample())
        import tensorflow as tf

        zeros = np.zeros(self.num_envs, np.float32)
        falses = np.zeros(self.num_envs, bool)
        return Timestep(
            observation=tf.nest.pack_sequence_as(self.observation_spec, observation),
            reward=zeros,
            terminated=falses,
            truncated=falses,
            episode_start=np.ones(self.num_envs, bool),
        )

    # ------------------------------------------------------------------------ comparison

    def differences(self, other: EnvSpec) -> list[str]:
        """How the spaces of `other` differ from these, one readable line per difference (empty
        if they are the same). `num_envs` and `env_id` are not compared: an agent trained on 8
        environments acts in 1 as well."""
        return space_differences(
            self.observation_space, other.observation_space, "observation_space"
        ) + space_differences(self.action_space, other.action_space, "action_space")

    def check_compatible(self, other: EnvSpec, owner: str, what: str = "the environment") -> None:
        """Raises a `ValueError` listing every difference between the spaces of `other` (of
        `what`) and these."""
        differences = self.differences(other)
        if differences:
            lines = "\n".join(f"  - {line}" for line in differences)
            raise ValueError(
                f"{owner}: the spaces of {what} differ from the agent's spec "
                f"(expected, then received):\n{lines}"
            )

    def __eq__(self, other) -> bool:
        if not isinstance(other, EnvSpec):
            return NotImplemented
        return (
            not self.differences(other)
            and self.num_envs == other.num_envs
            and self.env_id == other.env_id
        )

    __hash__ = None

    # ------------------------------------------------------------------------ JSON

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; `from_dict` inverts it."""
        return {
            "observation_space": space_to_dict(self.observation_space),
            "action_space": space_to_dict(self.action_space),
            "num_envs": self.num_envs,
            "env_id": self.env_id,
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EnvSpec:
        """The spec that `to_dict` described.

        Raises:
            ValueError: If `values` is not such a description (the message names the field).
        """
        if not isinstance(values, dict):
            raise ValueError(
                f"EnvSpec.from_dict: expected a dict; received {type(values).__name__}."
            )
        missing = {"observation_space", "action_space", "num_envs"} - set(values)
        if missing:
            raise ValueError(f"EnvSpec.from_dict: the fields {sorted(missing)} are missing.")
        observation_space = space_from_dict(values["observation_space"], "observation_space")
        env_id = values.get("env_id")
        return cls(
            observation_space,
            space_from_dict(values["action_space"], "action_space"),
            values["num_envs"],
            env_id,
            _goal_reward_of(env_id, observation_space),
        )

    @classmethod
    def of(cls, env_or_spec, owner: str) -> EnvSpec:
        """The spec of an `Environment` (its `.spec`), or the spec itself.

        Raises:
            TypeError: For anything else; the message names `owner`.
        """
        if isinstance(env_or_spec, EnvSpec):
            return env_or_spec
        if isinstance(env_or_spec, HasSpec):
            return env_or_spec.spec
        raise TypeError(
            f"{owner}: `env` must be a reinforceable EnvSpec or Environment (GymEnv, TFEnv); "
            f"received {type(env_or_spec).__name__}."
        )

    def __repr__(self) -> str:
        name = f"{self.env_id}, " if self.env_id else ""
        return (
            f"EnvSpec({name}num_envs={self.num_envs}, observation_space={self.observation_space}, "
            f"action_space={self.action_space})"
        )


def _goal_reward_of(env_id: str | None, observation_space: gym.Space) -> GoalReward | None:
    """A goal task's `compute_reward`, made again from its registered id (a saved agent's spec
    keeps the id, not the function), or `None`."""
    if env_id is None or goal_space_problem(observation_space) is not None:
        return None
    try:
        registered_spec(env_id, "EnvSpec.from_dict")
    except ValueError:
        return None
    return GoalReward(functools.partial(gym.make, env_id), name=env_id)


# ---------------------------------------------------------------------------- spaces as JSON


def _array_or_scalar(array: np.ndarray):
    """A uniform array as its one value, any other as nested lists (JSON allows Infinity)."""
    array = np.asarray(array)
    flat = array.reshape(-1)
    if flat.size and np.all(flat == flat[0]):
        return flat[0].item()
    return array.tolist()


def space_to_dict(space: gym.Space) -> dict[str, Any]:
    """A JSON-serialisable description of a Box, Discrete, MultiDiscrete, MultiBinary, Tuple or
    Dict space (nested); `space_from_dict` inverts it."""
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": np.dtype(space.dtype).name,
            "low": _array_or_scalar(space.low),
            "high": _array_or_scalar(space.high),
        }
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, gym.spaces.MultiDiscrete):
        return {
            "type": "MultiDiscrete",
            "nvec": np.asarray(space.nvec).tolist(),
            "start": np.asarray(space.start).tolist(),
        }
    if isinstance(space, gym.spaces.MultiBinary):
        return {"type": "MultiBinary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, gym.spaces.Tuple):
        return {"type": "Tuple", "spaces": [space_to_dict(s) for s in space.spaces]}
    if isinstance(space, gym.spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_to_dict(s) for k, s in space.spaces.items()}}
    raise TypeError(f"space_to_dict: unsupported gymnasium space {type(space).__name__}.")


def space_from_dict(values: dict[str, Any], path: str = "space") -> gym.Space:
    """The space that `space_to_dict` described.

    Raises:
        ValueError: For a description that names no supported space, or lacks a field (the
            message gives the path inside the description).
    """
    try:
        kind = values["type"]
        if kind == "Box":
            dtype = np.dtype(values["dtype"])
            shape = tuple(values["shape"])
            low = _bound(values, "low", dtype, shape, path)
            high = _bound(values, "high", dtype, shape, path)
            try:
                return gym.spaces.Box(low, high, shape, dtype)
            except (ValueError, AssertionError) as error:
                raise ValueError(f"space_from_dict: {path} is not a valid Box: {error}") from None
        if kind == "Discrete":
            return gym.spaces.Discrete(values["n"], start=values.get("start", 0))
        if kind == "MultiDiscrete":
            return gym.spaces.MultiDiscrete(values["nvec"], start=values.get("start"))
        if kind == "MultiBinary":
            return gym.spaces.MultiBinary(values["n"])
        if kind == "Tuple":
            return gym.spaces.Tuple(
                [space_from_dict(s, f"{path}[{i}]") for i, s in enumerate(values["spaces"])]
            )
        if kind == "Dict":
            return gym.spaces.Dict(
                {k: space_from_dict(s, f"{path}[{k!r}]") for k, s in values["spaces"].items()}
            )
    except (KeyError, TypeError) as error:
        raise ValueError(
            f"space_from_dict: {path} is not a valid space description ({error!r})."
        ) from None
    raise ValueError(f"space_from_dict: {path} has an unknown space type {kind!r}.")


def _bound(values: dict[str, Any], key: str, dtype: np.dtype, shape: tuple, path: str):
    """A Box bound as an array of `shape`: a number, or nested lists of numbers of that shape
    (JSON's Infinity and NaN are numbers).

    Raises:
        ValueError: Naming `path[key]`, for a value that is not numbers or does not fit `shape`.
    """
    value = values[key]
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise ValueError(f"an array of dtype {array.dtype}")
        return np.broadcast_to(array.astype(dtype), shape)
    except (ValueError, TypeError) as error:
        raise ValueError(
            f"space_from_dict: {path}[{key!r}] must be a number or nested lists of numbers of "
            f"shape {list(shape)}; received {value!r} ({error})."
        ) from None


def space_differences(expected: gym.Space, received: gym.Space, path: str) -> list[str]:
    """Readable differences between two spaces, one line each, with the path inside the nest."""
    if type(expected) is not type(received):
        return [f"{path}: {expected} != {received}"]
    if isinstance(expected, gym.spaces.Dict):
        lines = []
        keys_e, keys_r = set(expected.spaces), set(received.spaces)
        if keys_e != keys_r:
            lines.append(f"{path}: keys {sorted(keys_e)} != {sorted(keys_r)}")
        for key in sorted(keys_e & keys_r):
            lines += space_differences(
                expected.spaces[key], received.spaces[key], f"{path}[{key!r}]"
            )
        return lines
    if isinstance(expected, gym.spaces.Tuple):
        if len(expected.spaces) != len(received.spaces):
            return [f"{path}: {len(expected.spaces)} parts != {len(received.spaces)} parts"]
        lines = []
        for i, (e, r) in enumerate(zip(expected.spaces, received.spaces, strict=True)):
            lines += space_differences(e, r, f"{path}[{i}]")
        return lines
    if isinstance(expected, gym.spaces.Box):
        if expected.shape != received.shape:
            return [f"{path}: Box shape {expected.shape} != {received.shape}"]
        lines = []
        e_dtype, r_dtype = np.dtype(expected.dtype), np.dtype(received.dtype)
        both_floating = np.issubdtype(e_dtype, np.floating) and np.issubdtype(r_dtype, np.floating)
        if e_dtype != r_dtype and not both_floating:  # floating boxes are all float32 in TF
            lines.append(f"{path}: Box dtype {expected.dtype} != {received.dtype}")
        for bound in ("low", "high"):
            e, r = getattr(expected, bound), getattr(received, bound)
            if not np.array_equal(e, r, equal_nan=True):
                lines.append(f"{path}: Box {bound} {_array_or_scalar(e)} != {_array_or_scalar(r)}")
        return lines
    if expected != received:
        return [f"{path}: {expected} != {received}"]
    return []


class HasSpec(abc.ABC):
    """Something that has an `EnvSpec` (`Environment`, in `envs/base.py`, is one): what
    `EnvSpec.of` accepts besides a spec, declared here so that this module imports no
    environment."""

    @property
    @abc.abstractmethod
    def spec(self) -> EnvSpec:
        """The spaces and the number of environments."""
