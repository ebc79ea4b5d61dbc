"""The policy protocol the Driver runs: `(timestep, state, seed) -> PolicyStep`.

Implementations: `KerasPolicy` (a Keras model of distribution layers, `keras_policy.py`),
`RandomPolicy` (`random_policy.py`), the planners (`reinforceable.planning`) and the filtered
policies (`reinforceable.estimation`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import tensorflow as tf

from reinforceable.envs.timestep import Timestep

__all__ = ["NonFiniteActionError", "Policy", "PolicyStep"]


class NonFiniteActionError(FloatingPointError):
    """A policy's action was NaN or infinite: its inputs or its weights were not finite. The
    Driver raises it before the environment steps with the action, naming the action leaf, the
    environment and the step."""


class PolicyStep(NamedTuple):
    """What a policy returns for one step of a batch of environments."""

    action: Any
    """The action nest, `[B, ...]`, in the environment's action-spec dtypes (or castable)."""
    state: Any
    """The policy state after this step (any nest; `()` or `{}` for a memoryless policy)."""
    extras: dict
    """Named tensors `[B, ...]` to keep in the trajectory, such as `log_prob` and `value`."""


class Policy:
    """The interface the Driver runs: a learned policy, a planner or a random policy.

    Subclasses implement `step`, and `initial_state` when they carry state. The state is an
    explicit nest that the Driver carries through its `tf.while_loop`, resets to
    `initial_state` where an episode starts, and records at the start of each chunk (and, when
    asked, at every sequence boundary): a recurrent network's hidden state and a planner's
    nominal plan are handled the same way.

    A policy that an agent's actor builds from an acting state also reports that state's
    `version`, which the Driver writes into every trajectory, so that a learner can measure how
    far behind its own parameters the data are (policy lag).
    """

    def build(self, timestep: Timestep) -> None:
        """Creates the policy's variables from a first timestep; the Driver calls it once."""

    def initial_state(self, batch_size: int) -> Any:
        """The state at the start of an episode, for `batch_size` environments."""
        return ()

    def step(self, timestep: Timestep, state: Any, seed: tf.Tensor) -> PolicyStep:
        """The action for `timestep`; `seed` is a stateless int32 `[2]` seed for sampling."""
        raise NotImplementedError

    def action_support(self) -> Any:
        """The values the policy can emit, for the Driver to check against the action space when
        it is built: a list with one `(low, high)` pair of NumPy arrays per action leaf, in
        `tf.nest.flatten` order (`None` for an unbounded or unknown leaf), or `None` if unknown.
        Known after `build`."""
        return None

    _version: tf.Variable | None = None

    def version(self) -> tf.Tensor:
        """int64 scalar: the version of the acting state the policy acts with (0 if none)."""
        if self._version is None:
            return tf.constant(0, tf.int64)
        return self._version.read_value()

    def versioned_by(self, variable: tf.Variable) -> Policy:
        """Reports `variable` (an actor's acting-state version) as its `version`; returns self."""
        self._version = variable
        return self

    def take_warnings(self) -> list[str]:
        """Warnings the policy recorded inside the graph since the last call (an action mask
        that allowed no action, say); the Driver and `Agent.predict` issue them as Python
        warnings after each call. None by default."""
        return []

    def reset(self) -> None:
        """Called by `Driver.reset()`, when every environment starts a new episode. A policy
        that keeps statistics of one run (ARS folding the states of each environment's first
        episode into its whitening statistics) starts them afresh here."""
