"""`SACAgent`: soft actor-critic for continuous, discrete and hybrid action spaces (the wiring;
the action codec, the critics and the losses have modules of their own)."""

from __future__ import annotations

from typing import Any, NamedTuple

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
from reinforceable.agents.sac.shared import SharedReplayLearning
from reinforceable.agents.sac.transitions import n_step_transitions, transition_spec
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.layers.recurrent_state import recurrent_layers
from reinforceable.replay.buffer import ReplayBuffer

__all__ = ["Gradients", "SACAgent"]


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


class SACAgent(SharedReplayLearning, Agent):
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
    action ends the episode (a stop, a "done" switch), the discrete heads' entropy bonus stays
    out of the critics' target by default (`SACConfig.backup_entropy="continuous"`), which
    avoids its survival bias.

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
    off_policy = True

    def __init__(
        self,
        actor: keras.Model,
        env: EnvSpec | Environment,
        config: SACConfig | None = None,
        critic: keras.Model | None = None,
    ):
        owner = type(self).__name__
        check_instance(owner, "actor", actor, keras.Model, "a keras.Model")
        self._check_actor(actor)
        if critic is not None:
            check_instance(owner, "critic", critic, keras.Model, "a keras.Model or None")
        spec = self._init_spec(env, owner)
        self.config = config = config_or_default(owner, config, self.config_class)
        self.model = actor
        self.num_envs = spec.num_envs
        self.schedule_steps = None
        self.actor_policy = KerasPolicy(actor)  # the learner's view, for the losses
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        self.actor_policy.build(example)
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
        self.actor_optimizer = keras.optimizers.Adam(config.learning_rate)
        self.critic_optimizer = keras.optimizers.Adam(config.learning_rate)
        self.alpha_optimizer = keras.optimizers.Adam(config.learning_rate)
        self._critic_variables = [v for c in self._critic_models() for v in c.trainable_variables]
        self._alpha_variables = [self.log_alpha_continuous, self.log_alpha_discrete]
        self.actor_optimizer.build(actor.trainable_variables)
        self.critic_optimizer.build(self._critic_variables)
        self.alpha_optimizer.build(self._alpha_variables)

        self.buffer = self._make_buffer(spec)
        self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="env_steps")
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
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

    # ---------------------------------------------------------------------------- parts
    # What `RecurrentSACAgent` replays differently: the actor's check, the critics, the buffer
    # and the gradients of one update.

    def _check_actor(self, actor: keras.Model) -> None:
        if recurrent_layers(actor):
            raise ValueError(
                "SACAgent: the actor has StatefulRNN layers; SACAgent needs a memoryless actor "
                "(use RecurrentSACAgent for a recurrent one)."
            )

    def _example_distributions(self, example):
        """The actor's distribution nest for the example timestep (for the codec's checks)."""
        distributions, _ = self.actor_policy.distributions(example.observation)
        return distributions

    def _build_critics(self, spec: EnvSpec, critic: keras.Model | None) -> None:
        """Sets `critics` and `target_critics` (the models whose weights `_polyak` follows)."""
        input_dim = features_dim(spec.observation_spec) + self.codec.action_dim
        self.critics, self.target_critics = critics_from(
            critic, input_dim, self.config.hidden, observation_space=spec.observation_space
        )

    def _critic_models(self) -> list[keras.Model]:
        """Every model the critic loss trains."""
        return list(self.critics)

    def _target_critic_models(self) -> list[keras.Model]:
        """Their Polyak-averaged targets, in the same order."""
        return list(self.target_critics)

    def _make_buffer(self, spec: EnvSpec) -> ReplayBuffer:
        return ReplayBuffer(transition_spec(spec), self.config.buffer_capacity)

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
        transitions = n_step_transitions(trajectory, self.config.discount, self.config.n_step)
        self.buffer.add(transitions)
        self.env_steps.assign_add(tf.size(trajectory.reward, tf.int64))

    def _sample_actor(self, observation, seed):
        distributions, _ = self.actor_policy.distributions(observation)
        batch = tf.shape(tf.nest.flatten(observation)[0])[0]
        return self.codec.sample(distributions, batch, seed)

    def _gradients(self, seed, batch=None) -> Gradients:
        """The gradients of one update on a batch of transitions (by default from the buffer)."""
        config, codec = self.config, self.codec
        sample_seed, next_seed, actor_seed = tf.unstack(tf.random.split(seed, 3))
        if batch is None:
            batch = self.buffer.sample(config.batch_size, sample_seed)
        alpha_c, alpha_d = self._temperatures()

        next_features = features(batch["next_observation"])
        next_c, next_log_pc, next_pd, next_entropy = self._sample_actor(
            batch["next_observation"], next_seed
        )
        next_q = codec.q_all(self.target_critics, next_features, next_c)
        backup_d, backup_c = config.entropy_backup()
        next_value = soft_state_value(
            next_q, next_pd, next_entropy, next_log_pc, backup_d * alpha_d, backup_c * alpha_c
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

        with tf.GradientTape(persistent=True) as tape:
            c, log_pc, pd, entropy_d = self._sample_actor(batch["observation"], actor_seed)
            q = codec.q_all(self.critics, observation_features, c)
            pi_loss = actor_loss(q, pd, entropy_d, log_pc, alpha_d, alpha_c)
            alpha_loss = self._temperature_loss(log_pc, entropy_d)
        return self._gradients_of(
            tape, critic_grads, q_loss, pi_loss, alpha_loss, qs[0], log_pc, entropy_d
        )

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

        def keep_going(u, ok, totals):
            return (u < num_updates) & ok

        def body(u, ok, totals):
            batch = None if batches is None else tf.nest.map_structure(lambda x: x[u], batches)
            finite, metrics = self._gradient_step(tf.stack([seed[0], seed[1] + u]), batch)
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

    def _update(self, replay=None) -> dict[str, float]:
        """After warm-up, `utd_ratio` gradient updates per env step observed since the last
        update; returns the metrics.

        Raises:
            TrainingDivergedError: If a loss became NaN or infinite (that update is not applied).
        """
        new_steps, self._new_steps = self._new_steps, 0
        self.iterations.assign_add(1)
        env_steps = int(self.env_steps.numpy())
        size = int(self.buffer.size) if replay is None else replay.size()
        if env_steps < self.config.warmup_steps or size < self.config.batch_size:
            return {"losses/updates": 0.0, "charts/buffer_size": float(size)}
        num_updates = max(1, round(self.config.utd_ratio * new_steps))
        if replay is None:
            ok, metrics, applied = self._update_graph(tf.constant(num_updates))
        else:
            batches = replay.sample(num_updates, self.config.batch_size)
            ok, metrics, applied = self._shared_update_graph(tf.constant(num_updates), batches)
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
        result["charts/buffer_size"] = float(size)
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
