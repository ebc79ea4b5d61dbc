"""DQN's acting side: the Q-network builder, the ε-greedy policy and `DQNActor`."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.networks.encoders import needs_encoder, observation_encoder, observation_inputs

__all__ = ["DQNActor", "DuelingHead", "EpsilonGreedy", "q_network"]


@keras.saving.register_keras_serializable(package="reinforceable")
class DuelingHead(keras.layers.Layer):
    """`Q(s, a) = V(s) + A(s, a) - mean_a A(s, a)` from `[V [B, 1], A [B, n]]` (Wang 2016)."""

    def call(self, inputs):
        value, advantage = inputs
        return value + advantage - keras.ops.mean(advantage, axis=-1, keepdims=True)


def q_network(
    env, hidden: tuple[int, ...] = (64, 64), dueling: bool = False, name: str = "q_network"
) -> keras.Model:
    """A Q-network for `DQNAgent`: the observation (through `observation_encoder` unless it is a
    flat float Box) → a ReLU MLP → `[batch, n]` values of the `Discrete(n)` actions (a
    `ValueError` for another space); with `dueling`, value and advantage heads."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"q_network: the action space must be Discrete; received {space}.")
    x = inputs = observation_inputs(env.observation_space)
    if needs_encoder(env.observation_space):
        x = observation_encoder(env.observation_space)(inputs)
    for i, units in enumerate(hidden):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
    q = keras.layers.Dense(int(space.n), name="q")(x)
    if dueling:
        q = DuelingHead(name="dueling")([keras.layers.Dense(1, name="value")(x), q])
    return keras.Model(inputs, q, name=name)


class EpsilonGreedy(Policy):
    """A Q-network's greedy action, or a random one with probability `epsilon` (a variable)."""

    def __init__(self, model: keras.Model, num_actions: int, dtype, epsilon=None):
        self.model, self.num_actions, self.dtype, self.epsilon = model, num_actions, dtype, epsilon

    def action_support(self):
        return [(np.array(0), np.array(self.num_actions - 1))]

    def step(self, timestep, state, seed):
        action = tf.argmax(self.model(timestep.observation), axis=-1, output_type=tf.int32)
        if self.epsilon is not None:
            pick, explore = tf.unstack(tf.random.split(seed, 2))
            shape = tf.shape(action)
            random = tf.random.stateless_uniform(shape, pick, 0, self.num_actions, tf.int32)
            chance = tf.random.stateless_uniform(shape, explore)
            action = tf.where(chance < self.epsilon, random, action)
        return PolicyStep(action=tf.cast(action, self.dtype), state=state, extras={})


class DQNActor(Actor):
    """Acts ε-greedily with a copy of the Q-network (`epsilon` from the acting state);
    `eval_policy` is greedy."""

    def __init__(self, agent: str, spec: EnvSpec, model: keras.Model, epsilon: float = 1.0):
        self.epsilon = tf.Variable(epsilon, trainable=False, name="epsilon")
        n, dtype = int(spec.action_space.n), spec.action_spec.dtype
        self.policy = EpsilonGreedy(model, n, dtype, self.epsilon)
        self.eval_policy = EpsilonGreedy(model, n, dtype)
        super().__init__(agent, acting_variables(q_network=model, epsilon=self.epsilon))

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> DQNActor:
        return cls(blueprint.agent, blueprint.spec, blueprint.model("q_network"))
