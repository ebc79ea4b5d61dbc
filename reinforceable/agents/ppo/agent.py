"""`RecurrentPPOAgent`: PPO with recurrent (or memoryless) Keras policies of any action nest."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable._random import generator
from reinforceable.agents.base import Agent, Collection
from reinforceable.agents.ppo.actor import DISCOUNTED_RETURN, PPOActor, ppo_acting_variables
from reinforceable.agents.ppo.checks import check_trajectory, check_value_output
from reinforceable.agents.ppo.config import PPOConfig
from reinforceable.agents.ppo.losses import explained_variance
from reinforceable.agents.ppo.minibatch import minibatch_gradients
from reinforceable.agents.ppo.sequences import chunk_states, recorded_states, to_chunks
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory, concatenate
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.errors import TrainingDivergedError
from reinforceable.ops.normalization import RewardScaler
from reinforceable.ops.observation import ObservationNormalizer
from reinforceable.ops.returns import generalized_advantage_estimation
from reinforceable.ops.schedules import LinearSchedule, schedule_value

__all__ = ["RecurrentPPOAgent", "TrainingDivergedError"]


class RecurrentPPOAgent(Agent):
    """Proximal policy optimisation for recurrent and memoryless Keras policies.

    The policy is a Keras model built from `reinforceable.layers` whose outputs are a dict:
    `"action"` holds the action distribution nest (one head, or several for hybrid discrete and
    continuous actions, combined by `Joint`) and `"value"` the state-value estimate `[batch]`
    (`[batch, time]` for a recurrent model). Actor and critic may share a torso or not: that is
    the model's business. Recurrent models use `StatefulRNN` layers and declare a time axis.

    Training is on-policy: the actor collects `config.num_steps` steps in each environment, and
    `train(trajectory)` runs `config.num_epochs` passes of clipped-surrogate updates over it.
    Advantages come from GAE with termination and truncation kept apart (bootstrapping from the
    final observation at truncation). Minibatches are made of whole sequence chunks; each chunk
    starts from the recurrent state the policy had at its first step during the rollout, and
    the state is reset inside a chunk wherever an episode starts. Those states are recorded by
    the actor's Driver (`Trajectory.sequence_states`, the default), or, with
    `replay_initial_states`, recomputed by replaying the rollout with the current weights (exact
    only while acting and learning are synchronous). With whole-rollout chunks (the default for
    a recurrent policy) the only state needed is the rollout's first, and neither costs a thing.

    The acting side (`agent.actor`, a `PPOActor`) acts with a copy of the policy and of the
    observation statistics, taken from `acting_state()` after every update, and keeps each
    environment's running discounted return for reward scaling; the learner keeps the
    statistics. Trajectories from several actors (concatenated along the batch axis) train
    alike.

    Two levels of API:

    * `fit(total_steps, callbacks=...)` runs the whole loop (rollouts, updates, logging,
      evaluation, checkpoints);
    * `train(trajectory)` is one update from a trajectory you collected with
      `Driver(agent.policy, env, sequence_length=agent.collection.sequence_length)`.

    Args:
        model: The policy model (see above).
        env: The `EnvSpec` (or an `Environment`, whose spec is taken and which `fit` then
            uses by default).
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
    actor_class = PPOActor

    def __init__(self, model: keras.Model, env: EnvSpec | Environment, config=None):
        owner = type(self).__name__
        check_instance(owner, "model", model, keras.Model, "a keras.Model")
        super().__init__(env, config)
        spec, config = self.spec, self.config
        self.ppo_config = ppo = config.ppo_config(spec.num_envs)
        self.model = model
        self._budget = ppo.total_steps

        self.observation_normalizer = (
            ObservationNormalizer(spec.observation_spec) if ppo.normalize_observations else None
        )
        self.reward_scaler = RewardScaler() if ppo.scale_rewards else None
        preprocess = (
            None if self.observation_normalizer is None else self.observation_normalizer.normalize
        )
        # The learner's view of the model: it re-scores recorded actions and bootstraps values.
        self.learner_policy = KerasPolicy(model, preprocess=preprocess)
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        self.learner_policy.build(example)
        check_value_output(self.learner_policy, example, self.num_envs, type(self).__name__)
        ppo.check_num_envs(spec.num_envs)
        recurrent = self.learner_policy.takes_sequences
        ppo.check_sequences(recurrent)
        self.sequence_length = ppo.chunk_length(recurrent)
        self.recurrent = recurrent
        if recurrent and not self.learner_policy.takes_episode_start:
            raise ValueError(
                f"{owner}: the model has recurrent layers but does not take "
                "`episode_start`; declare an input named 'episode_start' and pass it as the "
                "StatefulRNN's reset_mask, so replayed sequences reset where episodes start."
            )

        self.optimizer = keras.optimizers.Adam(
            learning_rate=float(schedule_value(ppo.learning_rate, 0.0)),
            epsilon=ppo.adam_epsilon,
        )
        self.optimizer.build(model.trainable_variables)
        self.rng = generator(ppo.seed)
        self._diverged = tf.Variable(False, trainable=False, name="diverged")
        self._train_graph = tf.function(self._train, autograph=False, reduce_retracing=True)
        self._pending: list[Trajectory] = []
        self._warned_replay = False
        self._build_actor()

    # ----------------------------------------------------------------------------- acting

    @property
    def collection(self) -> Collection:
        """`num_steps` steps per environment; with several chunks per rollout (and without
        `replay_initial_states`), the states at the chunk boundaries are recorded."""
        ppo = self.ppo_config
        record = (
            self.recurrent
            and self.sequence_length < ppo.num_steps
            and not ppo.replay_initial_states
        )
        return Collection(
            steps_per_env=ppo.num_steps, sequence_length=self.sequence_length if record else None
        )

    def acting_variables(self) -> dict[str, tf.Variable]:
        return ppo_acting_variables(self.model, self.observation_normalizer)

    def actor_models(self) -> dict[str, keras.Model]:
        return {"policy": self.model}

    @classmethod
    def _from_saved(cls, env_or_spec, config, models, arguments, objects):
        return cls(models["policy"], env_or_spec, config)

    # ----------------------------------------------------------------------------- training

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

    @property
    def schedule_steps(self) -> int | None:
        """The env steps that the `LinearSchedule`s decay over: `PPOConfig.total_steps`, or the
        budget of `fit` (`set_budget`); `None` before either."""
        return self._budget

    def set_budget(self, total_steps: int) -> None:
        """The schedules run over the budget of `fit` unless the config fixes it
        (`total_steps`); a later `fit` to a larger total stretches them over that total (SB3's
        `learn` does the same) rather than leaving the learning rate at its end, and a smaller
        one leaves them alone."""
        if self.ppo_config.total_steps is None and (
            self._budget is None or total_steps > self._budget
        ):
            self._budget = int(total_steps)

    def _progress(self) -> float:
        config = self.ppo_config
        scheduled = isinstance(config.learning_rate, LinearSchedule) or isinstance(
            config.clip_range, LinearSchedule
        )
        if not scheduled:
            return 0.0
        if self.schedule_steps is None:
            raise ValueError(
                f"{type(self).__name__}.train: a LinearSchedule needs the training budget; set "
                "PPOConfig.total_steps, train with fit(total_steps=...), or call "
                "set_budget(total_steps) first."
            )
        return float(self.env_steps.numpy()) / self.schedule_steps

    def _observe(self, trajectory: Trajectory) -> None:
        """Keeps the rollout for `update`; rollouts observed before one `update` are
        concatenated along the batch axis (several actors' chunks of the same length)."""
        check_trajectory(
            trajectory,
            f"{type(self).__name__}.observe",
            self.ppo_config,
            self.sequence_length,
            self.num_envs,
            whole=False,
        )
        if self.reward_scaler is not None and DISCOUNTED_RETURN not in trajectory.extras:
            # Not processed by an actor: it comes from this agent's own stream of experience.
            trajectory = self.actor.process(trajectory)
        if self._pending and trajectory.reward.shape[0] != self._pending[0].reward.shape[0]:
            raise ValueError(
                f"{type(self).__name__}.observe: rollouts observed for one update must have the "
                f"same length; received {trajectory.reward.shape[0]} after "
                f"{self._pending[0].reward.shape[0]}."
            )
        self._pending.append(trajectory)

    def _update(self) -> dict[str, float]:
        """Updates the policy from the observed rollouts; returns the metrics as Python floats.

        Raises:
            ValueError: If nothing was observed since the last update.
            TrainingDivergedError: If a loss or gradient is NaN or infinite. The update that
                produced it is not applied, and the message names the iteration.
        """
        if not self._pending:
            raise ValueError(f"{type(self).__name__}.update: observe a trajectory first.")
        pending, self._pending = self._pending, []
        trajectory = pending[0] if len(pending) == 1 else concatenate(pending)
        check_trajectory(
            trajectory,
            f"{type(self).__name__}.update",
            self.ppo_config,
            self.sequence_length,
            self.num_envs,
            whole=True,
        )
        length = self.collection.sequence_length  # recorded chunk states expected
        if length and not recorded_states(trajectory, length) and not self._warned_replay:
            self._warned_replay = True  # a Driver without sequence_length: say so, once
            warnings.warn(
                f"{type(self).__name__}.train: the trajectory has no recorded chunk states, so "
                "they are replayed with the current weights (exact only for data of these "
                f"weights); build the Driver with sequence_length={length} "
                "(agent.collection.sequence_length), as fit does.",
                stacklevel=3,
            )
        progress = self._progress()
        learning_rate = schedule_value(self.ppo_config.learning_rate, progress)
        clip_range = schedule_value(self.ppo_config.clip_range, progress)
        metrics = self._train_graph(trajectory, learning_rate, clip_range)
        if bool(self._diverged.numpy()):
            self._diverged.assign(False)
            raise TrainingDivergedError(
                f"{type(self).__name__}: the loss or its gradient became NaN or infinite at "
                f"iteration {int(self.iterations.numpy()) + 1} (after "
                f"{int(self.env_steps.numpy())} env steps); that update was not applied and the "
                "iteration stopped there. Check the observations and rewards for NaN/inf, or "
                "lower the learning rate."
            )
        return {key: float(value) for key, value in metrics.items()}

    def _bootstrap_value(self, trajectory: Trajectory) -> tf.Tensor:
        step = self.learner_policy.step(
            trajectory.next_timestep, trajectory.next_policy_state, tf.zeros([2], tf.int32)
        )
        return step.extras["value"]

    def _train(self, trajectory: Trajectory, learning_rate, clip_range):
        config = self.ppo_config
        self.optimizer.learning_rate.assign(learning_rate)
        rewards = trajectory.reward
        if self.reward_scaler is not None:
            rewards = self.reward_scaler(
                rewards, trajectory.extras[DISCOUNTED_RETURN], trajectory.valid
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
        states = chunk_states(self.learner_policy, trajectory, length)
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
            "losses/discrete_entropy",
            "losses/approx_kl",
            "losses/clip_fraction",
            "losses/loss",
            "losses/grad_norm",
        )

        def update(index):
            take = lambda x: tf.gather(x, index)  # noqa: E731
            batch = tf.nest.map_structure(take, data)
            state = tf.nest.map_structure(take, states)
            return minibatch_gradients(self.learner_policy, batch, state, variables, config,
                                       clip_range)  # fmt: skip

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
        metrics["losses/explained_variance"] = explained_variance(values, returns, valid)
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
