"""The acting side of an agent: `Actor`, built in any process from an `ActorBlueprint` and kept
up to date with the learner's acting state, a flat dict of NumPy arrays."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from reinforceable.driver.policy import Policy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.env_spec import EnvSpec

__all__ = [
    "ActingState",
    "Actor",
    "ActorBlueprint",
    "acting_variables",
    "import_object",
    "object_path",
]

ActingState = dict[str, np.ndarray]
"""`{"agent": str array, "version": int64 array, "<part>/<variable>": array, ...}`."""


def object_path(obj) -> str:
    """`"module:QualName"` of a class, to import it in another process."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def import_object(path: str):
    """The object that `object_path` named."""
    module, _, name = path.partition(":")
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def acting_variables(**parts) -> dict[str, tf.Variable]:
    """The variables an actor needs, keyed by readable, stable paths.

    Each part is a `keras.Model` (its weights by position and name, `"policy/0:kernel"`),
    a `tf.Module` (its variables in its own deterministic order, `"normalizer/0:mean"`), a
    `tf.Variable`, or a dict of those. The learner and its actors call this on objects built the
    same way, so the keys match on both sides.
    """
    variables = {}

    def add(prefix: str, value) -> None:
        if isinstance(value, keras.Model):
            # Keras paths may or may not start with the model's name (a Sequential model built
            # lazily, or rebuilt from its config): the position and the short name are stable.
            for i, weight in enumerate(value.weights):
                variables[f"{prefix}/{i}:{weight.name}"] = weight
        elif isinstance(value, tf.Variable):
            variables[prefix] = value
        elif isinstance(value, tf.Module):
            for i, variable in enumerate(value.variables):
                variables[f"{prefix}/{i}:{variable.name.split(':')[0]}"] = variable
        elif isinstance(value, dict):
            for key, item in value.items():
                add(f"{prefix}/{key}", item)
        elif value is not None:
            raise TypeError(f"acting_variables: cannot take variables from {type(value).__name__}.")

    for name, part in parts.items():
        add(name, part)
    return variables


def read_acting_state(agent: str, version, variables: dict[str, tf.Variable]) -> ActingState:
    """The acting state of `variables` as NumPy arrays, tagged with the agent type and version."""
    state = {"agent": np.array(agent), "version": np.array(int(version), np.int64)}
    state.update({key: variable.numpy() for key, variable in variables.items()})
    return state


