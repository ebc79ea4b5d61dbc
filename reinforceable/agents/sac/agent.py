"""`SACAgent`: soft actor-critic for continuous, discrete and hybrid action spaces."""

from __future__ import annotations

import itertools
import pathlib
import re
from typing import Any

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable._checks import check_instance, config_or_default
from reinforceable._nest import leaf_paths
from reinforceable._random import generator
from reinforceable.agents._fit import Fit
from reinforceable.agents._saving import read_model_and_config, restore_state, save_agent
from reinforceable.agents.errors import TrainingDivergedError
from reinforceable.agents.sac.config import SACConfig
from reinforceable.agents.sac.losses import soft_q_target, soft_state_value, temperature_loss
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.driver.random_policy import RandomPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.specs import space_leaves
from reinforceable.envs.vector import GymEnv
from reinforceable.layers.stateful_rnn import recurrent_layers
from reinforceable.ops.returns import n_step_returns
from reinforceable.replay.buffer import ReplayBuffer

__all__ = ["SACAgent"]

tfd = tfp.distributions


def _critic(input_dim: int, hidden: tuple[int, ...], name: str) -> keras.Model:
    features = keras.Input((input_dim,))
    x = features
    for units in hidden:
        x = keras.layers.Dense(units, activation="relu")(x)
    q = keras.layers.Reshape(())(keras.layers.Dense(1)(x))
    return keras.Model(features, q, name=name)


class _WarmupPolicy(Policy):
    """Uniformly random actions until the agent has seen `warmup_steps` env steps; then the
    actor's."""

    def __init__(
        self, actor: KerasPolicy, random: RandomPolicy, env_steps: tf.Variable, warmup: int
    ):
        self.actor, self.random, self.env_steps, self.warmup = actor, random, env_steps, warmup

    def build(self, timestep):
        self.actor.build(timestep)

    def initial_state(self, batch_size):
        return self.actor.initial_state(batch_size)

    def step(self, timestep, state, seed):
        step = self.actor.step(timestep, state, seed)
        if not self.warmup:
            return step
        random = self.random.step(timestep, state, tf.random.split(seed, 1)[0]).action
        warm = self.env_steps < self.warmup
        action = tf.nest.map_structure(
            lambda a, r: tf.where(warm, tf.cast(r, a.dtype), a), step.action, random
        )
        return PolicyStep(action=action, state=step.state, extras=step.extras)


