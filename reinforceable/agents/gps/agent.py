"""`MDGPSAgent`: mirror-descent guided policy search (Montgomery & Levine, 2016)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance, config_or_default
from reinforceable.agents._numpy_state import NumpyState
from reinforceable.agents._saving import model_object
from reinforceable.agents.base import Agent, Collection
from reinforceable.agents.gps.actor import GlobalPolicy, MDGPSActor, gps_acting_variables
from reinforceable.agents.gps.config import MDGPSConfig
from reinforceable.driver.trajectory import Trajectory
from reinforceable.dynamics import GMMPrior, fit_tvlg
from reinforceable.envs.tf_env import TFEnv
from reinforceable.models.base import Model
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


class MDGPSAgent(Agent):
    """Mirror-descent guided policy search: local linear-Gaussian controllers teach a global
    Keras policy.

    One iteration (`fit`, or `train(trajectory)`):

    1. **Sample** `samples_per_condition` trajectories from each condition's local controller:
       the actor's `LinearGaussianPolicy` on the agent's `TFEnv` of `C · S` environments (each
       starting from its condition), from fresh resets, `horizon` steps.
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

    It runs on the `Trainer` like every agent (`fit(total_steps)`, where an iteration is
    `C · S · horizon` env steps), with callbacks, checkpoints and resume: the controllers,
    step multipliers, the dynamics prior and the predicted costs are checkpointed with the
    global policy. The actor samples the local controllers (`policy`) and evaluates the global
    policy (`eval_policy`). Interim results (η, KL, ε, the costs, the policy loss) go to
    `logger` under `"gps/condition_<c>/..."` and `"gps/..."`.

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
        >>> agent.fit(10 * agent.rollout_steps)   # ten iterations
        >>> rf.Driver(agent.eval_policy, env).run(50)
    """

    config_class = MDGPSConfig
    actor_class = MDGPSActor

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
        config = config_or_default("MDGPSAgent", config, MDGPSConfig)
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
        # The sampling environments: S copies of each condition, stepped in TF (float64, the
        # precision of the dynamics fits).
        super().__init__(
            TFEnv(model, count * samples, horizon, initial_state=np.repeat(conditions, samples, 0),
                  seed=config.seed, dtype="float64", env_id="MDGPS"),
            config,
        )  # fmt: skip
        variance = config.initial_noise**2 * np.eye(m)
        covariance = np.broadcast_to(variance, (horizon, count, m, m)).copy()
        self.gains = tf.Variable(np.zeros((horizon, count, m, n)), trainable=False, name="gains")
        self.offsets = tf.Variable(np.zeros((horizon, count, m)), trainable=False, name="offsets")
        self.covariance = tf.Variable(covariance, trainable=False, name="covariance")
        self.scale = tf.Variable(
            LinearGaussianPolicy.cholesky(tf.constant(covariance)), trainable=False, name="scale"
        )
        self.prior = GMMPrior(config.prior_components, config.prior_strength, seed=config.seed)
        self.multipliers = np.ones(count)
        self.policy_covariance = variance
        self.optimizer = keras.optimizers.Adam(config.learning_rate)
        self.optimizer.build(policy_model.trainable_variables)
        # Traced once: every iteration's S-step has the same C·S·T points.
        self._policy_step = tf.function(self._policy_step_graph)
        self._predicted: np.ndarray | None = None  # predicted cost after the last C-step
        self._sample_costs: np.ndarray | None = None
        self._numpy_state = NumpyState(self._read_numpy_state, self._write_numpy_state)
        self._pending: tuple | None = None
        self._build_actor()

    # ------------------------------------------------------------------ contract

    @property
    def collection(self) -> Collection:
        """`horizon` steps of every sampling environment, from fresh resets."""
        return Collection(steps_per_env=self.config.horizon, fresh_episodes=True)

    @property
    def controllers(self) -> LinearGaussianController:
        """The local controllers, `[T, C, ...]` NumPy arrays."""
        return LinearGaussianController(
            self.gains.numpy(), self.offsets.numpy(), self.covariance.numpy()
        )

    def _assign_controllers(self, controllers: LinearGaussianController) -> None:
        self.gains.assign(controllers.gains)
        self.offsets.assign(controllers.offsets)
        self.covariance.assign(controllers.covariance)
        self.scale.assign(LinearGaussianPolicy.cholesky(tf.constant(controllers.covariance)))

    def acting_variables(self) -> dict[str, tf.Variable]:
        return gps_acting_variables(self.gains, self.offsets, self.scale, self.policy_model)

    def actor_models(self) -> dict[str, keras.Model]:
        return {"policy": self.policy_model}

    def actor_objects(self) -> dict[str, Any]:
        return {"model": self.model}

    def saved_arguments(self) -> dict[str, Any]:
        return {"conditions": self.conditions.tolist()}

    @classmethod
    def _from_saved(cls, env_or_spec, config, models, arguments, objects):
        model = model_object(objects, "MDGPSAgent", " (and `cost=`, `logger=` if it had them)")
        return cls(model, models["policy"], arguments["conditions"], config,
                   cost=objects.get("cost"), logger=objects.get("logger"))  # fmt: skip

    def checkpoint_items(self) -> dict[str, Any]:
        return {
            "policy": self.policy_model,
            "optimizer": self.optimizer,
            "gains": self.gains,
            "offsets": self.offsets,
            "covariance": self.covariance,
            "scale": self.scale,
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "numpy_state": self._numpy_state,
        }

    def _read_numpy_state(self) -> dict[str, Any]:
        prior = self.prior
        return {
            "multipliers": self.multipliers,
            "policy_covariance": self.policy_covariance,
            "predicted": self._predicted,
            "sample_costs": self._sample_costs,
            "prior_points": prior.points,
            "prior_weights": prior.weights,
            "prior_means": prior.means,
            "prior_covariances": prior.covariances,
        }

    def _write_numpy_state(self, values: dict[str, Any]) -> None:
        self.multipliers = values["multipliers"]
        self.policy_covariance = values["policy_covariance"]
        self._predicted, self._sample_costs = values["predicted"], values["sample_costs"]
        prior = self.prior
        prior.points, prior.weights = values["prior_points"], values["prior_weights"]
        prior.means, prior.covariances = values["prior_means"], values["prior_covariances"]

    # ------------------------------------------------------------------ samples

    def _observe(self, trajectory: Trajectory) -> None:
        """Keeps the samples of one iteration: `horizon` steps of the `C · S` environments."""
        horizon, samples = self.config.horizon, self.config.samples_per_condition
        count = len(self.conditions)
        steps, envs = trajectory.reward.shape
        if steps != horizon or envs != count * samples:
            raise ValueError(
                f"MDGPSAgent.observe: the trajectory must be [horizon, C * S] = [{horizon}, "
                f"{count * samples}] (collect it as `collection` says); received [{steps}, {envs}]."
            )
        self._pending = self._samples(trajectory)

    def _samples(self, trajectory: Trajectory) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`(states [C, S, T + 1, n], actions [C, S, T, m], costs [C, S])` of a trajectory."""
        horizon, samples = self.config.horizon, self.config.samples_per_condition
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

    def _update(self) -> dict[str, float]:
        """Fit, C-step, S-step, adapt, on the observed samples: one iteration. Returns its logs.

        Raises:
            ValueError: If nothing was observed since the last update.
        """
        if self._pending is None:
            raise ValueError("MDGPSAgent.update: observe a trajectory first.")
        (states, actions, costs), self._pending = self._pending, None
        config, logger = self.config, self.logger
        iteration = int(self.iterations.numpy())
        self._adapt_step(costs)
        flat_states = states.reshape(-1, *states.shape[2:])
        self.prior.update(flat_states, actions.reshape(-1, *actions.shape[2:]))
        n = states.shape[-1]
        new, predicted = [], []
        logger.step = iteration
        controllers = self.controllers
        for c, condition in enumerate(self.conditions):
            dynamics = AffineDynamics(*fit_tvlg(states[c], actions[c], prior=self.prior))
            cost = self._quadratic_cost(states[c], actions[c])
            current = LinearGaussianController(*(np.asarray(v)[:, c] for v in controllers))
            reference = current if iteration == 0 else self._policy_linearization(states[c])
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
        controllers = LinearGaussianController(
            *(np.stack([getattr(s, f) for s in new], axis=1) for f in
              ("gains", "offsets", "covariance"))
        )  # fmt: skip
        self._assign_controllers(controllers)
        policy_loss = self._train_policy(states, controllers)
        self._predicted, self._sample_costs = np.asarray(predicted), costs.mean(1)
        self.env_steps.assign_add(int(np.prod(actions.shape[:3])))
        self.iterations.assign_add(1)
        logs = {
            "sample_cost": float(costs.mean()),
            "policy_loss": policy_loss,
            "mean_step_multiplier": float(self.multipliers.mean()),
        }
        with logger.scope("gps"):
            logger.log_dict(logs)
        logger.flush()
        return {
            "charts/sample_cost": logs["sample_cost"],
            "losses/policy_loss": policy_loss,
            "charts/mean_step_multiplier": logs["mean_step_multiplier"],
        }
