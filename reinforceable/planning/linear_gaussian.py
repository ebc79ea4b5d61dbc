"""`LinearGaussianPolicy`: time-varying linear-Gaussian controllers on the Driver's loop."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.planning.lqr import LinearGaussianController

__all__ = ["LinearGaussianPolicy"]


class LinearGaussianPolicy(Policy):
    """Runs controllers `u_t ~ N(K_t x_t + k_t, Σ_t)`, one per condition, in the Driver.

    The policy state is the step index of each environment's episode (reset to 0 where an episode
    starts); after the last step the last controller is held. Environment `b` runs controller
    `assignment[b]`, so a batch of `C` conditions × `S` samples is `assignment = [0]*S + [1]*S +
    ...`. This is how iLQR's feedback controller and guided policy search's local controllers
    are executed and sampled.

    Args:
        controller: A `LinearGaussianController` with `[T, C, ...]` tensors (a controller of
            `[T, ...]` without the condition axis is one condition).
        assignment: `[B]` ints in `[0, C)`: the condition of each environment (`b % C` by
            default, for any batch size).
        action_transform: Applied to the sampled `u` before it is returned (`ILQR.to_action` to
            squash into the bounds); the identity by default.
        state_from_observation: `observation [B, ...] -> x [B, n]`; the identity by default.
        deterministic: Act with the mean, ignoring `Σ`.
        nominal_states: `[T, C, n]` (or `[T, n]`), the trajectory the controllers were built
            around; with `state_difference`, the state is re-expressed next to it,
            `x̄_t + state_difference(x, x̄_t)`, before the controller sees it (wrapped angles).
        state_difference: `(x, x̄) -> x - x̄`, such as `Model.state_difference`.

    Raises:
        TypeError: If `controller` is not a `LinearGaussianController`.
        ValueError: If the shapes do not agree, or `assignment` names an unknown condition.

    Example:
        >>> result = planner.solve(x0)
        >>> rf.Driver(planner.linear_gaussian_policy(result), env).run(200)
    """

    def __init__(
        self,
        controller: LinearGaussianController,
        assignment=None,
        action_transform: Callable | None = None,
        state_from_observation: Callable | None = None,
        deterministic: bool = False,
        nominal_states=None,
        state_difference: Callable | None = None,
    ):
        check_instance("LinearGaussianPolicy", "controller", controller, LinearGaussianController)
        gains = tf.convert_to_tensor(controller.gains)
        if gains.shape.rank == 3:
            controller = LinearGaussianController(*(tf.convert_to_tensor(v)[:, None]
                                                    for v in controller))  # fmt: skip
            gains = controller.gains
        if gains.shape.rank != 4:
            raise ValueError(
                "LinearGaussianPolicy: `controller.gains` must be [T, C, m, n] (or [T, m, n]); "
                f"received {gains.shape}."
            )
        steps, conditions, m, _ = gains.shape
        offsets = tf.convert_to_tensor(controller.offsets, gains.dtype)
        covariance = tf.convert_to_tensor(controller.covariance, gains.dtype)
        for name, value, shape in (
            ("offsets", offsets, [steps, conditions, m]),
            ("covariance", covariance, [steps, conditions, m, m]),
        ):
            if value.shape != shape:
                raise ValueError(
                    f"LinearGaussianPolicy: `controller.{name}` must be {shape} to match the "
                    f"gains; received {value.shape}."
                )
        if assignment is not None:
            assignment = np.asarray(assignment)
            if assignment.ndim != 1 or np.any(assignment < 0) or np.any(assignment >= conditions):
                raise ValueError(
                    f"LinearGaussianPolicy: `assignment` must be [B] ints in [0, {conditions}) "
                    f"(the controller's conditions); received {assignment.tolist()}."
                )
        # Variables, so `assign` can swap in new controllers of the same shape between runs of
        # a Driver without retracing it.
        self.gains = tf.Variable(gains, trainable=False, name="gains")
        self.offsets = tf.Variable(offsets, trainable=False, name="offsets")
        self.scale = tf.Variable(self.cholesky(covariance), trainable=False, name="scale")
        self.steps, self.conditions = steps, conditions
        self.assignment = assignment
        self.action_transform = action_transform
        self.state_from_observation = state_from_observation
        self.deterministic = deterministic
        if (nominal_states is None) != (state_difference is None):
            raise ValueError(
                "LinearGaussianPolicy: give both `nominal_states` and `state_difference`, or "
                "neither."
            )
        self.nominal_states, self.state_difference = None, state_difference
        if nominal_states is not None:
            nominal = tf.convert_to_tensor(nominal_states, gains.dtype)
            if nominal.shape.rank == 2:
                nominal = nominal[:, None]
            if nominal.shape != (steps, conditions, gains.shape[-1]):
                raise ValueError(
                    f"LinearGaussianPolicy: `nominal_states` must be "
                    f"{[steps, conditions, gains.shape[-1]]} to match the gains; received "
                    f"{nominal.shape}."
                )
            self.nominal_states = nominal

    @staticmethod
    def cholesky(covariance) -> tf.Tensor:
        """The lower Cholesky factor of `covariance` `[..., m, m]`, as the policy samples with
        (a jitter of 1e-12 makes a zero covariance, a deterministic controller, factorisable)."""
        jitter = 1e-12 * tf.eye(covariance.shape[-1], dtype=covariance.dtype)
        return tf.linalg.cholesky(covariance + jitter)

    def assign(self, controller: LinearGaussianController) -> None:
        """Runs `controller` (`[T, C, ...]`, the shapes of the current one) from now on."""
        for variable, value in zip((self.gains, self.offsets), controller[:2], strict=True):
            variable.assign(tf.cast(value, variable.dtype))
        self.scale.assign(self.cholesky(tf.cast(controller.covariance, self.scale.dtype)))

    def initial_state(self, batch_size: int) -> tf.Tensor:
        return tf.zeros([batch_size], tf.int32)

    def _conditions(self, batch_size) -> tf.Tensor:
        if self.assignment is not None:
            return tf.constant(self.assignment, tf.int32)
        return tf.math.floormod(tf.range(batch_size), self.conditions)

    def step(self, timestep, state, seed) -> PolicyStep:
        observation = timestep.observation
        if self.state_from_observation is not None:
            observation = self.state_from_observation(observation)
        x = tf.cast(observation, self.gains.dtype)
        index = tf.stack(
            [tf.minimum(state, self.steps - 1), self._conditions(tf.shape(state)[0])], -1
        )
        if self.nominal_states is not None:
            nominal = tf.gather_nd(self.nominal_states, index)
            x = nominal + self.state_difference(x, nominal)
        mean = tf.linalg.matvec(tf.gather_nd(self.gains, index), x)
        mean += tf.gather_nd(self.offsets, index)
        action = mean
        if not self.deterministic:
            noise = tf.random.stateless_normal(tf.shape(mean), seed, dtype=mean.dtype)
            action = mean + tf.linalg.matvec(tf.gather_nd(self.scale, index), noise)
        if self.action_transform is not None:
            action = self.action_transform(action)
        return PolicyStep(
            action=tf.cast(action, tf.float32), state=state + 1, extras={"step": state}
        )
