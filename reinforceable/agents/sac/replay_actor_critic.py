"""`ReplayActorCritic`: what the off-policy actor-critics (SAC and recurrent SAC, TD3 and DDPG)
share: the actor model and its learner view, the action codec, the critics and their targets,
the actor's and critics' optimizers, the replay, the acting state with its warm-up flag,
checkpoints, and one update skeleton:

    _update            after warm-up, `utd_ratio` gradient steps per new env step, one graph call
      _updates         a tf.while_loop of gradient steps (stops at the first non-finite loss)
        _gradient_step the algorithm's losses on one batch of its replay and their optimizer
                       steps (`_apply`), then the targets' Polyak averaging (`_update_targets`)

An algorithm (`SACBase`, `TD3Agent`) says what differs: the replay it keeps (`_make_buffer`,
`_add`), its critics (`_build_critics`), the learner parts of its own (`_build_learner_parts`:
SAC's temperatures, TD3's target actor), and one gradient step (`_gradient_step`)."""

from __future__ import annotations

import abc
from typing import Any

import keras
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable._random import generator
from reinforceable.agents._off_policy import gradient_burst, update_iteration
from reinforceable.agents.base import Agent
from reinforceable.agents.sac.actor import acting_normalizer, sac_acting_variables
from reinforceable.agents.sac.codec import ActionCodec
from reinforceable.agents.sac.losses import polyak_average
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec

__all__ = ["ReplayActorCritic"]


