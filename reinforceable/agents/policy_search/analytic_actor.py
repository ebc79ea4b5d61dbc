"""The acting side of `AnalyticPolicySearch`, and its terminal value network."""

from __future__ import annotations

import keras
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.envs.env_spec import EnvSpec

__all__ = ["AnalyticActor", "value_network"]


def value_network(observation_dim: int, hidden: tuple[int, ...]) -> keras.Model:
    """SHAC's terminal value: a tanh MLP from `[B, observation_dim]` to `[B]`."""
    observation = keras.Input((observation_dim,))
    x = observation
    for units in hidden:
        x = keras.layers.Dense(units, activation="tanh")(x)
    value = keras.layers.Reshape(())(keras.layers.Dense(1)(x))
    return keras.Model(observation, value, name="terminal_value")


class AnalyticActor(Actor):
    """Acts with a copy of the policy: a sample (or the mode, with `deterministic`) and, for
    evaluation, the mode."""

    def __init__(self, agent: str, spec: EnvSpec, model: keras.Model, deterministic: bool):
        self.model = model
        self.policy = KerasPolicy(model, deterministic=deterministic)
        self.eval_policy = KerasPolicy(model, deterministic=True)
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        for policy in (self.policy, self.eval_policy):
            policy.build(example)
        super().__init__(agent, acting_variables(policy=model))

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> AnalyticActor:
        config = blueprint.config_object()
        return cls(blueprint.agent, blueprint.spec, blueprint.model("policy"), config.deterministic)
