"""Argument and output checks of the `Driver`, with messages that name what is wrong."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from reinforceable._latch import FirstFault
from reinforceable._nest import conform, describe, leaf_paths, structure_difference
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.policy import NonFiniteActionError, Policy
from reinforceable.envs.specs import space_leaves, space_to_spec

__all__ = [
    "FiniteActions",
    "as_policy",
    "check_action",
    "check_run_args",
    "check_sequence_length",
    "check_state",
    "check_support",
]


def as_policy(policy_or_agent) -> Policy:
    if isinstance(policy_or_agent, Policy):
        return policy_or_agent
    if isinstance(policy_or_agent, keras.Model):
        return KerasPolicy(policy_or_agent)
    policy = getattr(policy_or_agent, "policy", None)
    if isinstance(policy, Policy):
        return policy
    raise TypeError(
        "Driver: `policy` must be a reinforceable Policy, a keras.Model of reinforceable layers, "
        f"or an agent with a `.policy`; received {type(policy_or_agent).__name__}."
    )


def _kind(dtype: tf.DType) -> str:
    if dtype.is_floating:
        return "float"
    if dtype.is_integer or dtype == tf.bool:
        return "int"
    return dtype.name


def check_action(action, spec, num_envs: int) -> None:
    """Raises a ValueError if the policy's action does not fit the action spec.

    Container types alone may differ (a list for a Tuple space's tuple): the Driver repacks the
    action in the spec's types (`conform`)."""
    expected = tf.nest.map_structure(lambda s: tf.TensorSpec([num_envs, *s.shape], s.dtype), spec)

    def mismatch(reason: str) -> ValueError:
        return ValueError(
            f"Driver: the policy's action does not fit the environment's action space ({reason}).\n"
            f"Expected (structure, shape, dtype):\n{describe(expected)}\n"
            f"Received:\n{describe(action)}"
        )

    difference = structure_difference(expected, conform(expected, action))
    if difference:
        raise mismatch(f"different structure {difference}")
    action = conform(expected, action)
    for path, want, got in zip(
        leaf_paths(expected), tf.nest.flatten(expected), tf.nest.flatten(action), strict=True
    ):
        where = path or "the action"
        if tuple(got.shape) != tuple(want.shape):
            raise mismatch(f"shape of {where}")
        if _kind(got.dtype) != _kind(want.dtype):
            raise mismatch(f"dtype of {where}")


def _space_range(space: gym.Space) -> tuple[np.ndarray, np.ndarray, str] | None:
    """`(low, high, description)` of a leaf action space in spec values, `None` if unbounded."""
    if isinstance(space, gym.spaces.Discrete):
        description = f"Discrete({space.n}): actions 0..{space.n - 1}"
        return np.zeros(()), np.asarray(space.n - 1), description
    if isinstance(space, gym.spaces.MultiDiscrete):
        return np.zeros(space.nvec.shape), space.nvec - 1, f"MultiDiscrete({space.nvec.tolist()})"
    if isinstance(space, gym.spaces.MultiBinary):
        return np.zeros(()), np.ones(()), f"MultiBinary({space.n})"
    if isinstance(space, gym.spaces.Box):
        return space.low, space.high, f"Box(low={space.low.tolist()}, high={space.high.tolist()})"
    return None


def check_support(support, action_space: gym.Space) -> None:
    """Raises a ValueError if a policy head can emit values outside its action space: more
    classes than a `Discrete(n)`, or a bounded head wider than a `Box` (an unbounded head is
    allowed: `GymEnv` clips its actions to a Box)."""
    if support is None:
        return
    spaces = space_leaves(action_space)
    paths = leaf_paths(space_to_spec(action_space))
    if len(support) != len(spaces):  # a structure that `check_action` has already refused
        return
    for path, space, leaf in zip(paths, spaces, support, strict=True):
        allowed = _space_range(space)
        if leaf is None or allowed is None:
            continue
        low, high = (np.asarray(bound, np.float64) for bound in leaf)
        space_low, space_high, description = allowed
        try:
            outside = np.any(low < space_low) or np.any(high > space_high)
        except ValueError:  # shapes that do not broadcast: `check_action` reports them
            continue
        if outside:
            head = (
                f"{int(high.max()) + 1} classes"
                if isinstance(space, gym.spaces.Discrete | gym.spaces.MultiDiscrete)
                else f"values in [{low.min():g}, {high.max():g}]"
            )
            raise ValueError(
                f"Driver: the policy's action head at {path or 'the action'} emits {head}, "
                f"which does not fit the action space {description}. Size the head to the space "
                "(num_classes = n; output_bounds inside the Box's bounds)."
            )


def check_run_args(steps, episodes, num_envs: int, episodes_per_env=None) -> tuple[int, int, int]:
    if steps is None and episodes is None and episodes_per_env is None:
        raise ValueError("Driver.run: give `steps`, `episodes` or `episodes_per_env`.")
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps <= 0:
            raise ValueError(f"Driver.run: `steps` must be a positive int; received {steps!r}.")
        if steps % num_envs:
            raise ValueError(
                f"Driver.run: `steps` counts environment steps over all {num_envs} environments "
                f"and must be a multiple of {num_envs}; received {steps}."
            )
    _positive_int_or_none("Driver.run", "episodes", episodes)
    _positive_int_or_none("Driver.run", "episodes_per_env", episodes_per_env)
    unlimited = np.iinfo(np.int32).max
    num_steps = unlimited if steps is None else int(steps) // num_envs
    per_env = unlimited if episodes_per_env is None else int(episodes_per_env)
    return num_steps, unlimited if episodes is None else int(episodes), per_env


def check_state(state, num_envs: int) -> None:
    """Raises a ValueError unless every tensor of the policy state is `[num_envs, ...]`."""
    for path, leaf in zip(leaf_paths(state), tf.nest.flatten(state), strict=True):
        if leaf.shape.rank is None or leaf.shape.rank < 1 or leaf.shape[0] != num_envs:
            raise ValueError(
                f"Driver: every tensor of the policy state must be [num_envs, ...] = "
                f"[{num_envs}, ...]; the state at {path or 'the root'} has shape {leaf.shape}."
            )


def _positive_int_or_none(owner: str, name: str, value) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0
    ):
        raise ValueError(f"{owner}: `{name}` must be a positive int or None; received {value!r}.")


