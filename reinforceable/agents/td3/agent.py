"""`TD3Agent` and `DDPGAgent`: deterministic off-policy actor-critics on the replay actor-critic
skeleton that SAC uses (`ReplayActorCritic`: replay, codec, update loop, checkpoints)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from reinforceable.agents.sac.losses import critic_loss, soft_q_target
from reinforceable.agents.sac.networks import critics_from, features, features_dim
from reinforceable.agents.sac.replay_actor_critic import ReplayActorCritic
from reinforceable.agents.sac.shared import SharedReplayLearning
from reinforceable.agents.td3.actor import TD3Actor, action_bounds
from reinforceable.agents.td3.config import DDPGConfig, TD3Config
from reinforceable.agents.td3.losses import deterministic_policy_loss, smoothed_target_action
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.layers.noisy_dense import sampled_noise
from reinforceable.layers.recurrent_state import recurrent_layers

__all__ = ["DDPGAgent", "TD3Agent"]


class TD3Agent(SharedReplayLearning, ReplayActorCritic):
    """Twin delayed DDPG (Fujimoto et al. 2018) for Box actions (and Dict/Tuple nests of them).

    The actor is a memoryless Keras model whose output is a nest of distribution heads shaped
    like the action space, as for `SACAgent` (`rf.networks.sac_actor(env)` builds one); TD3
    acts with and learns each head's mode `μ(s)` (for a tanh-bounded `DenseNormal`, the squashed
    location), so the heads' scales are unused. The agent keeps a Polyak-averaged copy of the
    actor (the target actor) and `n_critics` critics with their targets: MLPs of
    `config.hidden` units over the observation's features and the action, or copies of a
    `critic` you supply.

    One gradient step (`_gradient_step`): the target `y = r + γ^n min_i Q'_i(s', a')` with the
    target actor's smoothed action `a'` (`losses.smoothed_target_action`), the critics' squared
    error against it; every `policy_delay`-th critic step, the actor ascends `Q_1(s, μ(s))`
    (an actor with `NoisyDense` layers with fresh noise per batch row, so that their scales
    learn; the target actor uses their means) and the targets move `tau` towards their models.
    `DDPGAgent` is the case of one critic, no delay and no smoothing.

    Collection, replay and updates are SAC's: `observe` stores n-step transitions (bootstrapping
    from the final observation at a truncation) in a checkpointed `ReplayBuffer`; `update` makes
    `utd_ratio` critic steps per new env step after `warmup_steps` random steps; shared replay
    over Ray runners works as for `SACAgent`. The actor (`TD3Actor`) adds Gaussian or
    Ornstein-Uhlenbeck noise (`config.exploration`) to `μ(s)`, or none for an actor that explores
    by itself; `eval_policy` and `predict` act with `μ(s)`.

    Args:
        actor_model: The actor's Keras model.
        env: The `EnvSpec` (or an `Environment`, which `fit` then uses by default).
        config: A `TD3Config` (`DDPGConfig` for `DDPGAgent`).
        critic: A Keras model `[batch, features + C] -> [batch]` to copy (each critic and
            target) instead of the default MLP.

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For an action space with a part that is not a Box, a recurrent actor, heads
            that do not fit the action space, or a critic of the wrong input or output shape.

    Example:
        >>> env = rf.GymEnv("Pendulum-v1", num_envs=1, seed=0)
        >>> agent = TD3Agent(rf.networks.sac_actor(env, hidden=(400, 300)), env)
        >>> agent.fit(20_000)
    """

    config_class = TD3Config
    actor_class = TD3Actor

    def _check_actor(self, actor: keras.Model) -> None:
        if recurrent_layers(actor):
            raise ValueError(
                f"{type(self).__name__}: the actor has StatefulRNN layers; TD3 and DDPG need a "
                "memoryless actor (RecurrentSACAgent learns with a recurrent one)."
            )

    def _build_critics(self, spec: EnvSpec, critic: keras.Model | None) -> None:
        owner = type(self).__name__
        self._low, self._high, self._half = action_bounds(spec.action_space, owner)
        input_dim = features_dim(spec.observation_spec) + self.codec.action_dim
        self.critics, self.target_critics = critics_from(
            critic,
            input_dim,
            self.config.hidden,
            owner,
            observation_space=spec.observation_space,
            count=self.config.n_critics,
        )

    def _build_learner_parts(self) -> None:
        """The target actor (a copy of the actor) and the count of critic updates."""
        self.target_model = keras.models.clone_model(self.model)
        self.target_model.set_weights(self.model.get_weights())
        self.target_policy = KerasPolicy(self.target_model)
        example = tf.nest.map_structure(tf.convert_to_tensor, self.spec.example_timestep())
        self.target_policy.build(example)
        self.critic_updates = tf.Variable(0, dtype=tf.int64, trainable=False)

    # ---------------------------------------------------------------------------- learning

    def _action(self, policy: KerasPolicy, observation) -> tf.Tensor:
        """`μ(s)`, `[B, C]`: each head's mode, flattened and concatenated."""
        distributions, _ = policy.distributions(observation)
        batch = tf.shape(tf.nest.flatten(observation)[0])[0]
        return tf.concat(
            [tf.reshape(d.mode(), [batch, -1]) for d in tf.nest.flatten(distributions)], 1
        )

    def _gradient_step(self, seed, batch=None):
        """A critic step; every `policy_delay`-th, an actor step and the targets' Polyak step."""
        config = self.config
        sample_seed, noise_seed = tf.unstack(tf.random.split(seed, 2))
        batch = self._learning_batch(sample_seed, batch)
        next_action = self._action(self.target_policy, batch["next_observation"])
        next_action = smoothed_target_action(
            next_action,
            tf.random.stateless_normal(tf.shape(next_action), noise_seed),
            config.target_noise,
            config.target_noise_clip,
            self._half,
            self._low,
            self._high,
        )
        next_in = tf.concat([features(batch["next_observation"]), next_action], 1)
        next_q = tf.reduce_min(tf.stack([c(next_in) for c in self.target_critics]), axis=0)
        # The stored discount is γ^n, or 0 where the episode terminated within the n steps.
        target = soft_q_target(batch["reward"], batch["discount"], False, next_q)
        observation_features = features(batch["observation"])
        stored, _ = self.codec.encode(batch["action"])
        with tf.GradientTape() as tape:
            qs = [c(tf.concat([observation_features, stored], 1)) for c in self.critics]
            q_loss = critic_loss(qs, target)
        critic_grads = tape.gradient(q_loss, self._critic_variables)
        finite = tf.math.is_finite(q_loss)

        def actor_step():
            variables = self.model.trainable_variables
            rows = tf.shape(observation_features)[0]
            noise_seed_actor = tf.random.experimental.stateless_fold_in(seed, 1)
            with tf.GradientTape() as tape, sampled_noise(self.model, rows, noise_seed_actor):
                action = self._action(self.learner_policy, batch["observation"])
                q = self.critics[0](tf.concat([observation_features, action], 1))
                pi_loss = deterministic_policy_loss(q)
            grads = tape.gradient(pi_loss, variables)
            ok = tf.math.is_finite(pi_loss)

            def apply():
                self._apply(self.actor_optimizer, grads, variables)
                self._update_targets()
                self._update_targets([(self.model, self.target_model)])
                return tf.constant(True)

            return tf.cond(ok, apply, lambda: tf.constant(False)), pi_loss, tf.constant(1.0)

        def apply():
            self._apply(self.critic_optimizer, critic_grads, self._critic_variables)
            count = self.critic_updates.assign_add(1)
            due = tf.equal(count % config.policy_delay, 0)
            skip = (tf.constant(True), tf.constant(0.0), tf.constant(0.0))
            return tf.cond(due, actor_step, lambda: skip)

        failed = (tf.constant(False), tf.constant(np.nan), tf.constant(0.0))
        ok, pi_loss, actor_ran = tf.cond(finite, apply, lambda: failed)
        # The actor's loss counts where an actor step ran (`_update` divides by their share).
        metrics = tf.stack([q_loss, pi_loss * actor_ran, actor_ran, tf.reduce_mean(qs[0])])
        return finite & ok, metrics

    @property
    def _metric_names(self) -> list[str]:
        return ["losses/critic_loss", "losses/actor_loss", "losses/actor_updates", "losses/q_mean"]

    def _update(self, replay=None) -> dict[str, float]:
        metrics = super()._update(replay)
        if "losses/actor_updates" in metrics:
            share = metrics["losses/actor_updates"]
            metrics["losses/actor_loss"] = metrics["losses/actor_loss"] / max(share, 1e-8)
            metrics["losses/actor_updates"] = share * metrics["losses/updates"]
        return metrics

    # ---------------------------------------------------------------------------- state

    def saved_state(self) -> dict[str, Any]:
        return {
            **super().saved_state(),
            "target_actor": self.target_model,
            "critic_updates": self.critic_updates,
        }


class DDPGAgent(TD3Agent):
    """Deep deterministic policy gradient (Lillicrap et al. 2016) as SB3 runs it: `TD3Agent`
    with `DDPGConfig`'s defaults (one critic, an actor step after every critic step, no target
    policy smoothing). Arguments, errors and example as `TD3Agent`'s."""

    config_class = DDPGConfig
