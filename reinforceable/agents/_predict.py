"""`Agent.predict`: the agent's actor on NumPy observations, one or a batch, as in SB3."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

from reinforceable._nest import conform, describe, leaf_paths, structure_difference
from reinforceable.envs.specs import SpaceConverter
from reinforceable.envs.timestep import Timestep

if TYPE_CHECKING:
    from reinforceable.agents.base import Agent

__all__ = ["predict"]


def _observation_leaves(agent: Agent, observation) -> tuple[list[np.ndarray], bool]:
    """The observation's leaves as `[B, ...]` arrays in spec order, and whether it was batched."""
    owner = f"{type(agent).__name__}.predict"
    spec = agent.spec.observation_spec
    try:
        tf.nest.assert_same_structure(spec, observation, check_types=False)
    except (ValueError, TypeError):
        raise ValueError(
            f"{owner}: `observation` must have the structure of the observation space "
            f"{agent.spec.observation_space}; received {type(observation).__name__}."
        ) from None
    leaves = [np.asarray(leaf) for leaf in tf.nest.flatten(observation)]
    specs = tf.nest.flatten(spec)
    for path, leaf, leaf_spec in zip(leaf_paths(spec), leaves, specs, strict=True):
        if leaf.dtype.kind not in "biuf":
            raise ValueError(
                f"{owner}: `observation`{path} must hold numbers ({leaf_spec.dtype.name} for this "
                f"space); received an array of dtype {leaf.dtype} ({leaf.dtype.kind!r} kind)."
            )
    single = all(leaf.shape == tuple(s.shape) for leaf, s in zip(leaves, specs, strict=True))
    batched = all(
        leaf.ndim == len(s.shape) + 1 and leaf.shape[1:] == tuple(s.shape)
        for leaf, s in zip(leaves, specs, strict=True)
    )
    sizes = {leaf.shape[0] for leaf in leaves} if batched else set()
    if not (single or (batched and len(sizes) == 1)):
        mismatched = [
            (path, leaf, tuple(s.shape))
            for path, leaf, s in zip(leaf_paths(spec), leaves, specs, strict=True)
            if leaf.shape != tuple(s.shape) and leaf.shape[1:] != tuple(s.shape)
        ]
        path, leaf, shape = (mismatched or [("", leaves[0], tuple(specs[0].shape))])[0]
        if not mismatched:  # every leaf fits alone, but not with one batch size
            raise ValueError(
                f"{owner}: the leaves of `observation` must share one batch size; received "
                f"{[leaf.shape for leaf in leaves]}."
            )
        raise ValueError(
            f"{owner}: `observation`{path} must have shape {shape} (one observation) or "
            f"[batch, *{shape}] (a batch); received shape {leaf.shape}."
        )
    if single:
        leaves = [leaf[None] for leaf in leaves]
    return leaves, not single


def predict(agent: Agent, observation, state, episode_start, deterministic: bool):
    policy = agent.eval_policy if deterministic else agent.policy
    leaves, batched = _observation_leaves(agent, observation)
    batch = leaves[0].shape[0]
    converter = SpaceConverter(agent.spec.observation_space)
    flat = converter.to_arrays(tf.nest.pack_sequence_as(agent.spec.observation_spec, leaves))
    owner = f"{type(agent).__name__}.predict"
    if episode_start is None:
        starts = np.zeros(batch, bool)
    else:
        flags = np.asarray(episode_start).reshape(-1)
        if flags.size not in (1, batch):
            raise ValueError(
                f"{owner}: `episode_start` must hold one flag per observation ({batch}) or a "
                f"single flag; received {flags.size}."
            )
        starts = np.broadcast_to(flags.astype(bool), (batch,))
    timestep = Timestep(
        observation=tf.nest.pack_sequence_as(agent.spec.observation_spec, flat),
        reward=np.zeros(batch, np.float32),
        terminated=np.zeros(batch, bool),
        truncated=np.zeros(batch, bool),
        episode_start=starts,
    )
    initial = policy.initial_state(batch)
    state = initial if state is None else _checked_state(owner, state, initial)
    step = _step_function(agent, policy)
    rng = agent.__dict__.setdefault("_predict_rng", np.random.default_rng(0))
    seed = rng.integers(0, 2**31 - 1, size=2, dtype=np.int32)
    action, next_state = step(
        tf.nest.map_structure(tf.convert_to_tensor, timestep),
        tf.nest.map_structure(tf.convert_to_tensor, state),
        tf.nest.map_structure(tf.convert_to_tensor, initial),
        tf.constant(seed),
    )
    for message in policy.take_warnings():
        warnings.warn(message, stacklevel=3)
    actions = SpaceConverter(agent.spec.action_space)
    gym_action = actions.to_gym([np.asarray(a) for a in tf.nest.flatten(action)], clip=True)
    if not batched:
        gym_action = tf.nest.map_structure(lambda a: a[0], gym_action)
    return gym_action, tf.nest.map_structure(np.asarray, next_state)


def _step_function(agent: Agent, policy) -> Any:
    """One traced step of `policy` with the Driver's reset where episodes start (cached)."""
    cache = agent.__dict__.setdefault("_predict_functions", {})
    if id(policy) not in cache:

        def step(timestep, state, initial, seed):
            def reset(value, start_value):
                mask = tf.reshape(timestep.episode_start, [-1] + [1] * (value.shape.rank - 1))
                return tf.where(mask, start_value, value)

            state = tf.nest.map_structure(reset, state, initial)
            result = policy.step(timestep, state, seed)
            return result.action, result.state

        cache[id(policy)] = (policy, tf.function(step, autograph=False, reduce_retracing=True))
    return cache[id(policy)][1]


def _checked_state(owner: str, state, initial):
    """`state` in the containers of the policy's own state, after checking that it is one: the
    structure, and `[batch, ...]` leaves of the same shapes and kinds."""
    expected = describe(initial)
    difference = structure_difference(initial, conform(initial, state))
    hint = (
        "pass the state that this agent's `predict` returned (another agent's, or another "
        "recurrent cell's, does not fit), or None to start afresh."
    )
    if difference:
        raise ValueError(
            f"{owner}: `state` does not fit the policy's state ({difference}); {hint}\n"
            f"Expected:\n{expected}"
        )
    state = conform(initial, state)
    for path, leaf, want in zip(
        leaf_paths(initial), tf.nest.flatten(state), tf.nest.flatten(initial), strict=True
    ):
        got = np.asarray(leaf)
        if got.shape != tuple(want.shape) or got.dtype.kind not in "biuf":
            raise ValueError(
                f"{owner}: `state`{path} must have shape {tuple(want.shape)} (batch first) and "
                f"hold numbers; received {got.dtype}{list(got.shape)}; {hint}"
            )
    return state
