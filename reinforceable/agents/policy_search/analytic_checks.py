"""The checks of `AnalyticPolicySearch`'s inputs: the environment against its model, and one
trial step of its policy through the model."""

from __future__ import annotations

import tensorflow as tf

from reinforceable.envs.env_spec import EnvSpec

__all__ = ["check_env", "check_policy"]


def check_env(model, spec: EnvSpec) -> None:
    """A ValueError unless `spec`'s spaces are the model's observation and action shapes."""
    observation, action = spec.observation_space, spec.action_space
    if getattr(observation, "shape", None) != (model.obs_dim,) or getattr(
        action, "shape", None
    ) != (model.action_dim,):
        raise ValueError(
            "AnalyticPolicySearch: `env` must match the model: observations of shape "
            f"({model.obs_dim},) and actions of shape ({model.action_dim},); received "
            f"{observation} and {action}."
        )


def check_policy(agent) -> None:
    """One eager trial step of `agent`'s policy: a ValueError for an output of the wrong
    shape, or actions the model refuses."""
    states = agent.system.initial_state([2], tf.constant([0, 0]))
    observation = tf.cast(agent.system.observe(states), tf.float32)
    distribution, _ = agent._step(observation, agent.learner_policy.initial_state(2))
    action = agent._drop_time(distribution.mode())
    if action.shape != (2, agent.system.action_dim):
        raise ValueError(
            "AnalyticPolicySearch: the policy's action must have shape "
            f"[batch, {agent.system.action_dim}] (the model's `action_dim`); received "
            f"{action.shape} for a batch of 2."
        )
    try:
        agent.system.step(states, tf.cast(action, states.dtype))
        agent.system.step(
            states,
            tf.cast(agent._drop_time(distribution.sample(seed=tf.constant([0, 1]))), states.dtype),
        )
    except ValueError as error:
        raise ValueError(
            f"AnalyticPolicySearch: the policy's actions do not fit the model ({error}). "
            "Bound the policy's head to the model's action bounds (DenseNormal with "
            "`output_bounds` and `hard_bounds=True`)."
        ) from None
