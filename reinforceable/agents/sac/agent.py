"""`SACAgent`: soft actor-critic for continuous, discrete and hybrid action spaces with a
memoryless actor, learned from n-step transitions (the shared update is `SACBase`'s; the action
codec, the critics and the losses have modules of their own)."""

from __future__ import annotations

import keras
import tensorflow as tf

from reinforceable.agents.sac.base import Gradients, SACBase
from reinforceable.agents.sac.config import SACConfig
from reinforceable.agents.sac.losses import (
    actor_loss,
    critic_loss,
    soft_q_target,
    soft_state_value,
)
from reinforceable.agents.sac.networks import critics_from, features, features_dim
from reinforceable.agents.sac.shared import SharedReplayLearning
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.layers.noisy_dense import sampled_noise
from reinforceable.layers.recurrent_state import recurrent_layers

__all__ = ["SACAgent"]


class SACAgent(SharedReplayLearning, SACBase):
    """Soft actor-critic (SAC v2) for continuous, discrete and hybrid action spaces.

    The actor is a memoryless Keras model whose output is a nest of distributions shaped like the
    action space (or a dict with an `"action"` entry holding it): a `DenseCategorical` head for
    each `Discrete` part and a `DenseNormal` head (best with `hard_bounds=True`, a tanh-squashed
    `BoundedNormal`) for each `Box` part. `rf.networks.sac_actor(env)` builds one. The agent builds
    two critics and their Polyak-averaged targets that take the observation, the continuous
    action and a one-hot code of the discrete choice (`ActionCodec`): MLPs of `config.hidden`
    units, or copies of a `critic` you supply. The default critics encode an observation that is
    not a flat float `Box` as the ready-made actors do (one-hot, the Nature CNN for images, an
    encoder per `Dict` key; `reinforceable.networks.observation_encoder`).

    Losses (see `losses.py`): the soft state value sums exactly over the discrete choices
    (Christodoulou, 2019) and samples the continuous part; each discrete head and the continuous
    part have temperatures of their own, each learned towards its target entropy (Delalleau et
    al., 2019). Purely continuous and purely discrete spaces are the special cases. Where an
    action ends the episode (a stop, a "done" switch), a bonus in the critics' target biases
    it, so by default (`SACConfig.backup_entropy="auto"`) the discrete heads' bonus stays out of
    the target, and a hybrid action's continuous bonus too.

    `observe(trajectory)` stores the trajectory's real transitions as `n_step`-step returns (at
    a truncation, the next observation is the final one) in a `ReplayBuffer` in TF variables
    (checkpointed, so a resumed run keeps its data). `update()` makes, once `warmup_steps` env
    steps have been collected, `utd_ratio` gradient updates per env step observed since the last
    update, all in one graph call. The metrics include each temperature and entropy
    (`losses/alpha_<head>`, `losses/entropy_<head>`). The actor (`SACActor`) draws uniformly
    random actions while the acting state's warm-up flag is set.

    Args:
        actor_model: The actor's Keras model (what `agent.actor`, the acting side, acts with;
            the learner scores it through `agent.learner_policy`).
        env: The `EnvSpec` (or an `Environment`, whose spec is taken and which `fit` then uses
            by default).
        config: A `SACConfig`.
        critic: A Keras model `[batch, features + C + Σ n_h] -> [batch]` to use (four fresh
            copies: twin critics and targets) instead of the default MLP.

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For an action space the actor's heads do not cover (a head of the wrong kind,
            a `MultiDiscrete`/`MultiBinary` part: the message names the part), a recurrent
            actor, or a critic of the wrong input or output shape.

    Example:
        >>> env = rf.GymEnv("Pendulum-v1", num_envs=1, seed=0)
        >>> agent = SACAgent(rf.networks.sac_actor(env), env, SACConfig(learning_rate=1e-3))
        >>> agent.fit(20_000)
    """

    config_class = SACConfig

    def _check_actor(self, actor: keras.Model) -> None:
        if recurrent_layers(actor):
            raise ValueError(
                "SACAgent: the actor has StatefulRNN layers; SACAgent needs a memoryless actor "
                "(use RecurrentSACAgent for a recurrent one)."
            )

    def _build_critics(self, spec: EnvSpec, critic: keras.Model | None) -> None:
        input_dim = features_dim(spec.observation_spec) + self.codec.action_dim
        config = self.config
        self.critics, self.target_critics = critics_from(
            critic,
            input_dim,
            config.hidden,
            observation_space=spec.observation_space,
            count=config.n_critics,
            dropout=config.critic_dropout,
            batch_renorm=config.crossq,
        )

    def _sample_actor(self, observation, seed):
        batch = tf.shape(tf.nest.flatten(observation)[0])[0]
        # NoisyDense layers (none in most actors) act with fresh noise per row.
        noise_seed = tf.random.experimental.stateless_fold_in(seed, 1)
        with sampled_noise(self.model, batch, noise_seed):
            distributions, _ = self.learner_policy.distributions(observation)
        return self.codec.sample(distributions, batch, seed)

    def _crossq_critic_step(self, inputs, next_inputs, target_of, subset):
        """CrossQ's critic loss (Bhatt et al. 2024): no target critics; the current
        state-actions `inputs` `[B, F]` and the next ones `next_inputs` `[B * K, F]` (every
        discrete combination) go through each critic in one batch in training mode, so their
        batch renormalisation sees both, and the next values, without gradient, make the
        target. Returns `(qs, loss, gradients)`."""
        rows = tf.shape(inputs)[0]
        joint = tf.concat([inputs, next_inputs], 0)
        with tf.GradientTape() as tape:
            outputs = [critic(joint, training=True) for critic in self.critics]
            qs = [q[:rows] for q in outputs]
            next_qs = tf.stack(
                [self.codec.per_combination(tf.stop_gradient(q[rows:]), rows) for q in outputs]
            )
            target = target_of(self.codec.reduce_critics(next_qs, "min", subset))
            q_loss = critic_loss(qs, target)
        return qs, q_loss, tape.gradient(q_loss, self._critic_variables)

    def _gradients(self, seed, batch=None) -> Gradients:
        """The gradients of one update on a batch of transitions (by default from the buffer)."""
        codec = self.codec
        sample_seed, next_seed, actor_seed = tf.unstack(tf.random.split(seed, 3))
        batch = self._learning_batch(sample_seed, batch)
        alpha_c, alpha_d = self._temperatures()

        next_features = features(batch["next_observation"])
        next_c, next_log_pc, next_pd, next_entropy = self._sample_actor(
            batch["next_observation"], next_seed
        )
        training, subset = self._critic_training, self._critic_subset(seed)
        backup_d, backup_c = self.entropy_backup

        def target_of(next_q):
            next_value = soft_state_value(
                next_q, next_pd, next_entropy, next_log_pc, backup_d * alpha_d, backup_c * alpha_c
            )
            # The stored discount is γ^n, or 0 where the episode terminated within the n steps.
            return soft_q_target(batch["reward"], batch["discount"], False, next_value)

        observation_features = features(batch["observation"])
        stored_c, stored_d = codec.encode(batch["action"])
        inputs = tf.concat([observation_features, stored_c, stored_d], 1)
        if self.config.crossq:
            next_inputs = codec.q_inputs(next_features, next_c)
            qs, q_loss, critic_grads = self._crossq_critic_step(
                inputs, next_inputs, target_of, subset
            )
        else:
            next_q = codec.q_all(
                self.target_critics, next_features, next_c, subset=subset, training=training
            )
            target = target_of(next_q)
            with tf.GradientTape() as tape:
                qs = [critic(inputs, training=training) for critic in self.critics]
                q_loss = critic_loss(qs, target)
            critic_grads = tape.gradient(q_loss, self._critic_variables)

        # CrossQ's actor sees the critics' normalisation in inference mode.
        actor_training = False if self.config.crossq else training
        with tf.GradientTape(persistent=True) as tape:
            c, log_pc, pd, entropy_d = self._sample_actor(batch["observation"], actor_seed)
            q = codec.q_all(
                self.critics, observation_features, c, self._actor_reduce, training=actor_training
            )
            pi_loss = actor_loss(q, pd, entropy_d, log_pc, alpha_d, alpha_c)
            alpha_loss = self._temperature_loss(log_pc, entropy_d)
        return self._gradients_of(
            tape, critic_grads, q_loss, pi_loss, alpha_loss, qs[0], log_pc, entropy_d
        )
