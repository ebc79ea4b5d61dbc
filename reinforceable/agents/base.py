"""`Agent`: the one contract that every agent follows, and `Collection`, what it asks to collect."""

from __future__ import annotations

import abc
import dataclasses
from typing import Any

import keras
import tensorflow as tf

from reinforceable._checks import config_or_default
from reinforceable.agents.actor import (
    ActingState,
    Actor,
    ActorBlueprint,
    model_json,
    object_path,
    read_acting_state,
)
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.training.trainer import Trainable

__all__ = ["Agent", "Collection"]


@dataclasses.dataclass(frozen=True)
class Collection:
    """What one training iteration of an agent collects from its environments.

    The Trainer (or a runner in another process) runs the agent's actor in a Driver as this says
    and hands the trajectory to the learner: the agent itself never drives an environment.
    """

    steps_per_env: int | None = None
    """Vector steps per iteration (`T`); the trajectory is `[T, num_envs, ...]`."""
    episodes_per_env: int | None = None
    """Or: run until every environment has finished this many episodes (ARS)."""
    fresh_episodes: bool = False
    """Reset the environments (and the policy state) before collecting."""
    sequence_length: int | None = None
    """Record the policy state before every this-many rows (`Trajectory.sequence_states`)."""
    splits_columns: bool = False
    """Each environment column acts differently (ARS's perturbations): runners then share out
    the spec's `num_envs` columns, runner `i` taking columns `i * k` to `(i + 1) * k - 1`, and
    tell their actor so with `actor.assign_columns(first, count)`, which it must then have."""

    def run(self, driver) -> Trajectory:
        """Collects one iteration's trajectory with `driver`."""
        if self.fresh_episodes:
            driver.reset()
        steps = None if self.steps_per_env is None else self.steps_per_env * driver.num_envs
        return driver.run(steps=steps, episodes_per_env=self.episodes_per_env)


def as_trajectory(trajectory, owner: str) -> Trajectory:
    """A `Trajectory` of tensors from one of tensors or NumPy arrays (one that crossed a process
    boundary), or a TypeError naming `owner`."""
    if not isinstance(trajectory, Trajectory):
        raise TypeError(
            f"{owner}: `trajectory` must be a reinforceable Trajectory (from Driver.run); "
            f"received {type(trajectory).__name__}."
        )
    return tf.nest.map_structure(tf.convert_to_tensor, trajectory)