def check_sequence_length(sequence_length) -> int | None:
    _positive_int_or_none("Driver", "sequence_length", sequence_length)
    return None if sequence_length is None else int(sequence_length)


_NON_FINITE_ACTION = "Driver: a NaN or infinite action (see the NonFiniteActionError)"


class FiniteActions:
    """The Driver's check that the float leaves of every action are finite, in the graph,
    before the environment steps with it: the first faulty env and leaf are latched
    (`FirstFault`) and an `Assert` fails the step (XLA drops it; `take_error` then finds the
    latch when the run ends)."""

    def __init__(self, action_spec, num_envs: int):
        self.num_envs = num_envs
        self.paths = leaf_paths(action_spec)
        self.floating = [
            i for i, s in enumerate(tf.nest.flatten(action_spec)) if s.dtype.is_floating
        ]
        self._fault = FirstFault(0, "action")

    def __call__(self, action, t):
        """`action` (in spec dtypes) behind the check; `t` is the step of the run."""
        if not self.floating:
            return action
        leaves = tf.nest.flatten(action)
        bad_leaves = [
            ~tf.reduce_all(tf.math.is_finite(tf.reshape(leaves[i], [self.num_envs, -1])), 1)
            for i in self.floating
        ]
        bad = tf.reduce_any(tf.stack(bad_leaves), axis=0)
        code = tf.constant(len(leaves), tf.int32)  # each row's first faulty leaf
        for i, leaf_bad in reversed(list(zip(self.floating, bad_leaves, strict=True))):
            code = tf.where(leaf_bad, i, code)
        with tf.control_dependencies(self._fault.record(bad, t, code)):
            check = tf.debugging.Assert(~tf.reduce_any(bad), [_NON_FINITE_ACTION], summarize=1)
        with tf.control_dependencies([check]):
            return tf.nest.map_structure(tf.identity, action)

    def take_error(self) -> NonFiniteActionError | None:
        """The error of the first non-finite action since the last call, if any."""
        fault = self._fault.take()
        if fault is None:
            return None
        return NonFiniteActionError(
            f"Driver: the policy's action{self.paths[fault.code]} is NaN or infinite for "
            f"environment {fault.row} at step {fault.step} of the run; the environment did not "
            "step with it. Its inputs or its weights are not finite (training diverged, or a "
            "NaN came from outside)."
        )
