"""`FilteredPolicy`: a state estimator in front of a planner or a policy, on the Driver's loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.estimation.base import StateEstimator

__all__ = ["FilteredPolicy"]

PLAN_FROM = ("mean", "samples")


class FilteredPolicy(Policy):
    """Acts on a belief instead of an observation: filter, act, predict, in the Driver's loop.

    At each step: the belief about the current state is updated with the observation; the inner
    policy acts on it; the belief is predicted through the action and carried, with the inner
    policy's own state, as this policy's state. Where an episode starts, the Driver resets both to
    their initial values (the estimator's `initial_belief`, the plan or RNN state), exactly as it
    does for a recurrent policy.

    The inner policy sees the belief in one of two ways:

    * a planner with `step_from_state` (`MPPI`) plans from the belief's mean
      (`plan_from="mean"`), or from `num_samples` states drawn from it (`"samples"`: each
      sequence's cost is averaged over them, a cheap robust plan; for a particle filter they are
      resampled particles). The mean jumps from step to step by the filter's corrections; give
      `MPPI` `MPPIConfig(feedback=True)` so its warm start follows with LQR gains;
    * any other `Policy` (a `KerasPolicy`, say) gets a timestep whose observation is
      `features(belief)`: by default the mean concatenated with the log standard deviations,
      `[B, 2 n]`, so a learned policy can tell a sure estimate from a vague one.

    The extras hold the inner policy's and `belief_mean` `[B, n]`, `belief_std` `[B, n]` and the
    observation's `log_likelihood` `[B]`, so the trajectory shows how the filter did.

    Args:
        estimator: A `StateEstimator`.
        policy: The inner `Policy`.
        plan_from: `"mean"` or `"samples"` (planners only).
        num_samples: States drawn per step with `plan_from="samples"`.
        features: For a policy without `step_from_state`: `belief -> [B, d]` tensor.

    Raises:
        TypeError: If `estimator` or `policy` has the wrong type.
        ValueError: For an unknown `plan_from`, or a bad `num_samples`.

    Example:
        >>> ukf = rf.estimation.UnscentedKalmanFilter(task)
        >>> config = rf.planning.MPPIConfig(feedback=True)
        >>> policy = FilteredPolicy(ukf, rf.planning.MPPI(rf.models.Pendulum(), config))
        >>> rf.Driver(policy, env).run(episodes=4)
    """

    def __init__(
        self,
        estimator: StateEstimator,
        policy: Policy,
        plan_from: str = "mean",
        num_samples: int = 8,
        features: Callable[[Any], tf.Tensor] | None = None,
    ):
        check_instance("FilteredPolicy", "estimator", estimator, StateEstimator)
        check_instance("FilteredPolicy", "policy", policy, Policy)
        if plan_from not in PLAN_FROM:
            raise ValueError(
                f"FilteredPolicy: `plan_from` must be one of {PLAN_FROM}; received {plan_from!r}."
            )
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
            raise ValueError(
                f"FilteredPolicy: `num_samples` must be a positive int; received {num_samples!r}."
            )
        self.estimator, self.policy = estimator, policy
        self.plan_from, self.num_samples = plan_from, num_samples
        self.features = features if features is not None else self._mean_and_log_std
        self._plans = hasattr(policy, "step_from_state")

    def _mean_and_log_std(self, belief) -> tf.Tensor:
        mean = self.estimator.mean(belief)
        variance = tf.linalg.diag_part(self.estimator.covariance(belief))
        return tf.concat([mean, 0.5 * tf.math.log(tf.maximum(variance, 1e-12))], axis=-1)

    def build(self, timestep) -> None:
        if not self._plans:
            belief = self.estimator.initial_belief(1)
            features = tf.cast(self.features(belief), tf.float32)
            self.policy.build(timestep._replace(observation=features))

    def take_warnings(self) -> list[str]:
        """The estimator's (a skipped observation) and the inner policy's warnings."""
        return [*self.estimator.take_warnings(), *self.policy.take_warnings()]

    def initial_state(self, batch_size: int) -> Any:
        return (self.estimator.initial_belief(batch_size), self.policy.initial_state(batch_size))

    def step(self, timestep, state, seed) -> PolicyStep:
        belief, inner = state
        seeds = tf.unstack(tf.random.experimental.stateless_split(seed, 4))
        belief, log_likelihood = self.estimator.update(belief, timestep.observation, seeds[0])
        mean = self.estimator.mean(belief)
        if self._plans:
            if self.plan_from == "mean":
                model_state = mean
            else:
                model_state = self.estimator.sample(belief, self.num_samples, seeds[1])
            result = self.policy.step_from_state(model_state, inner, seeds[2])
        else:
            features = tf.cast(self.features(belief), tf.float32)
            result = self.policy.step(timestep._replace(observation=features), inner, seeds[2])
        next_belief = self.estimator.predict(belief, result.action, seeds[3])
        variance = tf.linalg.diag_part(self.estimator.covariance(belief))
        extras = {
            **result.extras,
            "belief_mean": tf.cast(mean, tf.float32),
            "belief_std": tf.cast(tf.sqrt(tf.maximum(variance, 0.0)), tf.float32),
            "log_likelihood": tf.cast(log_likelihood, tf.float32),
        }
        return PolicyStep(action=result.action, state=(next_belief, result.state), extras=extras)
