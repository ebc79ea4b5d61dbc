"""`SACBase`: what soft actor-critic with memoryless (`SACAgent`) and recurrent
(`RecurrentSACAgent`) actors share: the action codec, the temperatures, the optimizers, the
acting state, checkpoints, and one update, which reads top to bottom here:

    _update            after warm-up, `utd_ratio` gradient steps per new env step, one graph call
      _updates         a tf.while_loop of gradient steps (stops at the first non-finite loss)
        _gradient_step the sibling's `_gradients` on one batch of its own replay, then Adam on
                       the critics, the actor and the temperatures, then Polyak averaging

The siblings say what differs: the replay they keep (`_make_buffer`, `_add`), their critics
(`_build_critics`), and the losses of one batch (`_gradients`)."""

from __future__ import annotations

import abc
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable._random import generator
from reinforceable.agents._off_policy import gradient_burst, update_iteration
from reinforceable.agents.base import Agent
from reinforceable.agents.sac.actor import SACActor, sac_acting_variables
from reinforceable.agents.sac.codec import ActionCodec
from reinforceable.agents.sac.losses import polyak_average, temperature_loss
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec

__all__ = ["Gradients", "SACBase"]


class Gradients(NamedTuple):
    """One update's gradients and what its metrics report."""

    critic: list
    actor: list
    alpha: list
    losses: tf.Tensor
    """`[critic loss, actor loss, temperature loss]`."""
    q_mean: tf.Tensor
    entropy_continuous: tf.Tensor
    entropy_discrete: tf.Tensor
    """`[H]`."""


