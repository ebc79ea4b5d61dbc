"""`DQNAgent`: deep Q-learning (double DQN, n-step returns, an optional dueling head) for a
`Discrete` action space, from a replay of transitions."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import keras
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable._random import generator
from reinforceable.agents._off_policy import gradient_burst, update_iteration
from reinforceable.agents.actor import acting_variables
from reinforceable.agents.base import Agent, Collection
from reinforceable.agents.dqn.actor import DQNActor
from reinforceable.agents.dqn.config import DQNConfig
from reinforceable.agents.dqn.losses import dqn_target
from reinforceable.layers.noisy_dense import sampled_noise
from reinforceable.ops.schedules import schedule_value
from reinforceable.replay.buffer import ReplayBuffer
from reinforceable.replay.transitions import n_step_transitions, transition_spec

__all__ = ["DQNAgent"]


class DQNAgent(Agent):
    """Deep Q-learning for a `Discrete` action space.

    `observe` stores the real transitions as n-step returns in a `ReplayBuffer`. `update`, after
    the warm-up, makes `utd_ratio` gradient updates per new env step in one graph call: the
    Huber loss against `dqn_target`, Adam (gradients clipped to `max_grad_norm`), and a copy
    into the target network every `target_update_interval` updates. The actor is ε-greedy, ε
    falling linearly over `exploration_fraction` of the budget of `fit` (`set_budget`).

    Args:
        model: A Keras Q-network, observation → `[batch, n]` (`dqn.q_network(env)` builds one).
        env: The `EnvSpec` (or an `Environment`).
        config: A `DQNConfig`.

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For a non-`Discrete` action space, or a model whose output is not `[B, n]`.

    Example:
        >>> env = rf.GymEnv("CartPole-v1", num_envs=1, seed=0)
        >>> agent = DQNAgent(q_network(env, hidden=(256, 256)), env, DQNConfig(seed=0))
        >>> agent.fit(100_000)
    """

    config_class = DQNConfig
    actor_class = DQNActor
    off_policy = True

    def __init__(self, model: keras.Model, env, config: DQNConfig | None = None):
        check_instance(type(self).__name__, "model", model, keras.Model, "a keras.Model")
        super().__init__(env, config)
        spec, config = self.spec, self.config
        space = spec.action_space
        if not isinstance(space, gym.spaces.Discrete):
            raise ValueError(f"DQNAgent: the action space must be Discrete; received {space}.")
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep().observation)
        shape = tuple(model(example).shape)
        if shape != (spec.num_envs, space.n):
            raise ValueError(
                f"DQNAgent: the model must map observations to [batch, {space.n}] action values;"
                f" it returned {shape} for a batch of {spec.num_envs}."
            )
        self.model, self.target = model, keras.models.clone_model(model)
        self.target.set_weights(model.get_weights())
        rate = float(schedule_value(config.learning_rate, 0.0))
        self.optimizer = keras.optimizers.Adam(rate, global_clipnorm=config.max_grad_norm)
        self.optimizer.build(model.trainable_variables)
        self.buffer = ReplayBuffer(transition_spec(spec), config.buffer_capacity)
        self.rng = generator(config.seed)
        self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name="updates")
        self.epsilon = tf.Variable(config.exploration_initial, trainable=False, name="epsilon")
        self._budget, self._new_steps = None, 0
        self._add_graph = tf.function(self._add, autograph=False, reduce_retracing=True)
        self._update_graph = tf.function(self._updates, autograph=False)
        self._build_actor()

    @property
    def collection(self) -> Collection:
        return Collection(steps_per_env=self.config.steps_per_iteration)

    def set_budget(self, total_steps: int) -> None:
        """ε falls over `exploration_fraction` of the largest budget of `fit` so far."""
        self._budget = max(int(total_steps), self._budget or 0)

    def acting_variables(self) -> dict[str, tf.Variable]:
        config, budget = self.config, self._budget
        horizon = config.exploration_fraction * budget if budget else 0.0
        progress = min(1.0, float(self.env_steps.numpy()) / horizon) if horizon else 0.0
        start, end = config.exploration_initial, config.exploration_final
        self.epsilon.assign(start + progress * (end - start))
        return acting_variables(q_network=self.model, epsilon=self.epsilon)

    def actor_models(self) -> dict[str, keras.Model]:
        return {"q_network": self.model}

    @classmethod
    def _from_saved(cls, env_or_spec, config, models, arguments, objects):
        return cls(models["q_network"], env_or_spec, config)

    # ---------------------------------------------------------------------------- learning

    def _add(self, trajectory):
        self.buffer.add(n_step_transitions(trajectory, self.config.discount, self.config.n_step))
        self.env_steps.assign_add(tf.size(trajectory.reward, tf.int64))

    def _observe(self, trajectory) -> None:
        self._add_graph(trajectory)
        self._new_steps += int(tf.size(trajectory.reward))

    def _gradient_step(self, seed):
        """One update on a replayed batch; applied, with the target's copy, only if finite."""
        config, model = self.config, self.model
        batch = self.buffer.sample(config.batch_size, seed)
        noise = [tf.random.experimental.stateless_fold_in(seed, i) for i in (1, 2, 3)]
        reward, discount, after = batch["reward"], batch["discount"], batch["next_observation"]
        rows = config.batch_size
        # NoisyDense layers (if any) see fresh noise per row in each of the three passes.
        with sampled_noise(model, rows, noise[0]):
            online_after = model(after)
        with sampled_noise(self.target, rows, noise[1]):
            target_after = self.target(after)
        target = dqn_target(reward, discount, online_after, target_after, config.double)
        action = tf.cast(batch["action"], tf.int32)
        with tf.GradientTape() as tape, sampled_noise(model, rows, noise[2]):
            q = tf.gather(model(batch["observation"]), action, axis=1, batch_dims=1)
            loss = keras.losses.Huber()(target, q)
        grads = tape.gradient(loss, model.trainable_variables)

        def apply():
            self.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            self.updates.assign_add(1)
            copy = tf.equal(self.updates % config.target_update_interval, 0)
            for weight, old in zip(model.weights, self.target.weights, strict=True):
                old.assign(tf.where(copy, weight, old))
            return tf.constant(True)

        finite = tf.math.is_finite(loss)
        tf.cond(finite, apply, lambda: tf.constant(False))
        return finite, tf.stack([loss, tf.reduce_mean(q)])

    def _updates(self, num_updates):
        seed = self.rng.uniform_full_int([2], tf.int32)
        return gradient_burst(lambda u, s: self._gradient_step(s), num_updates, seed, 2)

    def _update(self) -> dict[str, float]:
        """After warm-up, `utd_ratio` updates per new env step. Raises a `ValueError` without a
        budget (ε and the learning rate need it), a `TrainingDivergedError` at a non-finite loss."""
        if self._budget is None:
            raise ValueError(
                "DQNAgent.train: the exploration schedule needs the training budget: train "
                "with fit(total_steps=...), or call set_budget(total_steps) first."
            )
        progress = float(self.env_steps.numpy()) / self._budget
        self.optimizer.learning_rate.assign(schedule_value(self.config.learning_rate, progress))
        epsilon, names = float(self.epsilon.numpy()), ["losses/q_loss", "losses/q_mean"]
        run = lambda n: self._update_graph(tf.constant(n))  # noqa: E731  (one trace for all n)
        metrics = update_iteration(self, int(self.buffer.size), run, names)
        return {**metrics, "charts/epsilon": epsilon}  # the ε the actor acted with

    def checkpoint_items(self) -> dict[str, Any]:
        return {**self.saved_state(), "buffer": self.buffer}

    def saved_state(self) -> dict[str, Any]:
        names = ("target", "optimizer", "env_steps", "iterations", "updates", "rng")
        return {"q_network": self.model, **{name: getattr(self, name) for name in names}}
