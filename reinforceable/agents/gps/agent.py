"""`MDGPSAgent`: mirror-descent guided policy search (Montgomery & Levine, 2016)."""

from __future__ import annotations

from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance, config_or_default
from reinforceable.agents.gps.config import MDGPSConfig
from reinforceable.driver.driver import Driver
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.dynamics import GMMPrior, fit_tvlg
from reinforceable.envs.vector import GymEnv
from reinforceable.models.base import Model
from reinforceable.models.env import ModelEnv
from reinforceable.planning.kl_lqg import (
    expected_cost,
    kl_constrained_lqg,
    trajectory_distribution,
)
from reinforceable.planning.linear_gaussian import LinearGaussianPolicy
from reinforceable.planning.lqr import AffineDynamics, LinearGaussianController, QuadraticCost
from reinforceable.planning.quadratic import make_positive_semidefinite, quadratize
from reinforceable.training.logger import Logger

__all__ = ["GlobalPolicy", "MDGPSAgent"]

INITIAL_STATE_VARIANCE = 1e-6
"""The conditions' initial states are fixed: the trajectory model starts from a point mass."""


class GlobalPolicy(Policy):
    """The global Keras policy, acting with its mean: `u = π(x)`, in the Driver's loop.

    Args:
        model: A Keras model from states `[B, n]` to actions `[B, m]`.
        state_from_observation: `observation -> state`; the identity by default.
    """

    def __init__(self, model: keras.Model, state_from_observation: Callable | None = None):
        self.model = model
        self.state_from_observation = state_from_observation

    def step(self, timestep, state, seed) -> PolicyStep:
        observation = timestep.observation
        if self.state_from_observation is not None:
            observation = self.state_from_observation(observation)
        action = self.model(tf.cast(observation, tf.float32))
        return PolicyStep(action=tf.cast(action, tf.float32), state=state, extras={})