class SACBase(Agent):
    """The shared part of `SACAgent` and `RecurrentSACAgent` (see the module's docstring); not
    an agent by itself. Its arguments are theirs: the actor model, the `EnvSpec` (or an
    `Environment`), the config and, for `SACAgent`, a custom critic."""

    actor_class = SACActor
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
        log_alpha = float(np.log(config.initial_temperature))
        self.log_alpha_continuous = tf.Variable(log_alpha, name="log_alpha_continuous")
        # One temperature per discrete head, `[H]` (H = 0 without a discrete part).
        self.log_alpha_discrete = tf.Variable(
            np.full([len(self.codec.classes)], log_alpha, np.float32), name="log_alpha_discrete"
        )
        continuous_dim = self.codec.continuous_dim
        self.target_entropy_continuous = (
            -float(continuous_dim) if config.target_entropy is None else config.target_entropy
        )
        self.target_entropy_discrete = config.discrete_target_entropy_ratio * np.log(
            np.array(self.codec.classes, np.float32)
        ).astype(np.float32)
        # (discrete, continuous) weights of the entropy bonuses in the critics' target.
        self.entropy_backup = config.entropy_backup(
            hybrid=bool(continuous_dim) and bool(self.codec.classes)
        )
        self.actor_optimizer = keras.optimizers.Adam(config.learning_rate)
        self.critic_optimizer = keras.optimizers.Adam(config.learning_rate)
        self.alpha_optimizer = keras.optimizers.Adam(config.learning_rate)
        self._critic_variables = [v for c in self._critic_models() for v in c.trainable_variables]
        self._alpha_variables = [self.log_alpha_continuous, self.log_alpha_discrete]
        self.actor_optimizer.build(actor_model.trainable_variables)
        self.critic_optimizer.build(self._critic_variables)
        self.alpha_optimizer.build(self._alpha_variables)

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

    # ---------------------------------------------------------------- what the siblings implement

    @abc.abstractmethod
    def _check_actor(self, actor: keras.Model) -> None:
        """Refuses an actor of the wrong kind (memoryless or recurrent)."""

    @abc.abstractmethod
    def _example_distributions(self, example):
        """The actor's distribution nest for the example timestep (for the codec's checks)."""

    @abc.abstractmethod
    def _build_critics(self, spec: EnvSpec, critic: keras.Model | None) -> None:
        """Sets `critics` and `target_critics` (and whatever else `_critic_models` lists)."""

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
    def _gradients(self, seed, batch=None) -> Gradients:
        """The gradients of one update on a batch (sampled from the replay with `seed`, or
        `batch` from a shared replay)."""

    # ---------------------------------------------------------------------------- contract

    def acting_variables(self) -> dict[str, tf.Variable]:
        # The warm-up flag follows the env steps observed so far.
        self._warmup.assign(self.env_steps < self.config.warmup_steps)
        return sac_acting_variables(self.model, self._warmup)

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

    def _temperatures(self):
        """`(α_c, α_d [H])`."""
        return tf.exp(self.log_alpha_continuous), tf.exp(self.log_alpha_discrete)

    def _temperature_loss(self, log_pc, entropy_d, weights=None):
        continuous = temperature_loss(
            self.log_alpha_continuous, -log_pc, self.target_entropy_continuous, weights
        ) * float(self.codec.continuous_dim > 0)
        discrete = temperature_loss(
            self.log_alpha_discrete, entropy_d, self.target_entropy_discrete, weights
        )
        return continuous + discrete

    def _gradients_of(
        self, tape, critic_grads, q_loss, pi_loss, alpha_loss, q, log_pc, entropy_d
    ) -> Gradients:
        """The actor's and temperatures' gradients from the (persistent) `tape`, with the rest."""
        actor_grads = tape.gradient(pi_loss, self.model.trainable_variables)
        alpha_grads = tape.gradient(alpha_loss, self._alpha_variables)
        del tape
        return Gradients(
            critic_grads,
            actor_grads,
            alpha_grads,
            tf.stack([q_loss, pi_loss, alpha_loss]),
            tf.reduce_mean(q),
            tf.reduce_mean(-log_pc),
            tf.reduce_mean(entropy_d, axis=0),
        )

    def _gradient_step(self, seed, batch=None):
        """One update of the critics, the actor and the temperatures (skipped if a loss is not
        finite); returns whether it was applied and the metrics."""
        config = self.config
        grads = self._gradients(seed, batch)
        actor_variables = self.model.trainable_variables
        finite = tf.reduce_all(tf.math.is_finite(grads.losses))

        def apply():
            self.critic_optimizer.apply_gradients(
                zip(grads.critic, self._critic_variables, strict=True)
            )
            actor_pairs = [
                (g, v) for g, v in zip(grads.actor, actor_variables, strict=True) if g is not None
            ]
            self.actor_optimizer.apply_gradients(actor_pairs)
            if config.learn_temperature:
                pairs = [
                    (g, v)
                    for g, v in zip(grads.alpha, self._alpha_variables, strict=True)
                    if g is not None
                ]
                if pairs:
                    self.alpha_optimizer.apply_gradients(pairs)
            for critic, target_critic in zip(
                self._critic_models(), self._target_critic_models(), strict=True
            ):
                for weight, target_weight in zip(
                    critic.weights, target_critic.weights, strict=True
                ):
                    target_weight.assign(polyak_average(target_weight, weight, config.tau))
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))
        alpha_c, alpha_d = self._temperatures()
        parts = [grads.losses[:2], grads.q_mean[None]]
        if self.codec.continuous_dim:
            parts.append(tf.stack([alpha_c, grads.entropy_continuous]))
        metrics = tf.concat([*parts, alpha_d, grads.entropy_discrete], 0)
        return finite, metrics

    @property
    def _metric_names(self) -> list[str]:
        names = ["losses/critic_loss", "losses/actor_loss", "losses/q_mean"]
        if self.codec.continuous_dim:
            names += ["losses/alpha_continuous", "losses/entropy_continuous"]
        names += [f"losses/alpha_{name}" for name in self.codec.discrete_names]
        names += [f"losses/entropy_{name}" for name in self.codec.discrete_names]
        return names

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
        return {
            "actor": self.model,
            "critic_0": self.critics[0],
            "critic_1": self.critics[1],
            "target_critic_0": self.target_critics[0],
            "target_critic_1": self.target_critics[1],
            "log_alpha_continuous": self.log_alpha_continuous,
            "log_alpha_discrete": self.log_alpha_discrete,
            "actor_optimizer": self.actor_optimizer,
            "critic_optimizer": self.critic_optimizer,
            "alpha_optimizer": self.alpha_optimizer,
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "rng": self.rng,
        }
