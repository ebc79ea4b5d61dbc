"""`AnalyticPolicySearch`: policy gradients by backpropagation through a differentiable model."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable._random import generator
from reinforceable.agents._saving import model_object
from reinforceable.agents.actor import acting_variables
from reinforceable.agents.base import Agent, Collection
from reinforceable.agents.policy_search.analytic_actor import AnalyticActor, value_network
from reinforceable.agents.policy_search.analytic_checks import check_env, check_policy
from reinforceable.agents.policy_search.config import AnalyticPolicySearchConfig
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.errors import TrainingDivergedError
from reinforceable.layers.recurrent_state import recurrent_layers
from reinforceable.models.base import Model
from reinforceable.models.env import model_spaces

__all__ = ["AnalyticActor", "AnalyticPolicySearch", "linear_gain"]


class AnalyticPolicySearch(Agent):
    """Improves a Keras policy by backpropagating the return through rollouts of a `Model`.

    Each iteration (`train`) rolls `num_rollouts` states `horizon` steps forward through
    `model.step` with actions from the policy (the mode of its distribution, or a reparameterised
    sample), sums the discounted `model.reward`s, and takes one Adam step on the gradient of
    their mean, clipped to `max_grad_norm`. With `truncation`, the gradient through the state is
    cut every `truncation` steps. With `terminal_value`, a value function of the observation is
    fitted to the windows' returns and `γ^H V(s_H)` is added to each window (SHAC; Xu et al.,
    2022). Rollouts continue across iterations from their last states until `episode_length`
    steps, then restart from `model.initial_state`, so the policy sees the states it visits, not
    only initial ones. Steps after `model.terminal` holds earn nothing.

    The policy is a Keras model of one `observation_dim` input whose output is a `DenseNormal`
    head over the `action_dim` actions (`hard_bounds=True` where the model's actions are
    bounded). It runs unchanged on the real environment through `eval_policy`.

    **Recurrent policies** (a `StatefulRNN`, taking `[batch, time, ...]` sequences, e.g.
    `rf.networks.sac_actor(env, recurrent="gru")`) learn partially observed tasks: a model whose
    `observe` hides part of the state (`models.PartiallyObserved`). The policy's state is carried
    through the rollout and across iterations like the model's, reset to zeros where a rollout
    restarts, and back-propagated through time; `truncation` cuts the policy state's gradient
    where it cuts the model state's. The terminal value then takes the model's full state (the
    learner owns the model: an asymmetric critic), since the observation does not determine it.

    `env_steps` counts model steps. It collects no environment data (its `collection` is
    `None`): `train()` rolls the model out itself. `fit(total_steps, callbacks=...)` trains with
    the shared `Trainer` (progress, TensorBoard, learning curves, checkpoints); its
    `charts/episode_return` is the mean return of the model episodes that ended in the last
    iteration. To evaluate on a real environment, give an `Evaluation` callback its env.

    Args:
        policy: The Keras policy.
        model: The differentiable `Model` to roll out.
        config: An `AnalyticPolicySearchConfig`.
        env: Optional `EnvSpec` or `Environment` of the real system; its spaces must match the
            model's. By default, the spec of the model's own environment (`TFEnv(model)`).

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For a policy whose output is not one distribution over `action_dim` actions,
            a recurrent policy that does not take sequences, an env whose spaces do not match
            the model, or a policy whose actions leave the model's bounds on a first trial
            rollout.

    Example:
        >>> model = rf.models.Pendulum()
        >>> agent = AnalyticPolicySearch(policy, model, AnalyticPolicySearchConfig(horizon=50))
        >>> agent.fit(200_000)
    """

    config_class = AnalyticPolicySearchConfig
    actor_class = AnalyticActor

    def __init__(
        self,
        policy: keras.Model,
        model: Model,
        config: AnalyticPolicySearchConfig | None = None,
        env: EnvSpec | Environment | None = None,
    ):
        check_instance("AnalyticPolicySearch", "policy", policy, keras.Model, "a keras.Model")
        check_instance(
            "AnalyticPolicySearch", "model", model, Model, "a reinforceable.models.Model"
        )
        super().__init__(EnvSpec(*model_spaces(model), num_envs=1) if env is None else env, config)
        spec, config = self.spec, self.config
        self.model = policy
        self.system = model
        if env is not None:
            check_env(model, spec)
        self.learner_policy = KerasPolicy(policy, deterministic=config.deterministic)
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        self.learner_policy.build(example)
        self.recurrent = bool(recurrent_layers(policy))
        if self.recurrent and not self.learner_policy.takes_sequences:
            raise ValueError(
                "AnalyticPolicySearch: a recurrent policy must take [batch, time, ...] sequences "
                "(declare a time axis on its inputs, as rf.networks.sac_actor(..., recurrent=) "
                "does)."
            )
        self.rng = generator(config.seed)
        check_policy(self)
        self.optimizer = keras.optimizers.Adam(config.learning_rate)
        self.optimizer.build(policy.trainable_variables)
        self.value = None
        if config.terminal_value:
            # A recurrent policy sees part of the state: its terminal value sees the whole
            # model state (the learner owns the model; an asymmetric critic).
            value_dim = model.state_dim if self.recurrent else model.obs_dim
            self.value = value_network(value_dim, config.value_hidden)
            self.value_optimizer = keras.optimizers.Adam(config.learning_rate)
            self.value_optimizer.build(self.value.trainable_variables)
        n = config.num_rollouts
        self.states = tf.Variable(
            self.system.initial_state([n], self.rng.uniform_full_int([2], tf.int32)),
            trainable=False,
            name="states",
        )
        self.policy_states = tf.nest.map_structure(
            lambda x: tf.Variable(x, trainable=False, name="policy_state"),
            self.learner_policy.initial_state(n),
        )
        self.episode_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="episode_step")
        self.episode_returns = tf.Variable(tf.zeros([n]), trainable=False, name="episode_returns")
        self._last_episode_return = math.nan
        self._train_graph = tf.function(self._train, autograph=False)
        self._build_actor()

    # ---------------------------------------------------------------------------- contract

    @property
    def collection(self) -> Collection | None:
        """`None`: it rolls its model out itself."""
        return None

    def acting_variables(self) -> dict[str, tf.Variable]:
        return acting_variables(policy=self.model)

    def actor_models(self) -> dict[str, keras.Model]:
        return {"policy": self.model}

    @classmethod
    def _from_saved(cls, env_or_spec, config, models, arguments, objects):
        model = model_object(objects, "AnalyticPolicySearch")
        return cls(models["policy"], model, config, env_or_spec)

    def _observe(self, trajectory: Trajectory) -> None:
        raise ValueError(
            "AnalyticPolicySearch.observe: the agent learns from its model's rollouts and takes "
            "no trajectories; call train() or update()."
        )

    # ---------------------------------------------------------------------------- checks

    def _step(self, observation, state):
        """The action distribution for `[N, obs]` observations and the next policy state (a
        recurrent policy's distribution has a time axis of 1: see `_drop_time`)."""
        policy = self.learner_policy
        if not self.recurrent:
            return self._distribution(observation), state
        starts = tf.zeros(tf.shape(observation)[:1], tf.bool)[:, None]
        distributions, _, state = policy.sequence_distributions(observation[:, None], starts, state)
        return self._single(distributions), state

    def _drop_time(self, action):
        return action[:, 0] if self.recurrent else action

    def _distribution(self, observation):
        distributions, _ = self.learner_policy.distributions(observation)
        return self._single(distributions)

    def _single(self, distributions):
        flat = tf.nest.flatten(distributions)
        if len(flat) != 1:
            raise ValueError(
                "AnalyticPolicySearch: the policy must output one distribution (a DenseNormal "
                f"head); received {len(flat)}."
            )
        return flat[0]

    # ---------------------------------------------------------------------------- training

    @property
    def rollout_steps(self) -> int:
        """Model steps per iteration."""
        return self.config.horizon * self.config.num_rollouts

    def _rollout(self, start, seed, policy_state=None):
        """Rolls `start` (and the policy's state) forward `horizon` steps in a `tf.while_loop`;
        returns the discounted sums, the per-step value inputs (observations, or states for a
        recurrent policy) and rewards `[H, N, ...]`, the final states, whether they are alive,
        and the final policy state. Truncation cuts the gradient through both states. The
        policy state starts from `policy_state` (zeros by default)."""
        if policy_state is None:
            policy_state = self.learner_policy.initial_state(tf.shape(start)[0])
        config, system = self.config, self.system
        horizon = config.horizon
        seeds = tf.random.split(seed, horizon)
        batch_shape = tf.shape(start)[:-1]
        dtype = start.dtype

        def body(t, state, alive, total, observations, rewards, memory):
            observation = tf.cast(system.observe(state), tf.float32)
            value_input = tf.cast(state, tf.float32) if self.recurrent else observation
            distribution, memory = self._step(observation, memory)
            if config.deterministic:
                action = distribution.mode()
            else:
                action = distribution.sample(seed=seeds[t])
            action = tf.cast(self._drop_time(action), dtype)
            reward = system.reward(state, action) * tf.cast(alive, dtype)
            total += tf.pow(tf.constant(config.discount, dtype), tf.cast(t, dtype)) * reward
            state = system.step(state, action)
            alive &= ~system.terminal(state)
            if config.truncation is not None:
                cut = tf.equal((t + 1) % config.truncation, 0)
                state = tf.where(cut, tf.stop_gradient(state), state)
                memory = tf.nest.map_structure(
                    lambda m: tf.where(cut, tf.stop_gradient(m), m), memory
                )
            return (
                t + 1,
                state,
                alive,
                total,
                observations.write(t, value_input),
                rewards.write(t, reward),
                memory,
            )

        _, final, alive, total, observations, rewards, memory = tf.while_loop(
            lambda t, *_: t < horizon,
            body,
            (
                tf.constant(0),
                start,
                ~system.terminal(start),
                tf.zeros(batch_shape, dtype),
                tf.TensorArray(tf.float32, size=horizon),
                tf.TensorArray(dtype, size=horizon),
                policy_state,
            ),
        )
        return total, observations.stack(), rewards.stack(), final, alive, memory

    def _train(self):
        config, system = self.config, self.system
        seed = self.rng.uniform_full_int([2], tf.int32)
        start = tf.identity(self.states)
        policy_variables = self.model.trainable_variables
        horizon_discount = config.discount**config.horizon
        with tf.GradientTape() as tape:
            total, observations, rewards, final, alive, memory = self._rollout(
                start, seed, tf.nest.map_structure(tf.identity, self.policy_states)
            )
            objective = total
            if self.value is not None:
                final_input = final if self.recurrent else system.observe(final)
                final_value = self.value(tf.cast(final_input, tf.float32))
                objective += tf.cast(
                    horizon_discount * final_value * tf.cast(alive, tf.float32), total.dtype
                )
            # Per step, so the scale (and the learning rate) does not depend on the horizon.
            loss = -tf.reduce_mean(tf.cast(objective, tf.float32)) / config.horizon
        gradients = tape.gradient(loss, policy_variables)
        gradients = [
            tf.zeros_like(v) if g is None else g
            for g, v in zip(gradients, policy_variables, strict=True)
        ]
        norm = tf.linalg.global_norm(gradients)
        if config.max_grad_norm is not None:
            gradients, _ = tf.clip_by_global_norm(gradients, config.max_grad_norm, use_norm=norm)
        finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)

        value_loss = tf.constant(0.0)
        if self.value is not None:
            # Targets: the discounted rewards to the window's end plus γ^(H-t) V(s_H).
            rewards32 = tf.stop_gradient(tf.cast(rewards, tf.float32))
            bootstrap = tf.stop_gradient(final_value * tf.cast(alive, tf.float32))
            returns, running = [], bootstrap
            for t in reversed(range(config.horizon)):
                running = rewards32[t] + config.discount * running
                returns.append(running)
            targets = tf.reshape(tf.stack(returns[::-1]), [-1])
            inputs = tf.reshape(observations, [-1, observations.shape[-1]])
            for _ in range(config.value_updates):
                with tf.GradientTape() as value_tape:
                    value_loss = tf.reduce_mean(tf.square(self.value(inputs) - targets))
                value_gradients = value_tape.gradient(value_loss, self.value.trainable_variables)
                self.value_optimizer.apply_gradients(
                    zip(value_gradients, self.value.trainable_variables, strict=True)
                )

        def apply():
            self.optimizer.apply_gradients(zip(gradients, policy_variables, strict=True))
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))

        # Carry the rollouts on; restart those whose episode is over.
        returns_so_far = self.episode_returns + tf.cast(tf.reduce_sum(rewards, 0), tf.float32)
        steps = self.episode_step + config.horizon
        over = steps >= config.episode_length
        fresh = system.initial_state(
            [config.num_rollouts], self.rng.uniform_full_int([2], tf.int32), final.dtype
        )
        self.states.assign(tf.where(over, fresh, tf.stop_gradient(final)))
        # A restarted rollout's policy state starts from zeros, as at an episode start.
        for variable, value in zip(
            tf.nest.flatten(self.policy_states), tf.nest.flatten(memory), strict=True
        ):
            variable.assign(tf.where(over, tf.zeros_like(value), tf.stop_gradient(value)))
        self.episode_step.assign(tf.where(over, tf.constant(0, tf.int64), steps))
        completed = tf.where(over, tf.reduce_mean(returns_so_far), math.nan)
        self.episode_returns.assign(tf.where(over, tf.zeros_like(returns_so_far), returns_so_far))
        self.env_steps.assign_add(config.horizon * config.num_rollouts)
        self.iterations.assign_add(1)
        return finite, tf.stack([loss, norm, value_loss, completed])

    def _update(self) -> dict[str, float]:
        """One gradient step on model rollouts; returns the metrics.

        Raises:
            TrainingDivergedError: If the loss or the gradient became NaN or infinite (that
                update is not applied).
        """
        finite, metrics = self._train_graph()
        if not bool(finite):
            raise TrainingDivergedError(
                "AnalyticPolicySearch: the loss or its gradient became NaN or infinite at "
                f"iteration {int(self.iterations.numpy())}; that update was not applied. Try a "
                "smaller `learning_rate`, a shorter `truncation` or a `max_grad_norm`."
            )
        loss, norm, value_loss, completed = (float(x) for x in metrics.numpy())
        result = {"losses/policy_loss": loss, "losses/grad_norm": norm}
        if self.value is not None:
            result["losses/value_loss"] = value_loss
        if not math.isnan(completed):
            self._last_episode_return = completed
        # The latest completed model episodes' mean return (NaN before the first ends).
        result["charts/episode_return"] = self._last_episode_return
        result["charts/episode_length"] = float(self.config.episode_length)
        return result

    # ---------------------------------------------------------------------------- the rest

    def checkpoint_items(self) -> dict[str, Any]:
        items = {
            "policy": self.model,
            "optimizer": self.optimizer,
            "states": self.states,
            "policy_states": tf.nest.flatten(self.policy_states),
            "episode_step": self.episode_step,
            "episode_returns": self.episode_returns,
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "rng": self.rng,
        }
        if self.value is not None:
            items.update(value=self.value, value_optimizer=self.value_optimizer)
        return items


def linear_gain(agent: AnalyticPolicySearch) -> np.ndarray:
    """The gain `K` of a linear policy (`u = -K x`): minus the Jacobian of the policy's mode at
    the origin, for testing against LQR."""
    observation = tf.zeros([1, agent.system.obs_dim])
    with tf.GradientTape() as tape:
        tape.watch(observation)
        action = agent._distribution(observation).mode()
    return -tape.batch_jacobian(action, observation)[0].numpy()
