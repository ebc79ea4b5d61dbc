"""`SACBase`: what soft actor-critic with memoryless (`SACAgent`) and recurrent
(`RecurrentSACAgent`) actors share on top of `ReplayActorCritic` (the replay, the optimizers, the
acting state, checkpoints and the update skeleton): the temperatures and one gradient step,

    _gradient_step  the sibling's `_gradients` on one batch of its own replay, then Adam on the
                    critics, the actor and the temperatures, then Polyak averaging

The siblings say what differs: the replay they keep (`_make_buffer`, `_add`), their critics
(`_build_critics`), and the losses of one batch (`_gradients`)."""

from __future__ import annotations

import abc
from typing import Any, NamedTuple

import keras
import numpy as np
import tensorflow as tf

from reinforceable.agents.sac.actor import SACActor
from reinforceable.agents.sac.losses import temperature_loss
from reinforceable.agents.sac.replay_actor_critic import ReplayActorCritic

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


class SACBase(ReplayActorCritic):
    """The shared part of `SACAgent` and `RecurrentSACAgent` (see the module's docstring); not
    an agent by itself. Its arguments are theirs: the actor model, the `EnvSpec` (or an
    `Environment`), the config and, for `SACAgent`, a custom critic."""

    actor_class = SACActor

    def _build_learner_parts(self) -> None:
        """The temperatures, their targets and optimizer, and the entropy backup."""
        config = self.config
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
        self.alpha_optimizer = keras.optimizers.Adam(config.learning_rate)
        self._alpha_variables = [self.log_alpha_continuous, self.log_alpha_discrete]
        self.alpha_optimizer.build(self._alpha_variables)

    # ---------------------------------------------------------------- what the siblings implement

    @abc.abstractmethod
    def _gradients(self, seed, batch=None) -> Gradients:
        """The gradients of one update on a batch (sampled from the replay with `seed`, or
        `batch` from a shared replay)."""

    # ---------------------------------------------------------------------------- learning

    def _critic_subset(self, seed):
        """REDQ's random subset of the target critics for one update (`[M]` indices drawn from
        `seed`), or None for all of them."""
        size = self.config.critic_subset
        if size is None:
            return None
        seed = tf.random.experimental.stateless_fold_in(seed, 2)
        return tf.argsort(tf.random.stateless_uniform([self.config.n_critics], seed))[:size]

    @property
    def _actor_reduce(self) -> str:
        """How the actor's loss reduces the critics: their minimum, or REDQ's mean."""
        return "min" if self.config.critic_subset is None else "mean"

    @property
    def _critic_training(self) -> bool | None:
        """The critics' `training` argument: True where DroQ's dropout must be on."""
        return True if self.config.critic_dropout else None

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
            self._apply(self.critic_optimizer, grads.critic, self._critic_variables)
            self._apply(self.actor_optimizer, grads.actor, actor_variables)
            if config.learn_temperature:
                self._apply(self.alpha_optimizer, grads.alpha, self._alpha_variables)
            if not config.crossq:  # CrossQ has no target critics
                self._update_targets()
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

    # ---------------------------------------------------------------------------- state

    def saved_state(self) -> dict[str, Any]:
        """The learner state that `save` keeps: everything but the replay buffer."""
        return {
            **super().saved_state(),
            "log_alpha_continuous": self.log_alpha_continuous,
            "log_alpha_discrete": self.log_alpha_discrete,
            "alpha_optimizer": self.alpha_optimizer,
        }
