"""`SACActor`: the acting side of SAC, with its warm-up of random actions."""

from __future__ import annotations

import keras
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.driver.random_policy import RandomPolicy
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.ops.observation import ObservationNormalizer

__all__ = ["SACActor", "WarmupPolicy", "acting_normalizer", "sac_acting_variables"]


def sac_acting_variables(
    model: keras.Model, warmup: tf.Variable, normalizer: ObservationNormalizer | None = None
) -> dict:
    """SAC's, TD3's and DDPG's acting variables, keyed alike on both sides: the actor's weights,
    the warm-up flag (True while the learner has seen fewer than `warmup_steps` env steps) and,
    with `normalize_observations`, the observation statistics."""
    return acting_variables(policy=model, warmup=warmup, observation_normalizer=normalizer)


def acting_normalizer(spec: EnvSpec, config) -> ObservationNormalizer | None:
    """The observation statistics an actor (and its learner) keeps where the config has
    `normalize_observations` set, else `None`."""
    if not getattr(config, "normalize_observations", False):
        return None
    return ObservationNormalizer(spec.observation_spec)


class WarmupPolicy(Policy):
    """Uniformly random actions while `warmup` (a bool variable of the acting state) is True;
    the actor's own after. The random actions use their own split of the step's seed."""

    def __init__(self, actor: KerasPolicy, random: RandomPolicy, warmup: tf.Variable):
        self.actor, self.random, self.warmup = actor, random, warmup

    def build(self, timestep):
        self.actor.build(timestep)

    def initial_state(self, batch_size):
        return self.actor.initial_state(batch_size)

    def action_support(self):
        return self.actor.action_support()

    def step(self, timestep, state, seed):
        step = self.actor.step(timestep, state, seed)
        random = self.random.step(timestep, state, tf.random.split(seed, 1)[0]).action
        warm = self.warmup.read_value()
        # In the random action's containers, the action space's (a model may give a list
        # where a Tuple space has a tuple).
        action = tf.nest.map_structure(
            lambda r, a: tf.where(warm, tf.cast(r, a.dtype), a), random, step.action,
            check_types=False,
        )  # fmt: skip
        return PolicyStep(action=action, state=step.state, extras=step.extras)


class SACActor(Actor):
    """Acts with a copy of SAC's actor model: random actions during the warm-up (while the
    acting state's `warmup` flag is set), samples after; `eval_policy` takes the mode.

    Args:
        agent: The agent type, which acting states must name.
        spec: The `EnvSpec`.
        model: The actor model (its weights are set by `update`).
        warmup_steps: The config's warm-up; with 0, the policy never draws random actions.
        normalizer: The observation statistics the actor sees its observations through, or
            `None` (`acting_normalizer`).
    """

    def __init__(
        self,
        agent: str,
        spec: EnvSpec,
        model: keras.Model,
        warmup_steps: int,
        normalizer: ObservationNormalizer | None = None,
    ):
        self.model = model
        self.normalizer = normalizer
        preprocess = None if normalizer is None else normalizer.normalize
        sample = KerasPolicy(model, preprocess=preprocess)
        self.eval_policy = KerasPolicy(model, deterministic=True, preprocess=preprocess)
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        for policy in (sample, self.eval_policy):
            policy.build(example)
        self.warmup = tf.Variable(warmup_steps > 0, trainable=False, name="warmup")
        self.policy = (
            WarmupPolicy(sample, RandomPolicy(spec.action_space), self.warmup)
            if warmup_steps
            else sample
        )
        super().__init__(agent, sac_acting_variables(model, self.warmup, normalizer))

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> SACActor:
        config, spec = blueprint.config_object(), blueprint.spec
        normalizer = acting_normalizer(spec, config)
        model = blueprint.model("policy")
        return cls(blueprint.agent, spec, model, config.warmup_steps, normalizer)