class SACAgent(Fit):
    """Soft actor-critic (SAC v2) for continuous, discrete and hybrid action spaces.

    The actor is a memoryless Keras model whose output is a nest of distributions shaped like the
    action space (or a dict with an `"action"` entry holding it): a `DenseCategorical` head for
    each `Discrete` part and a `DenseNormal` head (best with `hard_bounds=True`, a tanh-squashed
    `BoundedNormal`) for each `Box` part. `rf.networks.sac_actor(env)` builds one. The agent builds
    two critics and their Polyak-averaged targets (MLPs of `config.hidden` units) that take the
    observation, the continuous action and a one-hot code of the discrete choice.

    Losses (see `losses.py`): the soft state value sums exactly over the discrete choices
    (Christodoulou, 2019) and samples the continuous part; each discrete head and the continuous
    part have temperatures of their own, each learned towards its target entropy (Delalleau et
    al., 2019). Purely continuous and purely discrete spaces are the special cases. Where an
    action ends the episode (a "done" switch), `SACConfig(backup_entropy=False)` avoids the
    survival bias of the entropy bonus.

    Experience goes to a `ReplayBuffer` in TF variables (checkpointed with the agent, so a resumed
    run keeps its data). `train(trajectory)` stores the trajectory's real transitions as
    `n_step`-step returns (at a truncation, the next observation is the final one) and, once
    `warmup_steps` env steps have been collected, makes `utd_ratio` gradient updates per new env
    step, all in one graph call. The metrics include each temperature and entropy
    (`losses/alpha_<head>`, `losses/entropy_<head>`).

    Args:
        actor: The actor model.
        env: The `GymEnv` to learn on.
        config: A `SACConfig`.

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For an action space the actor's heads do not cover (a head of the wrong kind,
            a `MultiDiscrete`/`MultiBinary` part), or a recurrent actor.

    Example:
        >>> env = rf.GymEnv("Pendulum-v1", num_envs=1, seed=0)
        >>> agent = SACAgent(rf.networks.sac_actor(env), env, SACConfig(learning_rate=1e-3))
        >>> agent.fit(20_000)
    """

    def __init__(self, actor: keras.Model, env: GymEnv, config: SACConfig | None = None):
        check_instance("SACAgent", "actor", actor, keras.Model, "a keras.Model")
        check_instance("SACAgent", "env", env, GymEnv)
        config = config_or_default("SACAgent", config, SACConfig)
        self.model = actor
        self.env = env
        self.config = config
        self.num_envs = env.num_envs
        self.schedule_steps = None
        self.actor_policy = KerasPolicy(actor)
        self.eval_policy = KerasPolicy(actor, deterministic=True)
        example = tf.nest.map_structure(tf.convert_to_tensor, env.example_timestep())
        for policy in (self.actor_policy, self.eval_policy):
            policy.build(example)
        if recurrent_layers(actor):
            raise ValueError("SACAgent: the actor must be memoryless (no StatefulRNN layers).")
        distributions, _ = self.actor_policy.distributions(example.observation)
        self._describe_action(env.action_space, env.action_spec, distributions)

        observation_dim = sum(
            int(np.prod(spec.shape)) for spec in tf.nest.flatten(env.observation_spec)
        )
        input_dim = observation_dim + self._continuous_dim + int(sum(self._classes))
        self.critics = [_critic(input_dim, config.hidden, f"critic_{i}") for i in range(2)]
        self.target_critics = [
            _critic(input_dim, config.hidden, f"target_critic_{i}") for i in range(2)
        ]
        for critic, target in zip(self.critics, self.target_critics, strict=True):
            target.set_weights(critic.get_weights())
        log_alpha = float(np.log(config.initial_temperature))
        self.log_alpha_continuous = tf.Variable(log_alpha, name="log_alpha_continuous")
        # One temperature per discrete head, `[H]` (H = 0 without a discrete part).
        self.log_alpha_discrete = tf.Variable(
            np.full([len(self._classes)], log_alpha, np.float32), name="log_alpha_discrete"
        )
        self.target_entropy_continuous = (
            -float(self._continuous_dim) if config.target_entropy is None else config.target_entropy
        )
        self.target_entropy_discrete = config.discrete_target_entropy_ratio * np.log(
            np.array(self._classes, np.float32)
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
            "observation": env.observation_spec,
            "action": env.action_spec,
            "reward": tf.TensorSpec([], tf.float32),
            "next_observation": env.observation_spec,
            "discount": tf.TensorSpec([], tf.float32),
        }
        self.buffer = ReplayBuffer(item_spec, config.buffer_capacity)
        self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="env_steps")
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
        self.rng = generator(config.seed)
        self.policy = _WarmupPolicy(
            self.actor_policy,
            RandomPolicy(env.action_space, env.num_envs),
            self.env_steps,
            config.warmup_steps,
        )
        self._add_graph = tf.function(self._add, autograph=False, reduce_retracing=True)
        self._update_graph = tf.function(self._updates, autograph=False)

    # ---------------------------------------------------------------------------- action parts

    def _describe_action(self, space, spec, distributions) -> None:
        """Sorts the action leaves into discrete and continuous parts, checking the heads."""
        try:
            tf.nest.assert_same_structure(spec, distributions)
        except (ValueError, TypeError):
            raise ValueError(
                "SACAgent: the actor's distributions must have the structure of the action space "
                f"{space}; received "
                f"{tf.nest.map_structure(lambda d: type(d).__name__, distributions)}."
            ) from None
        self._kinds, self._classes, self._dims, self._discrete_names = [], [], [], []
        for path, leaf_space, distribution in zip(
            leaf_paths(spec), space_leaves(space), tf.nest.flatten(distributions), strict=True
        ):
            where = path or "the action"
            if isinstance(leaf_space, gym.spaces.Discrete):
                if not isinstance(distribution, tfd.Categorical):
                    raise ValueError(
                        f"SACAgent: the action at {where} is Discrete, so its head must be a "
                        f"DenseCategorical; received a {type(distribution).__name__}."
                    )
                self._kinds.append("discrete")
                self._classes.append(int(leaf_space.n))
                self._discrete_names.append(".".join(re.findall(r"\w+", path)) or "action")
            elif isinstance(leaf_space, gym.spaces.Box):
                if isinstance(distribution, tfd.Categorical | tfd.Bernoulli):
                    raise ValueError(
                        f"SACAgent: the action at {where} is a Box, so its head must be a "
                        f"DenseNormal; received a {type(distribution).__name__}."
                    )
                self._kinds.append("continuous")
                self._dims.append(int(np.prod(leaf_space.shape)))
            else:
                raise ValueError(
                    f"SACAgent: the action at {where} is a {type(leaf_space).__name__}; SAC "
                    "supports Discrete and Box parts (and Dict/Tuple nests of them)."
                )
        self._continuous_dim = int(sum(self._dims))
        # Every combination of the discrete heads' choices, [K, number of discrete heads].
        combos = list(itertools.product(*[range(n) for n in self._classes])) or [()]
        self._combos = np.array(combos, np.int32).reshape(len(combos), len(self._classes))
        codes = [
            np.concatenate(
                [np.eye(n, dtype=np.float32)[c] for n, c in zip(self._classes, combo, strict=True)]
            )
            if self._classes
            else np.zeros([0], np.float32)
            for combo in combos
        ]
        self._combo_codes = np.stack(codes)  # [K, sum(classes)]

    def _features(self, observation) -> tf.Tensor:
        leaves = tf.nest.flatten(observation)
        batch = tf.shape(leaves[0])[0]
        return tf.concat([tf.reshape(tf.cast(x, tf.float32), [batch, -1]) for x in leaves], 1)

    def _encode_action(self, action) -> tuple[tf.Tensor, tf.Tensor]:
        """Stored actions as (continuous [B, C], one-hot discrete [B, sum(classes)])."""
        continuous, discrete = [], []
        batch = tf.shape(tf.nest.flatten(action)[0])[0]
        classes = iter(self._classes)
        for kind, leaf in zip(self._kinds, tf.nest.flatten(action), strict=True):
            if kind == "continuous":
                continuous.append(tf.reshape(tf.cast(leaf, tf.float32), [batch, -1]))
            else:
                discrete.append(tf.one_hot(tf.cast(leaf, tf.int32), next(classes)))
        empty = tf.zeros([batch, 0])
        return (
            tf.concat(continuous, 1) if continuous else empty,
            tf.concat(discrete, 1) if discrete else empty,
        )

    def _q_all(self, critics, features, continuous) -> tf.Tensor:
        """min over `critics` of Q(s, c, k) for every discrete combination k: `[B, K]`."""
        batch = tf.shape(features)[0]
        num = self._combo_codes.shape[0]
        state = tf.concat([features, continuous], 1)
        tiled = tf.repeat(state, num, axis=0)  # [B*K, ...], combination-minor
        codes = tf.tile(tf.constant(self._combo_codes), [batch, 1])
        inputs = tf.concat([tiled, codes], 1)
        qs = [tf.reshape(critic(inputs), [batch, num]) for critic in critics]
        return tf.reduce_min(tf.stack(qs), axis=0)

    def _act(self, observation, seed):
        """Samples the policy: (continuous [B, C], log π_c [B], P [B, K], entropies [B, H])."""
        distributions, _ = self.actor_policy.distributions(observation)
        flat = tf.nest.flatten(distributions)
        batch = tf.shape(self._features(observation))[0]
        seeds = tf.unstack(tf.random.split(seed, max(len(flat), 1)), num=max(len(flat), 1))
        continuous, continuous_log_prob = [], tf.zeros([batch])
        discrete_log_prob = tf.zeros([batch, self._combos.shape[0]])
        entropies = []
        head = 0
        for kind, distribution, leaf_seed in zip(self._kinds, flat, seeds, strict=False):
            if kind == "continuous":
                sample, log_prob = distribution.experimental_sample_and_log_prob(seed=leaf_seed)
                continuous.append(tf.reshape(sample, [batch, -1]))
                continuous_log_prob += log_prob
            else:
                log_probs = tf.nn.log_softmax(distribution.logits_parameter())  # [B, n]
                discrete_log_prob += tf.gather(log_probs, self._combos[:, head], axis=1)
                entropies.append(
                    -tf.reduce_sum(tf.math.multiply_no_nan(log_probs, tf.exp(log_probs)), axis=1)
                )
                head += 1
        continuous = tf.concat(continuous, 1) if continuous else tf.zeros([batch, 0])
        entropy = tf.stack(entropies, 1) if entropies else tf.zeros([batch, 0])
        return continuous, continuous_log_prob, tf.exp(discrete_log_prob), entropy

    # ---------------------------------------------------------------------------- training

    @property
    def rollout_steps(self) -> int:
        """Env steps per iteration, over all environments."""
        return self.config.steps_per_iteration * self.num_envs

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
        self.iterations.assign_add(1)

    def _update(self, seed):
        config = self.config
        sample_seed, next_seed, actor_seed = tf.unstack(tf.random.split(seed, 3))
        batch = self.buffer.sample(config.batch_size, sample_seed)
        alpha_c = tf.exp(self.log_alpha_continuous)
        alpha_d = tf.exp(self.log_alpha_discrete)

        next_features = self._features(batch["next_observation"])
        next_c, next_log_pc, next_pd, next_entropy = self._act(batch["next_observation"], next_seed)
        next_q = self._q_all(self.target_critics, next_features, next_c)
        backup = float(config.backup_entropy)
        next_value = soft_state_value(
            next_q, next_pd, next_entropy, next_log_pc, backup * alpha_d, backup * alpha_c
        )
        # The stored discount is γ^n, or 0 where the episode terminated within the n steps.
        target = tf.stop_gradient(
            soft_q_target(batch["reward"], batch["discount"], False, next_value)
        )

        features = self._features(batch["observation"])
        stored_c, stored_d = self._encode_action(batch["action"])
        inputs = tf.concat([features, stored_c, stored_d], 1)
        with tf.GradientTape() as tape:
            qs = [critic(inputs) for critic in self.critics]
            critic_loss = sum(0.5 * tf.reduce_mean(tf.square(q - target)) for q in qs)
        critic_grads = tape.gradient(critic_loss, self._critic_variables)

        actor_variables = self.model.trainable_variables
        with tf.GradientTape(persistent=True) as tape:
            c, log_pc, pd, entropy_d = self._act(batch["observation"], actor_seed)
            q = self._q_all(self.critics, features, c)
            actor_loss = -tf.reduce_mean(
                soft_state_value(q, pd, entropy_d, log_pc, alpha_d, alpha_c)
            )
            alpha_loss = temperature_loss(
                self.log_alpha_continuous, -log_pc, self.target_entropy_continuous
            ) * float(self._continuous_dim > 0) + temperature_loss(
                self.log_alpha_discrete, entropy_d, self.target_entropy_discrete
            )
        actor_grads = tape.gradient(actor_loss, actor_variables)
        alpha_grads = tape.gradient(alpha_loss, self._alpha_variables)
        del tape
        losses = tf.stack([critic_loss, actor_loss, alpha_loss])
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
                    target_weight.assign(config.tau * weight + (1.0 - config.tau) * target_weight)
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))
        parts = [tf.stack([critic_loss, actor_loss, tf.reduce_mean(qs[0])])]
        if self._continuous_dim:
            parts.append(tf.stack([alpha_c, tf.reduce_mean(-log_pc)]))
        metrics = tf.concat([*parts, alpha_d, tf.reduce_mean(entropy_d, axis=0)], 0)
        return finite, metrics

    @property
    def _metric_names(self) -> list[str]:
        names = ["losses/critic_loss", "losses/actor_loss", "losses/q_mean"]
        if self._continuous_dim:
            names += ["losses/alpha_continuous", "losses/entropy_continuous"]
        names += [f"losses/alpha_{name}" for name in self._discrete_names]
        names += [f"losses/entropy_{name}" for name in self._discrete_names]
        return names

    def _updates(self, num_updates):
        seed = self.rng.uniform_full_int([2], tf.int32)

        def keep_going(u, ok, totals):
            return (u < num_updates) & ok

        def body(u, ok, totals):
            finite, metrics = self._update(tf.stack([seed[0], seed[1] + u]))
            return u + 1, finite, totals + tf.where(finite, metrics, 0.0)

        done, ok, totals = tf.while_loop(
            keep_going,
            body,
            (tf.constant(0), tf.constant(True), tf.zeros([len(self._metric_names)])),
        )
        applied = tf.cast(done, tf.float32) - tf.cast(~ok, tf.float32)
        return ok, totals / tf.maximum(applied, 1.0), applied

    def train(self, trajectory: Trajectory) -> dict[str, float]:
        """Stores the trajectory's transitions and, after warm-up, updates; returns the metrics.

        Raises:
            TrainingDivergedError: If a loss became NaN or infinite (that update is not applied).
        """
        check_instance(
            "SACAgent.train", "trajectory", trajectory, Trajectory, "a Trajectory from Driver.run"
        )
        self._add_graph(trajectory)
        env_steps = int(self.env_steps.numpy())
        if env_steps < self.config.warmup_steps or int(self.buffer.size) < self.config.batch_size:
            return {"losses/updates": 0.0, "charts/buffer_size": float(self.buffer.size)}
        num_updates = max(1, round(self.config.utd_ratio * int(tf.size(trajectory.reward))))
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

    def checkpoint_items(self) -> dict[str, Any]:
        """Everything a resumed run needs, the replay buffer included."""
        return {**self._state_items(), "buffer": self.buffer}

    def _state_items(self) -> dict[str, Any]:
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

    def save(self, path) -> pathlib.Path:
        """Saves the actor (`model.keras`), the config and the learner state (critics,
        temperatures, optimizers, counters; not the replay buffer) in the directory `path`."""
        return save_agent(path, self.model, self.config, self._state_items())

    @classmethod
    def load(cls, path, env: GymEnv) -> SACAgent:
        """Loads an agent saved by `save`, to act in (or keep training on) `env`.

        Raises:
            FileNotFoundError: If `path` holds no saved agent.
        """
        actor, config = read_model_and_config(path, SACConfig, "SACAgent.load")
        agent = cls(actor, env, config)
        restore_state(path, agent._state_items())
        return agent
