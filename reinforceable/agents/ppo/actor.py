"""`PPOActor`: the acting side of recurrent PPO and of the score-function agent."""

from __future__ import annotations

import keras
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.ops.normalization import running_discounted_returns
from reinforceable.ops.observation import ObservationNormalizer

__all__ = ["PPOActor", "ppo_acting_variables"]

DISCOUNTED_RETURN = "discounted_return"
"""The trajectory extra that carries reward scaling's running returns, from actor to learner."""


def ppo_acting_variables(model: keras.Model, normalizer: ObservationNormalizer | None) -> dict:
    """The acting variables of PPO, keyed alike on the learner's and the actor's side: the
    policy's weights and the observation statistics."""
    return acting_variables(policy=model, observation_normalizer=normalizer)


class PPOActor(Actor):
    """Acts with a copy of the policy model and of the observation statistics, and keeps each
    environment's running discounted return for reward scaling (`process` adds it to the
    trajectory's extras as `"discounted_return"`, carrying it from one trajectory to the next).

    Args:
        agent: The agent type, which acting states must name.
        spec: The `EnvSpec`.
        model: The policy model (its weights are set by `update`).
        normalize_observations: Whether the policy sees normalised observations.
        scale_rewards: Whether `process` computes the running returns.
        discount: γ of the running returns.
    """

    def __init__(
        self,
        agent: str,
        spec: EnvSpec,
        model: keras.Model,
        normalize_observations: bool,
        scale_rewards: bool,
        discount: float,
    ):
        self.spec = spec
        self.model = model
        self.normalizer = (
            ObservationNormalizer(spec.observation_spec) if normalize_observations else None
        )
        preprocess = None if self.normalizer is None else self.normalizer.normalize
        self.policy = KerasPolicy(model, preprocess=preprocess)
        self.eval_policy = KerasPolicy(model, deterministic=True, preprocess=preprocess)
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        for policy in (self.policy, self.eval_policy):
            policy.build(example)
        self.scale_rewards = bool(scale_rewards)
        self.discount = float(discount)
        # Each environment's running discounted return: the state of this stream.
        self.returns = tf.Variable(
            tf.zeros([spec.num_envs]), shape=tf.TensorShape([None]), trainable=False,
            name="running_returns",
        )  # fmt: skip
        super().__init__(agent, ppo_acting_variables(model, self.normalizer))

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> PPOActor:
        config = blueprint.config_object().ppo_config(blueprint.spec.num_envs)
        return cls(
            blueprint.agent,
            blueprint.spec,
            blueprint.model("policy"),
            config.normalize_observations,
            config.scale_rewards,
            config.discount,
        )

    def process(self, trajectory: Trajectory) -> Trajectory:
        """Adds `extras["discounted_return"]` `[T, B]` when rewards are scaled."""
        if not self.scale_rewards or DISCOUNTED_RETURN in trajectory.extras:
            return trajectory
        carry = self.returns.read_value()
        batch = trajectory.reward.shape[1]
        if carry.shape[0] != batch:  # another Driver: its environments start from 0
            carry = tf.zeros([batch])
        returns, carry = running_discounted_returns(
            tf.convert_to_tensor(trajectory.reward),
            tf.convert_to_tensor(trajectory.valid),
            tf.convert_to_tensor(trajectory.terminated | trajectory.truncated),
            self.discount,
            carry,
        )
        self.returns.assign(carry)
        return trajectory._replace(extras={**trajectory.extras, DISCOUNTED_RETURN: returns})

    def checkpoint_items(self) -> dict:
        return {"running_returns": self.returns}
