"""`RecurrentPPOAgent`: PPO with recurrent (or memoryless) Keras policies of any action nest."""

from __future__ import annotations

import pathlib
from typing import Any

import keras
import tensorflow as tf

from reinforceable._checks import check_instance, config_or_default
from reinforceable._random import generator
from reinforceable.agents._fit import Fit
from reinforceable.agents._saving import read_model_and_config, restore_state, save_agent
from reinforceable.agents.errors import TrainingDivergedError
from reinforceable.agents.ppo.config import PPOConfig
from reinforceable.agents.ppo.losses import PPOBatch, masked_mean, ppo_loss
from reinforceable.agents.ppo.sequences import chunk_initial_states, to_chunks
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.vector import GymEnv
from reinforceable.ops.normalization import RewardScaler
from reinforceable.ops.observation import ObservationNormalizer
from reinforceable.ops.returns import generalized_advantage_estimation
from reinforceable.ops.schedules import LinearSchedule, schedule_value

__all__ = ["RecurrentPPOAgent", "TrainingDivergedError"]


class RecurrentPPOAgent(Fit):
    """Proximal policy optimisation for recurrent and memoryless Keras policies.

    The policy is a Keras model built from `reinforceable.layers` whose outputs are a dict:
    `"action"` holds the action distribution nest (one head, or several for hybrid discrete and
    continuous actions, combined by `Joint`) and `"value"` the state-value estimate `[batch]`
    (`[batch, time]` for a recurrent model). Actor and critic may share a torso or not: that is
    the model's business. Recurrent models use `StatefulRNN` layers and declare a time axis.

    Training is on-policy: a `Driver` collects `config.num_steps` steps in each environment, and
    `train(trajectory)` runs `config.num_epochs` passes of clipped-surrogate updates over it.
    Advantages come from GAE with termination and truncation kept apart (bootstrapping from the
    final observation at truncation). Minibatches are made of whole sequence chunks; each chunk is
    replayed from the recurrent state the policy had at its first step during the rollout, and
    the state is reset inside a chunk wherever an episode starts.

    Two levels of API:

    * `fit(total_steps, callbacks=...)` runs the whole loop (rollouts, updates, logging,
      evaluation, checkpoints);
    * `train(trajectory)` is one update from a trajectory you collected with
      `Driver(agent.policy, env).run(config.num_steps * env.num_envs)`.

    Args:
        model: The policy model (see above).
        env: The `GymEnv` the agent trains on (its specs and environment count).
        config: A `PPOConfig`.

    Raises:
        TypeError: For a `model`, `env` or `config` of the wrong type.
        ValueError: If the model has no `"value"` output of shape `[batch]`, or `batch_size`
            does not divide the rollout.

    Example:
        >>> env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", num_envs=8, seed=0)
        >>> model = rf.networks.actor_critic(env, recurrent="gru")
        >>> agent = RecurrentPPOAgent(model, env, PPOConfig(num_steps=32, batch_size=256))
        >>> agent.fit(total_steps=100_000)
    """

    config_class = PPOConfig

    def __init__(self, model: keras.Model, env: GymEnv, config: PPOConfig | None = None):
        check_instance("RecurrentPPOAgent", "model", model, keras.Model, "a keras.Model")
        check_instance("RecurrentPPOAgent", "env", env, GymEnv, "a reinforceable.envs.GymEnv")
        config = config_or_default("RecurrentPPOAgent", config, PPOConfig)
        self.model = model
        self.env = env
        self.config = config
        self.num_envs = env.num_envs
        self.schedule_steps = config.total_steps

        self.observation_normalizer = (
            ObservationNormalizer(env.observation_spec) if config.normalize_observations else None
        )
        self.reward_scaler = (
            RewardScaler(env.num_envs, config.discount) if config.scale_rewards else None
        )
        preprocess = (
            None if self.observation_normalizer is None else self.observation_normalizer.normalize
        )
        self.policy = KerasPolicy(model, preprocess=preprocess)
        self.eval_policy = KerasPolicy(model, deterministic=True, preprocess=preprocess)
        example = tf.nest.map_structure(tf.convert_to_tensor, env.example_timestep())
        for policy in (self.policy, self.eval_policy):
            policy.build(example)
        self._check_value_output(example)
        config.check_num_envs(env.num_envs)
        recurrent = self.policy.takes_sequences
        config.check_sequences(recurrent)
        self.sequence_length = config.chunk_length(recurrent)
        if recurrent and not self.policy.takes_episode_start:
            raise ValueError(
                "RecurrentPPOAgent: the model has recurrent layers but does not take "
                "`episode_start`; declare an input named 'episode_start' and pass it as the "
                "StatefulRNN's reset_mask, so replayed sequences reset where episodes start."
            )

        self.optimizer = keras.optimizers.Adam(
            learning_rate=float(schedule_value(config.learning_rate, 0.0)),
            epsilon=config.adam_epsilon,
        )
        self.optimizer.build(model.trainable_variables)
        self.env_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="env_steps")
        self.iterations = tf.Variable(0, dtype=tf.int64, trainable=False, name="iterations")
        self.rng = generator(config.seed)
        self._diverged = tf.Variable(False, trainable=False, name="diverged")
        self._train_graph = tf.function(self._train, autograph=False, reduce_retracing=True)

    def _check_value_output(self, example) -> None:
        state = self.policy.initial_state(self.num_envs)
        extras = self.policy.step(example, state, tf.zeros([2], tf.int32)).extras
        value = extras.get("value")
        if value is None or tuple(value.shape) != (self.num_envs,):
            received = "no 'value' output" if value is None else f"shape {tuple(value.shape)}"
            raise ValueError(
                "RecurrentPPOAgent: the model must output a dict {'action': <distributions>, "
                "'value': <[batch] tensor>} (for a recurrent model, [batch, time]); received "
                f"{received}. A Dense(1) value head needs a keras.layers.Reshape to drop its last "
                "axis."
            )

    # ----------------------------------------------------------------------------- training

    @property
    def rollout_steps(self) -> int:
        """Env steps per rollout, over all environments: `num_steps * num_envs`."""
        return self.config.num_steps * self.num_envs

    def checkpoint_items(self) -> dict[str, Any]:
        """Everything a resumed run needs, for a `tf.train.Checkpoint`."""
        items = {
            "model": self.model,
            "optimizer": self.optimizer,
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "rng": self.rng,
        }
        if self.observation_normalizer is not None:
            items["observation_normalizer"] = self.observation_normalizer
        if self.reward_scaler is not None:
            items["reward_scaler"] = self.reward_scaler
        return items

    def _progress(self) -> float:
        config = self.config
        scheduled = isinstance(config.learning_rate, LinearSchedule) or isinstance(
            config.clip_range, LinearSchedule
        )
        if not scheduled:
            return 0.0
        if self.schedule_steps is None:
            raise ValueError(
                "RecurrentPPOAgent.train: a LinearSchedule needs the training budget; set "
                "PPOConfig.total_steps, or train with fit(total_steps=...)."
            )
        return float(self.env_steps.numpy()) / self.schedule_steps

    def _check_trajectory(self, trajectory: Trajectory) -> None:
        check_instance(
            "RecurrentPPOAgent.train",
            "trajectory",
            trajectory,
            Trajectory,
            "a Trajectory from Driver.run",
        )
        for key in ("value", "log_prob"):
            if key not in trajectory.extras:
                raise ValueError(
                    f"RecurrentPPOAgent.train: the trajectory has no {key!r} in its extras; "
                    "collect it with Driver(agent.policy, env)."
                )
        steps, envs = trajectory.reward.shape
        length = self.sequence_length
        if envs != self.num_envs or steps % length or (steps * envs) % self.config.batch_size:
            raise ValueError(
                f"RecurrentPPOAgent.train: the trajectory must be [T, {self.num_envs}] with T a "
                f"multiple of the sequence length {length} and T * {self.num_envs} a multiple of "
                f"batch_size {self.config.batch_size} (T = num_steps = {self.config.num_steps} "
                f"does it); received [{steps}, {envs}]."
            )

    def train(self, trajectory: Trajectory) -> dict[str, float]:
        """Updates the policy from one rollout; returns the metrics as Python floats.

        Raises:
            TrainingDivergedError: If a loss or gradient is NaN or infinite. The update that
                produced it is not applied, and the message names the iteration.
        """
        self._check_trajectory(trajectory)
        progress = self._progress()
        learning_rate = schedule_value(self.config.learning_rate, progress)
        clip_range = schedule_value(self.config.clip_range, progress)
        metrics = self._train_graph(trajectory, learning_rate, clip_range)
        if bool(self._diverged.numpy()):
            self._diverged.assign(False)
            raise TrainingDivergedError(
                f"RecurrentPPOAgent: the loss or its gradient became NaN or infinite at iteration "
                f"{int(self.iterations.numpy()) + 1} (after {int(self.env_steps.numpy())} env "
                "steps); that update was not applied and the iteration stopped there. Check the "
                "observations and rewards for NaN/inf, or lower the learning rate."
            )
        return {key: float(value) for key, value in metrics.items()}

    def _bootstrap_value(self, trajectory: Trajectory) -> tf.Tensor:
        step = self.policy.step(
            trajectory.next_timestep, trajectory.next_policy_state, tf.zeros([2], tf.int32)
        )
        return step.extras["value"]

    def _train(self, trajectory: Trajectory, learning_rate, clip_range):
        config = self.config
        self.optimizer.learning_rate.assign(learning_rate)
        rewards = trajectory.reward
        if self.reward_scaler is not None:
            rewards = self.reward_scaler(
                rewards, trajectory.terminated, trajectory.truncated, trajectory.valid
            )
        values = trajectory.extras["value"]
        advantages, returns = generalized_advantage_estimation(
            rewards,
            values,
            self._bootstrap_value(trajectory),
            trajectory.terminated,
            trajectory.truncated,
            trajectory.valid,
            discount=config.discount,
            lambda_=config.gae_lambda,
        )

        length = self.sequence_length
        data = to_chunks(
            {
                "observation": trajectory.observation,
                "episode_start": trajectory.episode_start,
                "action": trajectory.action,
                "old_log_prob": trajectory.extras["log_prob"],
                "old_value": values,
                "advantage": advantages,
                "returns": returns,
                "valid": trajectory.valid,
            },
            length,
        )
        states = chunk_initial_states(self.policy, trajectory, length)
        num_chunks = tf.nest.flatten(data)[0].shape[0]
        chunks_per_batch = config.batch_size // length
        batches_per_epoch = num_chunks // chunks_per_batch
        num_updates = config.num_epochs * batches_per_epoch
        # One shuffle of the chunks per epoch.
        seed = self.rng.uniform_full_int([2], tf.int32)
        order = tf.argsort(tf.random.stateless_uniform([config.num_epochs, num_chunks], seed))
        order = tf.reshape(order, [num_updates, chunks_per_batch])
        variables = self.model.trainable_variables
        metric_names = (
            "losses/policy_loss",
            "losses/value_loss",
            "losses/entropy",
            "losses/approx_kl",
            "losses/clip_fraction",
            "losses/loss",
            "losses/grad_norm",
        )

        def update(index):
            take = lambda x: tf.gather(x, index)  # noqa: E731
            batch = tf.nest.map_structure(take, data)
            state = tf.nest.map_structure(take, states)
            with tf.GradientTape() as tape:
                evaluation = self.policy.evaluate(
                    batch["observation"], batch["episode_start"], state, batch["action"]
                )
                flat = lambda x: tf.reshape(x, [-1])  # noqa: E731
                loss, metrics = ppo_loss(
                    PPOBatch(
                        log_prob=flat(evaluation.log_prob),
                        old_log_prob=flat(batch["old_log_prob"]),
                        advantage=flat(batch["advantage"]),
                        value=flat(evaluation.extras["value"]),
                        old_value=flat(batch["old_value"]),
                        returns=flat(batch["returns"]),
                        entropy=flat(evaluation.entropy),
                        mask=flat(batch["valid"]),
                    ),
                    clip_range=clip_range,
                    value_coef=config.value_coef,
                    entropy_coef=config.entropy_coef,
                    clip_range_value=config.clip_range_value,
                    normalize_advantages=config.normalize_advantages,
                )
            gradients = tape.gradient(loss, variables)
            gradients = [
                tf.zeros_like(v) if g is None else g
                for g, v in zip(gradients, variables, strict=True)
            ]
            grad_norm = tf.linalg.global_norm(gradients)
            if config.max_grad_norm is not None:
                gradients, _ = tf.clip_by_global_norm(
                    gradients, config.max_grad_norm, use_norm=grad_norm
                )
            metrics = {**metrics, "losses/loss": loss, "losses/grad_norm": grad_norm}
            return gradients, metrics

        def keep_going(u, stop, applied_updates, totals):
            return (u < num_updates) & ~stop

        def body(u, stop, applied_updates, totals):
            gradients, metrics = update(order[u])
            finite = tf.math.is_finite(metrics["losses/loss"]) & tf.math.is_finite(
                metrics["losses/grad_norm"]
            )
            too_far = tf.constant(False)
            if config.target_kl is not None:
                too_far = metrics["losses/approx_kl"] > 1.5 * config.target_kl
            apply = finite & ~too_far

            def apply_gradients():
                self.optimizer.apply_gradients(zip(gradients, variables, strict=True))
                return tf.constant(True)

            applied = tf.cond(apply, apply_gradients, lambda: tf.constant(False))
            with tf.control_dependencies([applied]):
                totals = [
                    total + tf.where(apply, metrics[name], 0.0)
                    for total, name in zip(totals, metric_names, strict=True)
                ]
                self._diverged.assign(~finite)
            return u + 1, ~apply, applied_updates + tf.cast(apply, tf.float32), totals

        zeros = [tf.constant(0.0) for _ in metric_names]
        _, _, applied_updates, totals = tf.while_loop(
            keep_going, body, (tf.constant(0), tf.constant(False), tf.constant(0.0), zeros)
        )
        metrics = {
            name: total / tf.maximum(applied_updates, 1.0)
            for name, total in zip(metric_names, totals, strict=True)
        }
        valid = trajectory.valid
        residual_variance = _masked_variance(returns - values, valid)
        metrics["losses/explained_variance"] = 1.0 - residual_variance / _masked_variance(
            returns, valid
        )
        metrics["losses/learning_rate"] = tf.convert_to_tensor(learning_rate)
        metrics["losses/clip_range"] = tf.convert_to_tensor(clip_range)
        metrics["losses/epochs"] = applied_updates / batches_per_epoch

        def count_rollout():
            if self.observation_normalizer is not None:
                self.observation_normalizer.update(trajectory.observation)
            self.env_steps.assign_add(tf.size(trajectory.reward, tf.int64))
            self.iterations.assign_add(1)
            return tf.constant(True)

        # A diverged update leaves everything as it was, counters and statistics included.
        with tf.control_dependencies([applied_updates]):
            tf.cond(self._diverged, lambda: tf.constant(False), count_rollout)
        return metrics

    # ----------------------------------------------------------------------------- high level

    # ----------------------------------------------------------------------------- persistence

    def save(self, path) -> pathlib.Path:
        """Saves the agent in the directory `path`: the model (`model.keras`), the config
        (`config.json`) and the training state (optimizer, counters, normalisers, RNG)."""
        return save_agent(path, self.model, self.config, self.checkpoint_items())

    @classmethod
    def load(cls, path, env: GymEnv) -> RecurrentPPOAgent:
        """Loads an agent saved by `save`, to act in (or keep training on) `env`.

        Raises:
            FileNotFoundError: If `path` holds no saved agent.
        """
        model, config = read_model_and_config(path, cls.config_class, f"{cls.__name__}.load")
        agent = cls(model, env, config)
        restore_state(path, agent.checkpoint_items())
        return agent


def _masked_variance(x: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    mean = masked_mean(x, mask)
    return masked_mean(tf.square(x - mean), mask)
