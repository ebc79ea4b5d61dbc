"""`MDGPSActor`: guided policy search's acting side, local controllers and the global policy."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.models.base import Model
from reinforceable.planning.linear_gaussian import LinearGaussianPolicy
from reinforceable.planning.lqr import LinearGaussianController

__all__ = ["GlobalPolicy", "MDGPSActor", "gps_acting_variables"]


class GlobalPolicy(Policy):
    """The global Keras policy, acting with its mean: `u = π(x)`, in the Driver's loop.

    Args:
        model: A Keras model from states `[B, n]` to actions `[B, m]`.
        state_from_observation: `observation -> state`; the identity by default.
    """

    def __init__(self, model: keras.Model, state_from_observation: Callable | None = None):
        self.model = model
        self.state_from_observation = state_from_observation

    def step(self, timestep, state, seed) -> PolicyStep:
        observation = timestep.observation
        if self.state_from_observation is not None:
            observation = self.state_from_observation(observation)
        action = self.model(tf.cast(observation, tf.float32))
        return PolicyStep(action=tf.cast(action, tf.float32), state=state, extras={})


def gps_acting_variables(gains, offsets, scale, policy_model) -> dict:
    """MDGPS's acting variables, keyed alike on both sides: the local controllers (gains,
    offsets, Cholesky factors of the covariances, `[T, C, ...]`) and the global policy."""
    return acting_variables(gains=gains, offsets=offsets, scale=scale, policy=policy_model)


class MDGPSActor(Actor):
    """Samples the local controllers (`policy`: environment `b` runs condition `b // S`) and
    evaluates the global policy (`eval_policy`).

    Args:
        agent: The agent type, which acting states must name.
        spec: The `EnvSpec` of the `C · S` sampling environments.
        model: The task's `Model` (for `state_from_observation`).
        policy_model: The global policy (its weights are set by `update`).
        horizon: T, steps of each local controller.
        samples_per_condition: S.
    """

    def __init__(
        self,
        agent: str,
        spec: EnvSpec,
        model: Model,
        policy_model: keras.Model,
        horizon: int,
        samples_per_condition: int,
    ):
        n, m = model.state_dim, model.action_dim
        count = spec.num_envs // samples_per_condition
        zeros = LinearGaussianController(
            np.zeros((horizon, count, m, n)),
            np.zeros((horizon, count, m)),
            np.broadcast_to(np.eye(m), (horizon, count, m, m)).copy(),
        )
        self.local_policy = LinearGaussianPolicy(
            zeros,
            assignment=np.repeat(np.arange(count), samples_per_condition),
            state_from_observation=model.state_from_observation,
        )
        self.policy = self.local_policy
        self.eval_policy = GlobalPolicy(policy_model, model.state_from_observation)
        self.policy_model = policy_model
        local = self.local_policy
        super().__init__(
            agent, gps_acting_variables(local.gains, local.offsets, local.scale, policy_model)
        )

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> MDGPSActor:
        config = blueprint.config_object()
        return cls(
            blueprint.agent,
            blueprint.spec,
            blueprint.objects["model"],
            blueprint.model("policy"),
            config.horizon,
            config.samples_per_condition,
        )