class MDGPSAgent:
    """Mirror-descent guided policy search: local linear-Gaussian controllers teach a global
    Keras policy.

    One iteration (`train_iteration`):

    1. **Sample** `samples_per_condition` trajectories from each condition's local controller
       through the `Driver` (`LinearGaussianPolicy` on a `ModelEnv` per sample).
    2. **Fit** time-varying linear-Gaussian dynamics per condition (`fit_tvlg`), with a
       `GMMPrior` over every transition seen so far.
    3. **Approximate the cost**: its quadratic expansion by autodiff at every sampled state and
       action, averaged over the samples, in absolute coordinates.
    4. **C-step**: per condition, `kl_constrained_lqg` finds the controller of least expected
       cost within `ε = kl_step · T · multiplier` of the global policy's linearisation (its
       Jacobian by autodiff at the samples' mean states, and its fitted covariance); in the
       first iteration, within ε of the current local controller.
    5. **S-step**: the global policy is trained to the new controllers' means at the sampled
       states, each squared error weighted by the controller's precision `Σ⁻¹`; its covariance
       becomes the inverse of the average precision.
    6. **Step size**: the multiplier of each condition grows when the sampled cost fell about as
       much as the fitted model predicted, and shrinks when it fell much less (a trust region):
       `multiplier *= clip(actual / (2 (predicted - actual)), 0.5, 2)` for `predicted > actual`.

    Interim results (η, KL, ε, the costs, the policy loss) go to `logger` under
    `"gps/condition_<c>/..."` and `"gps/..."`.

    Args:
        model: The `Model` of the task: the environments are `ModelEnv(model, horizon)` and the
            cost is `model.cost` unless `cost` is given.
        policy_model: A Keras model from states `[B, n]` to actions `[B, m]` (the mean of the
            global policy).
        conditions: `[C, n]` initial states, one local controller each.
        config: An `MDGPSConfig`.
        cost: `(state, action) -> cost`, twice differentiable; `model.cost` by default.
        logger: A `Logger` for the interim results (an in-memory one by default).

    Raises:
        TypeError: For arguments of the wrong type.
        ValueError: For `conditions` that are not `[C, state_dim]` and finite, or a policy whose
            output is not `[B, action_dim]`.

    Example:
        >>> agent = MDGPSAgent(rf.models.PointMass2D(), policy, conditions)
        >>> agent.fit(iterations=10)
        >>> rf.Driver(agent.eval_policy, env).run(50)
    """

    def __init__(
        self,
        model: Model,
        policy_model: keras.Model,
        conditions,
        config: MDGPSConfig | None = None,
        cost: Callable | None = None,
        logger: Logger | None = None,
    ):
        check_instance("MDGPSAgent", "model", model, Model, "a reinforceable.models.Model")
        check_instance("MDGPSAgent", "policy_model", policy_model, keras.Model)
        self.config = config = config_or_default("MDGPSAgent", config, MDGPSConfig)
        if logger is not None:
            check_instance("MDGPSAgent", "logger", logger, Logger)
        n, m = model.state_dim, model.action_dim
        conditions = np.asarray(conditions, np.float64)
        if conditions.ndim != 2 or conditions.shape[1] != n or not np.all(np.isfinite(conditions)):
            raise ValueError(
                f"MDGPSAgent: `conditions` must be finite [C, {n}] initial states (`state_dim`); "
                f"received shape {conditions.shape}."
            )
        output = policy_model(tf.zeros([1, n]))
        if tuple(output.shape) != (1, m):
            raise ValueError(
                f"MDGPSAgent: `policy_model` must map [B, {n}] states to [B, {m}] actions "
                f"(`action_dim`); it returned shape {tuple(output.shape)}."
            )
        self.model, self.policy_model, self.conditions = model, policy_model, conditions
        self.cost = cost if cost is not None else model.cost
        self.logger = logger if logger is not None else Logger()
        count, horizon, samples = len(conditions), config.horizon, config.samples_per_condition
        variance = config.initial_noise**2 * np.eye(m)
        self.controllers = LinearGaussianController(
            np.zeros((horizon, count, m, n)), np.zeros((horizon, count, m)),
            np.broadcast_to(variance, (horizon, count, m, m)).copy(),
        )  # fmt: skip
        self.local_policy = LinearGaussianPolicy(
            self.controllers,
            assignment=np.repeat(np.arange(count), samples),
            state_from_observation=model.state_from_observation,
        )
        self.env = GymEnv(
            [lambda c=c: ModelEnv(model, horizon, initial_state=c) for c in conditions
             for _ in range(samples)]
        )  # fmt: skip
        self.driver = Driver(self.local_policy, self.env, seed=config.seed)
        self.eval_policy = GlobalPolicy(policy_model, model.state_from_observation)
        self.prior = GMMPrior(config.prior_components, config.prior_strength, seed=config.seed)
        self.multipliers = np.ones(count)
        self.policy_covariance = variance
        self.optimizer = keras.optimizers.Adam(config.learning_rate)
        # Traced once: every iteration's S-step has the same C·S·T points.
        self._policy_step = tf.function(self._policy_step_graph)
        self.iteration = 0
        self._predicted: np.ndarray | None = None  # predicted cost after the last C-step
        self._sample_costs: np.ndarray | None = None

    # ------------------------------------------------------------------ sampling

    def sample(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Runs every local controller `samples_per_condition` times through the Driver.

        Returns:
            `(states [C, S, T + 1, n], actions [C, S, T, m], costs [C, S])`.
        """
        horizon, samples = self.config.horizon, self.config.samples_per_condition
        self.driver.reset(seed=self.config.seed + self.iteration)
        trajectory = self.driver.run(horizon * self.driver.num_envs)
        observations = tf.concat(
            [trajectory.observation, trajectory.next_timestep.observation[None]], 0
        )
        states = self.model.state_from_observation(tf.cast(observations, tf.float64)).numpy()
        count = len(self.conditions)
        states = np.moveaxis(states, 0, 1).reshape(count, samples, horizon + 1, -1)
        actions = np.moveaxis(trajectory.action.numpy().astype(np.float64), 0, 1)
        if self.model.action_low is not None:  # what the environment applied
            actions = np.clip(actions, self.model.action_low, self.model.action_high)
        actions = actions.reshape(count, samples, horizon, -1)
        costs = -trajectory.reward.numpy().sum(0).reshape(count, samples)
        return states, actions, costs

    # ------------------------------------------------------------------ local models

    def _quadratic_cost(self, states, actions) -> QuadraticCost:
        """The cost's expansion at every sample, in absolute coordinates, averaged over the
        samples (`states [S, T + 1, n]`, `actions [S, T, m]`); Hessians made PSD."""
        x = tf.constant(np.swapaxes(states[:, :-1], 0, 1))  # [T, S, n]
        u = tf.constant(np.swapaxes(actions, 0, 1))
        local = quadratize(self.cost, x, u)
        hessian, _ = make_positive_semidefinite(local.hessian)
        z = tf.concat([x, u], -1)
        # ½ (z - z̄)ᵀ C (z - z̄) + cᵀ (z - z̄) + ℓ̄ = ½ zᵀ C z + (c - C z̄)ᵀ z + const.
        gradient = local.gradient - tf.linalg.matvec(hessian, z)
        value = (
            local.value
            - tf.reduce_sum(local.gradient * z, -1)
            + 0.5 * tf.reduce_sum(z * tf.linalg.matvec(hessian, z), -1)
        )
        n = states.shape[-1]
        return QuadraticCost(
            tf.reduce_mean(hessian, 1).numpy(), tf.reduce_mean(gradient, 1).numpy(),
            tf.reduce_mean(value, 1).numpy(), np.zeros((n, n)), np.zeros(n), 0.0,
        )  # fmt: skip

    def _policy_linearization(self, states) -> LinearGaussianController:
        """`π(x) ≈ π(x̄_t) + J_t (x - x̄_t)` at the samples' mean states `x̄_t`, with the policy's
        covariance."""
        mean_states = tf.constant(states[:, :-1].mean(0), tf.float32)  # [T, n]
        with tf.GradientTape() as tape:
            tape.watch(mean_states)
            actions = self.policy_model(mean_states)
        jacobian = tape.batch_jacobian(actions, mean_states).numpy().astype(np.float64)
        offsets = actions.numpy().astype(np.float64) - np.einsum(
            "tij,tj->ti", jacobian, mean_states.numpy().astype(np.float64)
        )
        covariance = np.broadcast_to(self.policy_covariance, jacobian.shape[:1] +
                                     self.policy_covariance.shape)  # fmt: skip
        return LinearGaussianController(jacobian, offsets, covariance.copy())

    # ------------------------------------------------------------------ S-step

    def _train_policy(self, states, controllers) -> float:
        """Fits the global policy to the controllers' means at the sampled states, weighted by
        their precisions; returns the final loss."""
        n = states.shape[-1]
        K, k, covariance = controllers  # [T, C, ...]
        x = states[:, :, :-1]  # [C, S, T, n]
        targets = np.einsum("tcij,cstj->csti", K, x) + np.moveaxis(k, 0, 1)[:, None]
        precision = np.linalg.inv(np.moveaxis(covariance, 0, 1))[:, None]  # [C, 1, T, m, m]
        precision = np.broadcast_to(precision, targets.shape + targets.shape[-1:])
        m = targets.shape[-1]
        inputs = tf.constant(x.reshape(-1, n), tf.float32)
        targets = tf.constant(targets.reshape(-1, m), tf.float32)
        weights = tf.constant(precision.reshape(-1, m, m), tf.float32)
        for _ in range(self.config.policy_steps):
            loss = self._policy_step(inputs, targets, weights)
        self.policy_covariance = np.linalg.inv(precision.reshape(-1, m, m).mean(0))
        return float(loss)

    def _policy_step_graph(self, inputs, targets, weights):
        """One Adam step on the precision-weighted squared error; returns the loss."""
        variables = self.policy_model.trainable_variables
        with tf.GradientTape() as tape:
            error = self.policy_model(inputs) - targets
            loss = tf.reduce_mean(tf.reduce_sum(error * tf.linalg.matvec(weights, error), -1))
        self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
        return loss

    # ------------------------------------------------------------------ iterations

    def _adapt_step(self, costs: np.ndarray) -> None:
        """Trust-region update of the multipliers from the last C-step's predicted cost and the
        sampled cost before and after it."""
        if self._predicted is None:
            return
        actual = self._sample_costs - costs.mean(1)
        predicted = self._sample_costs - self._predicted
        for c in range(len(self.multipliers)):
            if predicted[c] <= actual[c]:  # at least as good as predicted
                factor = 2.0
            else:
                factor = np.clip(actual[c] / (2.0 * (predicted[c] - actual[c])), 0.5, 2.0)
            self.multipliers[c] = np.clip(
                self.multipliers[c] * factor, self.config.min_step_multiplier,
                self.config.max_step_multiplier,
            )  # fmt: skip

    def train_iteration(self) -> dict[str, float]:
        """Sample, fit, C-step, S-step, adapt: one iteration. Returns its logs."""
        config, logger = self.config, self.logger
        states, actions, costs = self.sample()
        self._adapt_step(costs)
        flat_states = states.reshape(-1, *states.shape[2:])
        self.prior.update(flat_states, actions.reshape(-1, *actions.shape[2:]))
        n = states.shape[-1]
        new, predicted = [], []
        logger.step = self.iteration
        for c, condition in enumerate(self.conditions):
            dynamics = AffineDynamics(*fit_tvlg(states[c], actions[c], prior=self.prior))
            cost = self._quadratic_cost(states[c], actions[c])
            current = LinearGaussianController(*(np.asarray(v)[:, c] for v in self.controllers))
            reference = current if self.iteration == 0 else self._policy_linearization(states[c])
            step = config.kl_step * config.horizon * self.multipliers[c]
            initial_covariance = INITIAL_STATE_VARIANCE * np.eye(n)
            solution = kl_constrained_lqg(dynamics, cost, reference, step, condition,
                                          initial_covariance)  # fmt: skip
            distribution = trajectory_distribution(dynamics, solution.controller, condition,
                                                   initial_covariance)  # fmt: skip
            predicted.append(expected_cost(cost, distribution))
            new.append(solution.controller)
            with logger.scope("gps"), logger.scope(f"condition_{c}"):
                logger.log_dict({"eta": solution.eta, "kl": solution.kl, "kl_step": step,
                                 "sample_cost": costs[c].mean(),
                                 "predicted_cost": predicted[-1]})  # fmt: skip
        self.controllers = LinearGaussianController(
            *(np.stack([getattr(s, f) for s in new], axis=1) for f in
              ("gains", "offsets", "covariance"))
        )  # fmt: skip
        self.local_policy.assign(self.controllers)
        policy_loss = self._train_policy(states, self.controllers)
        self._predicted, self._sample_costs = np.asarray(predicted), costs.mean(1)
        self.iteration += 1
        logs = {
            "iteration": self.iteration,
            "sample_cost": float(costs.mean()),
            "policy_loss": policy_loss,
            "mean_step_multiplier": float(self.multipliers.mean()),
        }
        with logger.scope("gps"):
            logger.log_dict({k: v for k, v in logs.items() if k != "iteration"})
        return logs

    def fit(self, iterations: int, verbose: bool = True) -> list[dict[str, float]]:
        """Runs `iterations` iterations; prints one line each with `verbose`."""
        if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1:
            raise ValueError(f"MDGPSAgent.fit: `iterations` must be a positive int; received "
                             f"{iterations!r}.")  # fmt: skip
        history = []
        for _ in range(iterations):
            logs = self.train_iteration()
            history.append(logs)
            if verbose:
                print(
                    f"iteration {logs['iteration']:3d}  sample cost {logs['sample_cost']:9.3f}"
                    f"  policy loss {logs['policy_loss']:8.4f}"
                    f"  step multiplier {logs['mean_step_multiplier']:.2f}",
                    flush=True,
                )
        self.logger.flush()
        return history

    def close(self) -> None:
        self.env.close()
