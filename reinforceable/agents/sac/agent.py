"""`SACAgent`: soft actor-critic for continuous, discrete and hybrid action spaces (the wiring;
the action codec, the critics and the losses have modules of their own)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance, config_or_default
from reinforceable._random import generator
from reinforceable.agents.base import Agent, Collection
from reinforceable.agents.errors import TrainingDivergedError
from reinforceable.agents.sac.actor import SACActor, sac_acting_variables
from reinforceable.agents.sac.codec import ActionCodec
from reinforceable.agents.sac.config import SACConfig
from reinforceable.agents.sac.losses import (
    actor_loss,
    critic_loss,
    polyak_average,
    soft_q_target,
    soft_state_value,
    temperature_loss,
)
from reinforceable.agents.sac.networks import critics_from, features, features_dim
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.layers.recurrent_state import recurrent_layers
from reinforceable.ops.returns import n_step_returns
from reinforceable.replay.buffer import ReplayBuffer

__all__ = ["SACAgent"]


class SACAgent(Agent):
    """Soft actor-critic (SAC v2) for continuous, discrete and hybrid action spaces.

    The actor is a memoryless Keras model whose output is a nest of distributions shaped like the
    action space (or a dict with an `"action"` entry holding it): a `DenseCategorical` head for
    each `Discrete` part and a `DenseNormal` head (best with `hard_bounds=True`, a tanh-squashed
    `BoundedNormal`) for each `Box` part. `rf.networks.sac_actor(env)` builds one. The agent builds
    two critics and their Polyak-averaged targets that take the observation, the continuous
    action and a one-hot code of the discrete choice (`ActionCodec`): MLPs of `config.hidden`
    units, or copies of a `critic` you supply.

    Losses (see `losses.py`): the soft state value sums exactly over the discrete choices
    (Christodoulou, 2019) and samples the continuous part; each discrete head and the continuous
    part have temperatures of their own, each learned towards its target entropy (Delalleau et
    al., 2019). Purely continuous and purely discrete spaces are the special cases. Where an
    action ends the episode (a "done" switch), `SACConfig(backup_entropy=False)` avoids the
    survival bias of the entropy bonus.

    `observe(trajectory)` stores the trajectory's real transitions as `n_step`-step returns (at
    a truncation, the next observation is the final one) in a `ReplayBuffer` in TF variables
    (checkpointed, so a resumed run keeps its data). `update()` makes, once `warmup_steps` env
    steps have been collected, `utd_ratio` gradient updates per env step observed since the last
    update, all in one graph call. The metrics include each temperature and entropy
    (`losses/alpha_<head>`, `losses/entropy_<head>`). The actor (`SACActor`) draws uniformly
    random actions while the acting state's warm-up flag is set.

    Args:
        actor: The actor model.
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
    actor_class = SACActor

    def __init__(
        self,
        actor: keras.Model,
        env: EnvSpec | Environment,
        config: SACConfig | None = None,
        critic: keras.Model | None = None,
    ):
        check_instance("SACAgent", "actor", actor, keras.Model, "a keras.Model")
        if recurrent_layers(actor):
            raise ValueError("SACAgent: the actor must be memoryless (no StatefulRNN layers).")
        if critic is not None:
            check_instance("SACAgent", "critic", critic, keras.Model, "a keras.Model or None")
        spec = self._init_spec(env, "SACAgent")
        self.config = config = config_or_default("SACAgent", config, SACConfig)
        self.model = actor
        self.num_envs = spec.num_envs
        self.schedule_steps = None
        self.actor_policy = KerasPolicy(actor)  # the learner's view, for the losses
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        self.actor_policy.build(example)
        distributions, _ = self.actor_policy.distributions(example.observation)
        self.codec = ActionCodec(spec.action_space, spec.action_spec, distributions)

        input_dim = features_dim(spec.observation_spec) + self.codec.action_dim
        self.custom_critic = critic
        self.critics, self.target_critics = critics_from(critic, input_dim, config.hidden)
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
        self.actor_optimizer = keras.optimizers.Adam(config.learning_rate)
        self.critic_optimizer = keras.optimizers.Adam(config.learning_rate)
        self.alpha_optimizer = keras.optimizers.Adam(config.learning_rate)
        self._critic_variables = [v for c in self.critics for v in c.trainable_variables]
        self._alpha_variables = [self.log_alpha_continuous, self.log_alpha_discrete]
        self.actor_optimizer.build(actor.trainable_variables)
        self.critic_optimizer.build(self._critic_variables)
        self.alpha_optimizer.build(self._alpha_variables)

        item_spec = {
            "observation": spec.observation_spec,
            "action": spec.action_spec,
            "reward": tf.TensorSpec([], tf.float32),
            "next_observation": spec.observation_spec,
            "discount": tf.TensorSpec([], tf.float32),
        }
        self.buffer = ReplayBuffer(item_spec, config.buffer_capacity)
        self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="env_steps")
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
        self.rng = generator(config.seed)
        self._warmup = tf.Variable(config.warmup_steps > 0, trainable=False, name="warmup")
        self._new_steps = 0  # env steps observed since the last update
        self._add_graph = tf.function(self._add, autograph=False, reduce_retracing=True)
        self._update_graph = tf.function(self._updates, autograph=False)
        self._build_actor()

    # ---------------------------------------------------------------------------- contract

    @property
    def collection(self) -> Collection:
        """`steps_per_iteration` steps per environment."""
        return Collection(steps_per_env=self.config.steps_per_iteration)

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

    def _add(self, trajectory: Trajectory):
        returns, discounts, next_index = n_step_returns(
            trajectory.reward,
            trajectory.terminated,
            trajectory.truncated,
            trajectory.valid,
            self.config.discount,
            self.config.n_step,
        )

        columns = tf.zeros_like(next_index) + tf.range(tf.shape(next_index)[1])[None]
        where = tf.stack([next_index, columns], -1)  # [T, B, 2]

        def following(rows, last):
            # Row t, column b of the result is row next_index[t, b] of [rows; last], column b.
            return tf.gather_nd(tf.concat([rows, last[None]], 0), where)

        next_observation = tf.nest.map_structure(
            following, trajectory.observation, trajectory.next_timestep.observation
        )
        items = {
            "observation": trajectory.observation,
            "action": trajectory.action,
            "reward": returns,
            "next_observation": next_observation,
            "discount": discounts,
        }
        valid = tf.reshape(trajectory.valid, [-1])

        def flat_valid(x):
            x = tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))
            return tf.boolean_mask(x, valid)

        self.buffer.add(tf.nest.map_structure(flat_valid, items))
        self.env_steps.assign_add(tf.size(trajectory.reward, tf.int64))

    def _sample_actor(self, observation, seed):
        distributions, _ = self.actor_policy.distributions(observation)
        batch = tf.shape(tf.nest.flatten(observation)[0])[0]
        return self.codec.sample(distributions, batch, seed)

    def _gradient_step(self, seed):
        """One update of the critics, the actor and the temperatures on a replay batch."""
        config, codec = self.config, self.codec
        sample_seed, next_seed, actor_seed = tf.unstack(tf.random.split(seed, 3))
        batch = self.buffer.sample(config.batch_size, sample_seed)
        alpha_c = tf.exp(self.log_alpha_continuous)
        alpha_d = tf.exp(self.log_alpha_discrete)

        next_features = features(batch["next_observation"])
        next_c, next_log_pc, next_pd, next_entropy = self._sample_actor(
            batch["next_observation"], next_seed
        )
        next_q = codec.q_all(self.target_critics, next_features, next_c)
        backup = float(config.backup_entropy)
        next_value = soft_state_value(
            next_q, next_pd, next_entropy, next_log_pc, backup * alpha_d, backup * alpha_c
        )
        # The stored discount is γ^n, or 0 where the episode terminated within the n steps.
        target = soft_q_target(batch["reward"], batch["discount"], False, next_value)

        observation_features = features(batch["observation"])
        stored_c, stored_d = codec.encode(batch["action"])
        inputs = tf.concat([observation_features, stored_c, stored_d], 1)
        with tf.GradientTape() as tape:
            qs = [critic(inputs) for critic in self.critics]
            q_loss = critic_loss(qs, target)
        critic_grads = tape.gradient(q_loss, self._critic_variables)

        actor_variables = self.model.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            c, log_pc, pd, entropy_d = self._sample_actor(batch["observation"], actor_seed)
            q = codec.q_all(self.critics, observation_features, c)
            pi_loss = actor_loss(q, pd, entropy_d, log_pc, alpha_d, alpha_c)
            alpha_loss = temperature_loss(
                self.log_alpha_continuous, -log_pc, self.target_entropy_continuous
            ) * float(codec.continuous_dim > 0) + temperature_loss(
                self.log_alpha_discrete, entropy_d, self.target_entropy_discrete
            )
        actor_grads = tape.gradient(pi_loss, actor_variables)
        alpha_grads = tape.gradient(alpha_loss, self._alpha_variables)
        del tape
        losses = tf.stack([q_loss, pi_loss, alpha_loss])
        finite = tf.reduce_all(tf.math.is_finite(losses))

        def apply():
            self.critic_optimizer.apply_gradients(
                zip(critic_grads, self._critic_variables, strict=True)
            )
            actor_pairs = [
                (g, v) for g, v in zip(actor_grads, actor_variables, strict=True) if g is not None
            ]
            self.actor_optimizer.apply_gradients(actor_pairs)
            if config.learn_temperature:
                pairs = [
                    (g, v)
                    for g, v in zip(alpha_grads, self._alpha_variables, strict=True)
                    if g is not None
                ]
                if pairs:
                    self.alpha_optimizer.apply_gradients(pairs)
            for critic, target_critic in zip(self.critics, self.target_critics, strict=True):
                for weight, target_weight in zip(
                    critic.weights, target_critic.weights, strict=True
                ):
                    target_weight.assign(polyak_average(target_weight, weight, config.tau))
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))
        parts = [tf.stack([q_loss, pi_loss, tf.reduce_mean(qs[0])])]
        if codec.continuous_dim:
            parts.append(tf.stack([alpha_c, tf.reduce_mean(-log_pc)]))
        metrics = tf.concat([*parts, alpha_d, tf.reduce_mean(entropy_d, axis=0)], 0)
        return finite, metrics

    @property
    def _metric_names(self) -> list[str]:
        names = ["losses/critic_loss", "losses/actor_loss", "losses/q_mean"]
        if self.codec.continuous_dim:
            names += ["losses/alpha_continuous", "losses/entropy_continuous"]
        names += [f"losses/alpha_{name}" for name in self.codec.discrete_names]
        names += [f"losses/entropy_{name}" for name in self.codec.discrete_names]
        return names

    def _updates(self, num_updates):
        seed = self.rng.uniform_full_int([2], tf.int32)

        def keep_going(u, ok, totals):
            return (u < num_updates) & ok

        def body(u, ok, totals):
            finite, metrics = self._gradient_step(tf.stack([seed[0], seed[1] + u]))
            return u + 1, finite, totals + tf.where(finite, metrics, 0.0)

        done, ok, totals = tf.while_loop(
            keep_going,
            body,
            (tf.constant(0), tf.constant(True), tf.zeros([len(self._metric_names)])),
        )
        applied = tf.cast(done, tf.float32) - tf.cast(~ok, tf.float32)
        return ok, totals / tf.maximum(applied, 1.0), applied

    def _observe(self, trajectory: Trajectory) -> None:
        """Stores the trajectory's transitions (n-step returns) in the replay buffer."""
        self._add_graph(trajectory)
        self._new_steps += int(tf.size(trajectory.reward))

    def _update(self) -> dict[str, float]:
        """After warm-up, `utd_ratio` gradient updates per env step observed since the last
        update; returns the metrics.

        Raises:
            TrainingDivergedError: If a loss became NaN or infinite (that update is not applied).
        """
        new_steps, self._new_steps = self._new_steps, 0
        self.iterations.assign_add(1)
        env_steps = int(self.env_steps.numpy())
        if env_steps < self.config.warmup_steps or int(self.buffer.size) < self.config.batch_size:
            return {"losses/updates": 0.0, "charts/buffer_size": float(self.buffer.size)}
        num_updates = max(1, round(self.config.utd_ratio * new_steps))
        ok, metrics, applied = self._update_graph(tf.constant(num_updates))
        if not bool(ok):
            raise TrainingDivergedError(
                "SACAgent: a loss became NaN or infinite at iteration "
                f"{int(self.iterations.numpy())} "
                f"(after {env_steps} env steps); that update was not applied."
            )
        result = {
            name: float(v) for name, v in zip(self._metric_names, metrics.numpy(), strict=True)
        }
        result["losses/updates"] = float(applied)
        result["charts/buffer_size"] = float(self.buffer.size)
        return result

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