@dataclasses.dataclass(frozen=True)
class ActorBlueprint:
    """Everything needed to build an agent's actor in another process, as plain data.

    It holds no weights and no model objects: the models are Keras JSON configurations, and the
    weights arrive with `Actor.update(acting_state)`. It pickles (to cross a process boundary).
    """

    actor: str
    """`"module:QualName"` of the `Actor` subclass."""
    agent: str
    """The agent type (`"RecurrentPPOAgent"`), which an acting state must name."""
    spec: EnvSpec
    config: dict
    """The agent's config, `config.to_dict()`."""
    config_class: str
    """`"module:QualName"` of the config class."""
    models: dict[str, str] = dataclasses.field(default_factory=dict)
    """The Keras models the actor acts with, as JSON configurations (`model.to_json()`)."""
    objects: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Other picklable objects the actor needs (a `Model` for model-based agents)."""

    def config_object(self):
        return import_object(self.config_class).from_dict(dict(self.config))

    def model(self, name: str) -> keras.Model:
        """A fresh Keras model from its configuration (weights to be set by the acting state)."""
        return keras.models.model_from_json(self.models[name])

    def build(self) -> Actor:
        """The actor, with fresh weights: call `update(acting_state)` before acting."""
        return import_object(self.actor).from_blueprint(self)


def model_json(model: keras.Model, owner: str, name: str) -> str:
    """`model.to_json()`, or a ValueError saying what to do for a model Keras cannot describe."""
    try:
        return model.to_json()
    except Exception as error:
        raise ValueError(
            f"{owner}: the {name} model cannot be described for an actor ({type(error).__name__}: "
            f"{error}). Build it from Keras layers (functional or Sequential), or give a "
            "subclassed model a `get_config`."
        ) from error


class Actor:
    """The acting side of an agent: its policies, the variables they read, and the state of one
    stream of experience.

    An actor is built from an `ActorBlueprint` (`agent.blueprint().build()`, in any process) and
    acts with nothing but its own variables, which `update(acting_state)` overwrites with the
    learner's. So an actor in another process, given the same acting state and seeds, acts
    bit-identically to the learner's own (`agent.actor`). `process(trajectory)` adds what needs
    state kept per stream of experience (the running discounted returns of reward scaling), so
    that trajectories of several actors can be mixed by one learner.

    Subclasses build their policies in `__init__` and call `Actor.__init__` with the agent type
    and their variables (`acting_variables(...)`, keyed as the learner keys its own).

    Attributes:
        policy: The `Policy` that collects experience (it samples).
        eval_policy: The deterministic `Policy`, for evaluation.
    """

    policy: Policy
    eval_policy: Policy

    def __init__(self, agent: str, variables: dict[str, tf.Variable]):
        self.agent = agent
        self.variables = variables
        self.version = tf.Variable(0, dtype=tf.int64, trainable=False, name="acting_version")
        for policy in (self.policy, self.eval_policy):
            policy.versioned_by(self.version)

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> Actor:
        raise NotImplementedError

    def acting_state(self) -> ActingState:
        """The actor's current acting state (what the last `update` gave it)."""
        return read_acting_state(self.agent, self.version.numpy(), self.variables)

    def update(self, acting_state: ActingState) -> None:
        """Takes a new acting state from the learner (`agent.acting_state()`).

        Raises:
            ValueError: If the state comes from another agent type, lacks or adds a path, or
                holds an array of another shape or dtype than the actor's variable at that path.
        """
        self.check_acting_state(acting_state)
        for key, variable in self.variables.items():
            variable.assign(acting_state[key])
        self.version.assign(int(acting_state["version"]))

    def check_acting_state(self, acting_state) -> None:
        owner = f"{type(self).__name__}.update"
        if not isinstance(acting_state, dict):
            raise ValueError(
                f"{owner}: the acting state must be a dict of NumPy arrays (agent.acting_state());"
                f" received {type(acting_state).__name__}."
            )
        agent = acting_state.get("agent")
        if agent is None or str(np.asarray(agent)) != self.agent:
            raise ValueError(
                f"{owner}: the acting state at ['agent'] must be {self.agent!r}; received "
                f"{None if agent is None else str(np.asarray(agent))!r} (an acting state of "
                "another agent type)."
            )
        expected = set(self.variables) | {"agent", "version"}
        missing, extra = sorted(expected - set(acting_state)), sorted(set(acting_state) - expected)
        if missing or extra:
            raise ValueError(
                f"{owner}: the acting state does not have this actor's structure: missing paths "
                f"{missing}, unexpected paths {extra}."
            )
        version = np.asarray(acting_state["version"])
        if version.shape != () or not np.issubdtype(version.dtype, np.integer):
            raise ValueError(
                f"{owner}: the acting state at ['version'] must be an integer scalar; received "
                f"{version.dtype}{list(version.shape)}."
            )
        for key, variable in self.variables.items():
            value = np.asarray(acting_state[key])
            want = tf.as_dtype(variable.dtype).as_numpy_dtype
            if value.shape != tuple(variable.shape) or value.dtype != want:
                raise ValueError(
                    f"{owner}: the acting state at [{key!r}] must be {np.dtype(want).name}"
                    f"{list(variable.shape)}; received {value.dtype.name}{list(value.shape)}."
                )

    def process(self, trajectory: Trajectory) -> Trajectory:
        """Adds what the learner needs that only this stream of experience knows (identity by
        default); call it on every trajectory of this actor's Driver, in order."""
        return trajectory

    def checkpoint_items(self) -> dict[str, Any]:
        """The state of this stream of experience, for a checkpoint (empty by default)."""
        return {}