class ReplayActorCritic(Agent):
    """The shared part of the replay actor-critics (see the module's docstring); not an agent by
    itself. Its arguments are theirs: the actor model, the `EnvSpec` (or an `Environment`), the
    config and, where the algorithm allows one, a custom critic."""

    off_policy = True

    def __init__(
        self,
        actor_model: keras.Model,
        env: EnvSpec | Environment,
        config=None,
        critic: keras.Model | None = None,
    ):
        owner = type(self).__name__
        check_instance(owner, "actor_model", actor_model, keras.Model, "a keras.Model")
        self._check_actor(actor_model)
        if critic is not None:
            check_instance(owner, "critic", critic, keras.Model, "a keras.Model or None")
        super().__init__(env, config)
        spec, config = self.spec, self.config
        self.model = actor_model
        self.learner_policy = KerasPolicy(actor_model)  # the learner's view, for the losses
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        self.learner_policy.build(example)
        self.codec = ActionCodec(
            spec.action_space, spec.action_spec, self._example_distributions(example), owner
        )
        self.custom_critic = critic
        self._build_critics(spec, critic)
        self._build_learner_parts()
        self.actor_optimizer = keras.optimizers.Adam(config.learning_rate)
        self.critic_optimizer = keras.optimizers.Adam(config.learning_rate)
        self._critic_variables = [v for c in self._critic_models() for v in c.trainable_variables]
        self.actor_optimizer.build(actor_model.trainable_variables)
        self.critic_optimizer.build(self._critic_variables)

        self.observation_normalizer = acting_normalizer(spec, config)
        self.buffer = self._make_buffer(spec)
        self.rng = generator(config.seed)
        self._warmup = tf.Variable(config.warmup_steps > 0, trainable=False, name="warmup")
        self._new_steps = 0  # env steps observed since the last update
        self._add_graph = tf.function(self._add, autograph=False, reduce_retracing=True)
        jit = config.jit_compile
        self._update_graph = tf.function(self._updates, autograph=False, jit_compile=jit)
        self._shared_update_graph = tf.function(
            self._updates, autograph=False, reduce_retracing=True, jit_compile=jit
        )
        self._build_actor()

    # ---------------------------------------------------------------- what an algorithm implements

    @abc.abstractmethod
    def _check_actor(self, actor: keras.Model) -> None:
        """Refuses an actor of the wrong kind (memoryless or recurrent)."""

    @abc.abstractmethod
    def _example_distributions(self, example):
        """The actor's distribution nest for the example timestep (for the codec's checks)."""

    @abc.abstractmethod
    def _build_critics(self, spec: EnvSpec, critic: keras.Model | None) -> None:
        """Sets `critics` and `target_critics` (and whatever else `_critic_models` lists)."""

    def _build_learner_parts(self) -> None:
        """Makes the learner's parts of the algorithm's own (called after `_build_critics`)."""

    @abc.abstractmethod
    def _critic_models(self) -> list[keras.Model]:
        """Every model the critic loss trains."""

    @abc.abstractmethod
    def _target_critic_models(self) -> list[keras.Model]:
        """Their Polyak-averaged targets, in the same order."""

    @abc.abstractmethod
    def _make_buffer(self, spec: EnvSpec):
        """The replay (`self.buffer`, checkpointed)."""

    @abc.abstractmethod
    def _add(self, trajectory: Trajectory):
        """Stores a trajectory in the replay and counts its env steps (traced once)."""

    @abc.abstractmethod
    def _gradient_step(self, seed, batch=None) -> tuple[tf.Tensor, tf.Tensor]:
        """One gradient step on a batch (sampled from the replay with `seed`, or `batch` from a
        shared replay), applied only if its losses are finite; returns `(finite, metrics)`, the
        metrics in the order of `_metric_names`."""

    @property
    @abc.abstractmethod
    def _metric_names(self) -> list[str]:
        """The names of `_gradient_step`'s metrics."""

    # ---------------------------------------------------------------------------- contract

    def acting_variables(self) -> dict[str, tf.Variable]:
        # The warm-up flag follows the env steps observed so far.
        self._warmup.assign(self.env_steps < self.config.warmup_steps)
        return sac_acting_variables(self.model, self._warmup, self.observation_normalizer)

    def actor_models(self) -> dict[str, keras.Model]:
        return {"policy": self.model}

    def saved_models(self) -> dict[str, keras.Model]:
        models = {"policy": self.model}
        if self.custom_critic is not None:
            models["critic"] = self.critics[0]
        return models

    @classmethod
    def _from_saved(cls, env_or_spec, config, models, arguments, objects):
        return cls(models["policy"], env_or_spec, config, critic=models.get("critic"))

    # ---------------------------------------------------------------------------- learning

    @staticmethod
    def _apply(optimizer, grads, variables) -> None:
        """An optimizer step on the variables that have a gradient (an actor's unused scale
        head, a temperature that the action space does not have, get none)."""
        pairs = [(g, v) for g, v in zip(grads, variables, strict=True) if g is not None]
        if pairs:
            optimizer.apply_gradients(pairs)

    def _update_targets(self, pairs=None) -> None:
        """Moves each target model's weights `tau` of the way to its model's (`pairs` of
        `(model, target)`; by default the critics')."""
        if pairs is None:
            pairs = zip(self._critic_models(), self._target_critic_models(), strict=True)
        for model, target in pairs:
            for weight, target_weight in zip(model.weights, target.weights, strict=True):
                target_weight.assign(polyak_average(target_weight, weight, self.config.tau))

    def _learning_batch(self, seed, batch=None):
        """`batch` (from a shared replay), or one sampled from the replay with `seed`; its
        observations normalised with the acting statistics where the config says so."""
        if batch is None:
            batch = self.buffer.sample(self.config.batch_size, seed)
        if self.observation_normalizer is None:
            return batch
        normalize = self.observation_normalizer.normalize
        return {
            **batch,
            "observation": normalize(batch["observation"]),
            "next_observation": normalize(batch["next_observation"]),
        }

    def _updates(self, num_updates, batches=None):
        """`num_updates` gradient steps, each on a batch from the buffer, or on `batches[u]`
        (`[num_updates, batch_size, ...]`, from a shared replay)."""
        seed = self.rng.uniform_full_int([2], tf.int32)

        def step(u, seed_u):
            batch = None if batches is None else tf.nest.map_structure(lambda x: x[u], batches)
            return self._gradient_step(seed_u, batch)

        return gradient_burst(step, num_updates, seed, len(self._metric_names))

    def _observe(self, trajectory: Trajectory) -> None:
        """Stores the trajectory's transitions (n-step returns) in the replay buffer."""
        self._add_graph(trajectory)
        self._new_steps += int(tf.size(trajectory.reward))

    def _update(self, replay=None) -> dict[str, float]:
        """After warm-up, `utd_ratio` gradient updates per env step observed since the last
        update; returns the metrics.

        Raises:
            TrainingDivergedError: If a loss became NaN or infinite (that update is not applied).
        """

        def run(num_updates):
            if replay is None:
                return self._update_graph(tf.constant(num_updates))
            batches = replay.sample(num_updates, self.config.batch_size)
            return self._shared_update_graph(tf.constant(num_updates), batches)

        size = int(self.buffer.size) if replay is None else replay.size()
        return update_iteration(self, size, run, self._metric_names)

    # ---------------------------------------------------------------------------- state

    def checkpoint_items(self) -> dict[str, Any]:
        """Everything a resumed run needs, the replay buffer included."""
        return {**self.saved_state(), "buffer": self.buffer}

    def saved_state(self) -> dict[str, Any]:
        """The learner state that `save` keeps: everything but the replay buffer."""
        critics = {f"critic_{i}": c for i, c in enumerate(self.critics)}
        targets = {f"target_critic_{i}": c for i, c in enumerate(self.target_critics)}
        return {
            "actor": self.model,
            **critics,
            **targets,
            "actor_optimizer": self.actor_optimizer,
            "critic_optimizer": self.critic_optimizer,
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "rng": self.rng,
            **({} if self.observation_normalizer is None
               else {"observation_normalizer": self.observation_normalizer}),
        }  # fmt: skip
