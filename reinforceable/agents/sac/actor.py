"""`SACActor`: the acting side of SAC, with its warm-up of random actions."""

from __future__ import annotations

import keras
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.driver.random_policy import RandomPolicy
from reinforceable.envs.env_spec import EnvSpec

__all__ = ["SACActor", "WarmupPolicy", "sac_acting_variables"]


def sac_acting_variables(model: keras.Model, warmup: tf.Variable) -> dict:
    """SAC's acting variables, keyed alike on both sides: the actor's weights and the warm-up
    flag (True while the learner has seen fewer than `warmup_steps` env steps)."""
    return acting_variables(policy=model, warmup=warmup)


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
    """

    def __init__(self, agent: str, spec: EnvSpec, model: keras.Model, warmup_steps: int):
        self.model = model
        sample = KerasPolicy(model)
        self.eval_policy = KerasPolicy(model, deterministic=True)
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        for policy in (sample, self.eval_policy):
            policy.build(example)
        self.warmup = tf.Variable(warmup_steps > 0, trainable=False, name="warmup")
        self.policy = (
            WarmupPolicy(sample, RandomPolicy(spec.action_space), self.warmup)
            if warmup_steps
            else sample
        )
        super().__init__(agent, sac_acting_variables(model, self.warmup))

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> SACActor:
        config = blueprint.config_object()
        return cls(blueprint.agent, blueprint.spec, blueprint.model("policy"), config.warmup_steps)
