"""`Environment`: the protocol the Driver runs, implemented by `GymEnv` and `TFEnv`."""

from __future__ import annotations

import abc

from reinforceable.envs.env_spec import EnvSpec, HasSpec
from reinforceable.envs.timestep import Timestep

__all__ = ["Environment"]


class Environment(HasSpec):
    """A batch of `num_envs` environments stepped together, as the `Driver` sees it.

    An implementation provides its `spec` (spaces and number of environments), an eager `reset`
    and a graph-mode `tf_step`; everything else has a default. The semantics are gymnasium's
    next-step auto-reset (see `Timestep`): when an environment's episode ends, the step that ends
    it carries the final observation with `terminated` or `truncated` set, and the next step
    ignores its action and returns the first observation of a new episode with `episode_start`
    set and a reward of 0.

    * `GymEnv` steps gymnasium vector environments in NumPy, reached from the graph through
      `tf.numpy_function`.
    * `TFEnv` steps a `reinforceable.models.Model` in TF ops: the whole agent-environment loop
      stays in the graph (`in_graph`), and can be compiled with XLA (`xla_compatible`).

    Subclass it to drive another simulator: implement `spec`, `reset` and `tf_step` (and
    `tf_reset`, `close` and `take_error` where they apply).
    """

    in_graph: bool = False
    """`tf_step` is made of TF ops only (no `tf.numpy_function`)."""

    @property
    def xla_compatible(self) -> bool:
        """`tf_step` can be compiled with XLA (an in-graph step of XLA-compatible ops)."""
        return False

    @property
    @abc.abstractmethod
    def spec(self) -> EnvSpec:
        """The spaces and the number of environments."""

    @abc.abstractmethod
    def reset(self, seed: int | None = None) -> Timestep:
        """Resets every environment (eagerly) and returns the first `Timestep` `[num_envs, ...]`.
        `seed` seeds the environments; `None` continues their random streams."""

    @abc.abstractmethod
    def tf_step(self, action) -> Timestep:
        """Steps every environment with a batched action nest in spec dtypes, as graph ops."""

    def tf_reset(self) -> Timestep:
        """`reset()` as graph ops (no seed: seed with `reset` first)."""
        raise NotImplementedError(f"{type(self).__name__} has no graph-mode reset.")

    @property
    def info_spec(self) -> dict:
        """The per-environment `tf.TensorSpec` of each key of `Timestep.info` (none by default)."""
        return {}

    def take_error(self) -> BaseException | None:
        """The exception that the last failed step raised outside the graph, or a fault that
        the environment recorded in the graph without raising (XLA drops assertions), if any
        (and forgets it). The Driver re-raises it instead of the TF error that carried it, and
        asks for it after every run."""
        return None

    def close(self) -> None:
        """Releases the environments (worker processes, simulators)."""

    # ------------------------------------------------------------------------ from the spec

    @property
    def num_envs(self) -> int:
        return self.spec.num_envs

    @property
    def observation_space(self):
        """The gymnasium space of one environment's observation."""
        return self.spec.observation_space

    @property
    def action_space(self):
        """The gymnasium space of one environment's action."""
        return self.spec.action_space

    @property
    def observation_spec(self):
        """The nest of `tf.TensorSpec` of one observation (no batch dimension)."""
        return self.spec.observation_spec

    @property
    def action_spec(self):
        """The nest of `tf.TensorSpec` of one action (no batch dimension)."""
        return self.spec.action_spec

    @property
    def timestep_spec(self) -> Timestep:
        """`Timestep` of `tf.TensorSpec`s with the batch dimension `[num_envs, ...]`."""
        return self.spec.timestep_spec

    def example_timestep(self) -> Timestep:
        """A first timestep with observations drawn from the observation space, without touching
        the environments: for building a model before any rollout."""
        return self.spec.example_timestep()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
