"""DQN's acting side: the Q-network builder, the ε-greedy policy and `DQNActor`."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.layers.noisy_dense import (
    NoisyDense,
    noisy_act,
    noisy_initial_state,
    noisy_layers,
    using_noise,
)
from reinforceable.networks.encoders import needs_encoder, observation_encoder, observation_inputs

__all__ = ["DQNActor", "DuelingHead", "EpsilonGreedy", "q_network"]


@keras.saving.register_keras_serializable(package="reinforceable")
class DuelingHead(keras.layers.Layer):
    """`Q(s, a) = V(s) + A(s, a) - mean_a A(s, a)` from `[V [B, 1], A [B, n]]` (Wang 2016)."""

    def call(self, inputs):
        value, advantage = inputs
        return value + advantage - keras.ops.mean(advantage, axis=-1, keepdims=True)


def q_network(
    env,
    hidden: tuple[int, ...] = (64, 64),
    dueling: bool = False,
    name: str = "q_network",
    noisy: bool = False,
    noisy_sample_freq: int = 1,
    noisy_sigma_zero: float = 0.5,
) -> keras.Model:
    """A Q-network for `DQNAgent`: the observation (through `observation_encoder` unless it is a
    flat float Box) → a ReLU MLP → `[batch, n]` values of the `Discrete(n)` actions (a
    `ValueError` for another space); with `dueling`, value and advantage heads. With `noisy`
    (NoisyNet's DQN), every layer after the encoder is a `NoisyDense` (σ₀ `noisy_sigma_zero`,
    redrawn every `noisy_sample_freq` steps, or at episode starts only with -1): the actor
    explores through the noise (set `exploration_initial=exploration_final=0`), the learner
    draws fresh noise per replayed row, and evaluation uses the means."""
    space = env.action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"q_network: the action space must be Discrete; received {space}.")
    x = inputs = observation_inputs(env.observation_space)
    if needs_encoder(env.observation_space):
        x = observation_encoder(env.observation_space)(inputs)

    def dense(units, activation, layer_name):
        if noisy:
            return NoisyDense(units, activation=activation, sigma_zero=noisy_sigma_zero,
                              sample_freq=noisy_sample_freq, name=layer_name)  # fmt: skip
        return keras.layers.Dense(units, activation=activation, name=layer_name)

    for i, units in enumerate(hidden):
        x = dense(units, "relu", f"hidden_{i}")(x)
    q = dense(int(space.n), None, "q")(x)
    if dueling:
        q = DuelingHead(name="dueling")([dense(1, None, "value")(x), q])
    return keras.Model(inputs, q, name=name)


class EpsilonGreedy(Policy):
    """A Q-network's greedy action, or a random one with probability `epsilon` (a variable);
    with `noise`, its `NoisyDense` layers act with draws held in the policy state."""

    def __init__(self, model, num_actions: int, dtype, epsilon=None, noise: bool = False):
        self.model, self.num_actions, self.dtype, self.epsilon = model, num_actions, dtype, epsilon
        self.noisy = noisy_layers(model) if noise else []  # acting noise in the policy state

    def action_support(self):
        return [(np.array(0), np.array(self.num_actions - 1))]

    def initial_state(self, batch_size):
        """The acting noise of the network's `NoisyDense` layers (none: `()`)."""
        if not self.noisy:
            return ()
        return noisy_initial_state(self.noisy, batch_size)

    def step(self, timestep, state, seed):
        if self.noisy:  # this step's draws: fresh at episode starts and on the layers' schedule
            steps = tf.where(timestep.episode_start, 0, state["steps"])
            state = noisy_act(self.noisy, {**state, "steps": steps}, seed)
            with using_noise(self.noisy, state["noise"]):
                values = self.model(timestep.observation)
        else:
            values = self.model(timestep.observation)
        action = tf.argmax(values, axis=-1, output_type=tf.int32)
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
        self.policy = EpsilonGreedy(model, n, dtype, self.epsilon, noise=True)
        self.eval_policy = EpsilonGreedy(model, n, dtype)
        super().__init__(agent, acting_variables(q_network=model, epsilon=self.epsilon))

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> DQNActor:
        return cls(blueprint.agent, blueprint.spec, blueprint.model("q_network"))