class Agent(Trainable, abc.ABC):
    """The contract between an agent, its actors, the `Trainer`, and the disk.

    An agent is made from an `EnvSpec` (or an `Environment`, whose spec it takes and which it
    keeps as the default environment of `fit`), never from the environment's internals. It has
    two sides that share nothing but arrays:

    * **Actor** (`agent.actor`, or `agent.blueprint().build()` in another process): the
      policies that act (`policy`, which samples, and `eval_policy`), made from the agent's
      `acting_state()`, a flat dict of NumPy arrays with everything an actor needs: the weights
      it acts with, normaliser statistics, warm-up flags, and a `version` (the learner's
      iteration count when the state was read). No acting policy reads a learner's variable:
      the agent's own actor gets a fresh acting state after every `update`, and a remote actor
      given the same state and seeds acts bit-identically. The actor also keeps what belongs
      to one stream of experience (`Actor.process`), so that trajectories from several actors
      can be mixed.
    * **Learner**: `observe(trajectory)` stores experience (SAC: n-step returns into the
      replay buffer; PPO and ARS: the rollout), `update()` makes the gradient steps and returns
      metrics (Python floats with namespaced keys, `losses/...`, `charts/...`), and
      `train(trajectory)` is `observe` then `update`. Trajectories may be NumPy.

    What the Trainer uses, and nothing else (`Trainable`, whose `fit` every agent inherits):
    `collection` (what to collect per iteration, or `None` for an agent that learns from a model
    without environment data), `actor`, `train`, the counters `env_steps` and `iterations` (TF
    variables), `set_budget(total_steps)` (the budget of `fit`, for schedules that decay over
    it) and `checkpoint_items()` (every TF object a resumed run needs). `save(path)` and
    `Agent.load(path, env=None)` are one implementation for every agent: the config, the spec,
    the Keras models and the learner state; `load` needs no environment, and checks one that is
    given against the stored spec. `predict` acts on NumPy observations, as SB3 users expect,
    and `fit` trains with the Trainer.

    Subclasses call `Agent.__init__(env_or_spec, config)` first (it sets `spec`, `env`,
    `config`, `num_envs`, `env_steps` and `iterations`), implement the abstract methods, and
    build their actor with `_build_actor()` once their acting variables exist.
    """

    config_class: type
    """The config dataclass (with `to_dict` / `from_dict`)."""
    actor_class: type[Actor]
    """The `Actor` subclass that acts for this agent."""
    off_policy: bool = False
    """Learns from experience of older acting states (a replay): runners then sample without
    waiting for updates (`reinforceable.distributed`)."""
    spec: EnvSpec
    config: Any
    env: Environment | None
    env_steps: tf.Variable
    iterations: tf.Variable
    actor: Actor

    def __init__(self, env_or_spec: EnvSpec | Environment, config=None):
        """Sets what every agent has: `spec` (and `env`, the default environment of `fit`, when
        an `Environment` is given), `config` (`config_class()` for `None`), `num_envs`, and the
        counters `env_steps` and `iterations` (int64 TF variables, checkpointed).

        Raises:
            TypeError: For an `env_or_spec` that is neither an `EnvSpec` nor an `Environment`,
                or a `config` that is not a `config_class`; the message names the agent.
        """
        owner = type(self).__name__
        self.spec = EnvSpec.of(env_or_spec, owner)
        self.env = env_or_spec if isinstance(env_or_spec, Environment) else None
        self.config = config_or_default(owner, config, self.config_class)
        self.num_envs = self.spec.num_envs
        self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="env_steps")
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")

    # ------------------------------------------------------------------------ collecting

    @property
    @abc.abstractmethod
    def collection(self) -> Collection | None:
        """What to collect per iteration; `None` for an agent that needs no environment data."""

    @property
    def rollout_steps(self) -> int | None:
        """Env steps per iteration over the spec's environments (`None` where not fixed)."""
        collection = self.collection
        if collection is None or collection.steps_per_env is None:
            return None
        return collection.steps_per_env * self.spec.num_envs

    # ------------------------------------------------------------------------ acting

    @abc.abstractmethod
    def acting_variables(self) -> dict[str, tf.Variable]:
        """The learner's variables that make its acting state, keyed as its actor keys its own
        (see `acting_variables` in `reinforceable.agents.actor`)."""

    def acting_state(self) -> ActingState:
        """Everything an actor needs, as a flat dict of NumPy arrays, with the agent type and
        the version (`iterations`)."""
        return read_acting_state(
            type(self).__name__, self.iterations.numpy(), self.acting_variables()
        )

    def actor_models(self) -> dict[str, keras.Model]:
        """The Keras models the actor acts with (their architectures go in the blueprint)."""
        return {}

    def actor_objects(self) -> dict[str, Any]:
        """Other picklable objects the actor needs (a `Model` for model-based agents)."""
        return {}

    def blueprint(self) -> ActorBlueprint:
        """Plain, picklable data from which any process builds this agent's actor."""
        owner = type(self).__name__
        return ActorBlueprint(
            actor=object_path(self.actor_class),
            agent=owner,
            spec=self.spec,
            config=self.config.to_dict(),
            config_class=object_path(self.config),
            models={name: model_json(m, owner, name) for name, m in self.actor_models().items()},
            objects=self.actor_objects(),
        )

    def _build_actor(self) -> None:
        """Builds the agent's own actor from its blueprint, as a remote process would."""
        self.actor = self.blueprint().build()
        self.actor.update(self.acting_state())

    @property
    def policy(self):
        """The actor's sampling policy (what the Driver runs to collect)."""
        return self.actor.policy

    @property
    def eval_policy(self):
        """The actor's deterministic policy."""
        return self.actor.eval_policy

    # ------------------------------------------------------------------------ learning

    def observe(self, trajectory) -> None:
        """Stores a trajectory (of tensors or NumPy arrays) for the next `update`."""
        self._observe(as_trajectory(trajectory, f"{type(self).__name__}.observe"))

    def update(self) -> dict[str, float]:
        """Learns from what was observed; returns the metrics. The agent's own actor then takes
        the new acting state."""
        metrics = self._update()
        self.actor.update(self.acting_state())
        return metrics

    def train(self, trajectory=None) -> dict[str, float]:
        """`observe(trajectory)` (when one is given), then `update()`."""
        if trajectory is not None:
            self.observe(trajectory)
        return self.update()

    @abc.abstractmethod
    def _observe(self, trajectory: Trajectory) -> None: ...

    @abc.abstractmethod
    def _update(self) -> dict[str, float]: ...

    @abc.abstractmethod
    def checkpoint_items(self) -> dict[str, Any]:
        """Every TF object that a resumed run needs, for a `tf.train.Checkpoint`."""

    # ------------------------------------------------------------------------ persistence

    def saved_models(self) -> dict[str, keras.Model]:
        """The Keras models `save` writes as `<name>.keras` (`actor_models()`, by default)."""
        return self.actor_models()

    def saved_state(self) -> dict[str, Any]:
        """The TF objects `save` writes (`checkpoint_items()`, by default)."""
        return self.checkpoint_items()

    def saved_arguments(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments that `save` keeps (besides the config)."""
        return {}

    @classmethod
    def _from_saved(cls, env_or_spec, config, models, arguments, objects) -> Agent:
        """The agent that `save` described (weights are restored afterwards)."""
        raise NotImplementedError

    def save(self, path, files: dict[str, str] | None = None):
        """Saves the agent in the directory `path`: `agent.json` (type, config, spec), its Keras
        models (`<name>.keras`), its learner state (`state`), and the text `files` given
        (`{name: content}`, such as a score beside the best agent), all replaced at once. Returns
        the path."""
        from reinforceable.agents._saving import save_agent

        return save_agent(self, path, files)

    @classmethod
    def load(cls, path, env: Environment | None = None, **objects) -> Agent:
        """Loads an agent that `save` wrote. It needs no environment; an `env` given is checked
        against the stored spec and becomes the default environment of `fit`. Model-based
        agents take the `Model` they learn from as `model=`.

        Raises:
            FileNotFoundError: If `path` holds no saved agent.
            ValueError: If a file is unreadable (the message names it and says why), the saved
                agent is of another type than `cls`, or `env`'s spaces differ from the stored
                spec (the message lists the differences).
        """
        from reinforceable.agents._saving import load_agent

        return load_agent(cls, path, env, objects)

    # ------------------------------------------------------------------------ using

    def predict(self, observation, state=None, episode_start=None, deterministic: bool = True):
        """The action for one observation or a batch, as SB3's `predict`: `(action, state)`.

        Args:
            observation: One observation (the observation space's shape, NumPy or lists) or a
                batch of them (a leading batch axis), in the environment's own format.
            state: The recurrent state that the last call returned (`None`: a new episode).
            episode_start: bool, one per observation: True where an episode starts (the state
                is reset there). `None`: False.
            deterministic: Act with the mode (`eval_policy`) instead of a sample (`policy`).

        Returns:
            The action in the environment's format (NumPy, clipped to a Box action space), one
            or a batch like `observation`, and the next state (a nest of NumPy arrays).

        Raises:
            ValueError: For an observation whose structure or shape fits the observation space
                neither as one observation nor as a batch (expected and received shapes).
        """
        from reinforceable.agents._predict import predict

        return predict(self, observation, state, episode_start, deterministic)
