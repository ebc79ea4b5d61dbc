"""`ILQR`: iterative LQR (iLQG's deterministic core) on any differentiable `Model` and cost."""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from reinforceable._checks import (
    check_bounds,
    check_instance,
    config_or_default,
)
from reinforceable.models.base import Model
from reinforceable.planning._squash import SQUASH_LIMIT, squash, squash_derivative, unsquash
from reinforceable.planning.ilqr_config import ILQRConfig, ILQRResult
from reinforceable.planning.linear_gaussian import LinearGaussianPolicy
from reinforceable.planning.lqr import (
    AffineDynamics,
    LinearGaussianController,
    QuadraticCost,
    lqr,
)
from reinforceable.planning.quadratic import (
    check_convexity,
    linearize,
    make_positive_semidefinite,
    quadratize,
)

__all__ = ["ILQR", "ILQRConfig", "ILQRResult"]


class ILQR:
    """Iterative LQR (Li & Todorov, 2004; Tassa et al., 2012) on a differentiable `Model`.

    Each iteration linearises the dynamics and quadratises the cost around the current
    trajectory by autodiff (`linearize`, `quadratize`), solves the LQR problem in the deviations
    (`lqr`, with `Q_uu + μ I`), and rolls the new controller `v = v̄ + α k + K (x - x̄)` out on the
    real model for all step sizes `α = 1, ½, ...` at once. The largest step that lowers the cost
    by at least `armijo` times the predicted reduction is taken and μ falls; if none is, the
    trajectory stays and μ rises. So the cost never increases. The whole solve, B initial states
    at once, is one `tf.function` and one `tf.while_loop`.

    A model with bounded actions (`action_low`/`action_high`) is planned in an unbounded space
    `v`, with `u = low + (high - low)(tanh(v) + 1)/2` (`to_action`), as `MPPI` does; the cost's
    curvature in `v` takes the Gauss-Newton form `Jᵀ ∇²_u ℓ J` of the squash's Jacobian `J`, so a
    convex cost stays convex.

    The feedback controller around the result runs on the Driver with
    `LinearGaussianPolicy(result.controller, action_transform=planner.to_action)`.

    Args:
        model: The `Model`.
        config: An `ILQRConfig`.
        cost: `(state [P, n], action [P, m]) -> [P]`, twice differentiable; `model.cost` by
            default.
        terminal_cost: `state [P, n] -> [P]`, or `None`.
        dtype: float64 by default (the Riccati recursion is better conditioned in it).

    Raises:
        TypeError: If `model` is not a `Model` or `config` not an `ILQRConfig`.
        ValueError: For bounds that are not `[action_dim]` arrays with low < high.

    Example:
        >>> planner = ILQR(rf.models.Pendulum(), ILQRConfig(horizon=100))
        >>> result = planner.solve([[np.pi, 0.0]])
        >>> result.cost_history[-1]
    """

    def __init__(
        self,
        model: Model,
        config: ILQRConfig | None = None,
        cost: Callable | None = None,
        terminal_cost: Callable | None = None,
        dtype=tf.float64,
    ):
        check_instance("ILQR", "model", model, Model, "a reinforceable.models.Model")
        self.config = config_or_default("ILQR", config, ILQRConfig, "an ILQRConfig")
        for name, value in (("cost", cost), ("terminal_cost", terminal_cost)):
            if value is not None and not callable(value):
                raise TypeError(
                    f"ILQR: `{name}` must be callable; received {type(value).__name__}."
                )
        self.model, self.dtype = model, tf.as_dtype(dtype)
        self.cost = cost if cost is not None else model.cost
        self.terminal_cost = terminal_cost
        self.bounded = model.action_low is not None
        self.squashed = self.bounded and self.config.bounds == "squash"
        if self.bounded:
            self.low, self.high = check_bounds(
                "ILQR", "the model's bounds", model.action_low, model.action_high, model.action_dim
            )
        self._solve = tf.function(self._solve_graph)

    # ------------------------------------------------------------------ the control space

    def to_action(self, control: tf.Tensor) -> tf.Tensor:
        """The action of a control `v`: squashed into the box for a bounded model."""
        if self.squashed:
            return squash(control, self.low, self.high)
        if self.bounded:
            return tf.clip_by_value(control, self.low, self.high)
        return control

    def from_action(self, action: tf.Tensor) -> tf.Tensor:
        """The control of an action (the inverse of `to_action`, clipped near the bounds)."""
        return unsquash(action, self.low, self.high) if self.squashed else action

    def _limit(self, control):
        """Keeps controls out of deep saturation, where the squash's slope (and with it every
        gradient) vanishes and iLQR would stall: at most `SQUASH_LIMIT` of the way to a bound."""
        if not self.squashed:
            return self.to_action(control)
        limit = float(np.arctanh(SQUASH_LIMIT))
        return tf.clip_by_value(control, -limit, limit)

    # ------------------------------------------------------------------ public

    def solve(self, initial_state, initial_actions=None) -> ILQRResult:
        """Optimises a trajectory of `horizon` steps from each initial state.

        Args:
            initial_state: `[B, n]` (or `[n]`).
            initial_actions: `[T, B, m]` actions to start from (inside the bounds); the middle of
                the box (zero without bounds) by default.

        Returns:
            An `ILQRResult`.

        Raises:
            ValueError: For shapes that do not fit the model and horizon, a non-finite
                `initial_state` or `initial_actions`, or (with `nonconvex_cost="raise"`) a cost
                Hessian that is not positive semi-definite.

        Warns:
            RuntimeWarning: If the cost of a trajectory is not finite, naming which.
        """
        state = tf.convert_to_tensor(initial_state, self.dtype)
        if state.shape.rank == 1:
            state = state[None]
        n, m, horizon = self.model.state_dim, self.model.action_dim, self.config.horizon
        if state.shape.rank != 2 or state.shape[-1] != n:
            raise ValueError(
                f"ILQR.solve: `initial_state` must be [B, {n}] (`state_dim`); received "
                f"{state.shape}."
            )
        if not np.all(np.isfinite(state.numpy())):
            rows = np.flatnonzero(~np.all(np.isfinite(state.numpy()), axis=-1)).tolist()
            raise ValueError(
                f"ILQR.solve: `initial_state` must be finite; rows {rows} hold NaN or infinity."
            )
        batch = state.shape[0]
        if initial_actions is None:
            controls = tf.zeros([horizon, batch, m], self.dtype)
            if self.bounded:  # the middle of the box
                controls = self.from_action(controls + (self.low + self.high) / 2)
        else:
            actions = tf.convert_to_tensor(initial_actions, self.dtype)
            if actions.shape != (horizon, batch, m):
                raise ValueError(
                    f"ILQR.solve: `initial_actions` must be [{horizon}, {batch}, {m}] (horizon, "
                    f"batch, action_dim); received {actions.shape}."
                )
            if not np.all(np.isfinite(actions.numpy())):
                raise ValueError("ILQR.solve: `initial_actions` must be finite.")
            controls = self.from_action(actions)
        result = self._solve(state, controls)
        check_convexity("ILQR", self.config.nonconvex_cost, float(result.most_negative_eigenvalue))
        bad = np.flatnonzero(~np.isfinite(result.cost.numpy())).tolist()
        if bad:
            warnings.warn(
                f"ILQR.solve: the cost of the trajectories {bad} is not finite (the model or the "
                "cost returned NaN or infinity along them); their plans are not usable.",
                RuntimeWarning,
                stacklevel=2,
            )
        return result

    def linear_gaussian_policy(self, result: ILQRResult, index: int | None = None):
        """A deterministic `LinearGaussianPolicy` that runs `result.controller` in the Driver on
        the model's environment (states read with `model.state_from_observation`, and measured
        from the planned trajectory with `model.state_difference`, so wrapped angles work).

        Args:
            result: What `solve` returned.
            index: Run the controller of this batch entry in every environment; by default,
                environment `b` runs entry `b % B`.
        """
        controller, nominal = result.controller, result.states[:-1]
        if index is not None:
            controller = LinearGaussianController(*(v[:, index] for v in controller))
            nominal = nominal[:, index]
        return LinearGaussianPolicy(
            controller,
            action_transform=self.to_action,
            state_from_observation=self.model.state_from_observation,
            deterministic=True,
            nominal_states=nominal,
            state_difference=self.model.state_difference,
        )

    # ------------------------------------------------------------------ graph

    def _control_bounds(self, controls):
        """The box of the offsets around `controls` (clamp mode), or `None`."""
        if not self.bounded or self.squashed:
            return None
        low, high = tf.constant(self.low, self.dtype), tf.constant(self.high, self.dtype)
        return low - controls, high - controls

    def _cost_in_controls(self, states, controls):
        return self.cost(states, self.to_action(controls))

    def _rollout(self, initial_state, nominal_states, nominal_controls, gains, offsets, alphas):
        """Rolls `v = v̄ + α k + K (x - x̄)` out for every `α [A]`: states `[T + 1, A, B, n]`,
        controls `[T, A, B, m]`, total costs `[A, B]`."""
        shape = tf.concat([tf.shape(alphas), tf.shape(initial_state)], 0)
        x0 = tf.broadcast_to(initial_state, shape)
        alpha = alphas[:, None, None]

        def step(carry, inputs):
            x, total = carry[:2]
            x_bar, v_bar, K, k = inputs
            v = self._limit(v_bar + alpha * k + tf.linalg.matvec(K, x - x_bar))
            total += self._cost_in_controls(x, v)
            return self.model.step(x, self.to_action(v)), total, x, v

        zeros = tf.zeros(tf.shape(x0)[:-1], self.dtype)
        v0 = tf.zeros(tf.concat([shape[:-1], tf.shape(nominal_controls)[-1:]], 0), self.dtype)
        next_states, totals, states, controls = tf.scan(
            step, (nominal_states[:-1], nominal_controls, gains, offsets),
            initializer=(x0, zeros, x0, v0),
        )  # fmt: skip
        final, total = next_states[-1], totals[-1]
        if self.terminal_cost is not None:
            total += self.terminal_cost(final)
        return tf.concat([states, final[None]], 0), controls, total

    def _expand(self, states, controls):
        """The LQR problem in deviations around a trajectory, and the most negative eigenvalue
        of its cost Hessians."""
        n = self.model.state_dim
        dynamics = linearize(lambda x, v: self.model.step(x, self.to_action(v)), states[:-1],
                             controls)  # fmt: skip
        cost = quadratize(self.cost, states[:-1], self.to_action(controls), self.terminal_cost,
                          states[-1])  # fmt: skip
        hessian, gradient = cost.hessian, cost.gradient
        if self.squashed:  # chain rule through the squash, Gauss-Newton in its curvature
            scale = tf.concat(
                [tf.ones_like(states[:-1]), squash_derivative(controls, self.low, self.high)], -1
            )
            hessian = hessian * scale[..., :, None] * scale[..., None, :]
            gradient = gradient * scale
        terminal = cost.terminal_hessian
        clipped, negative = make_positive_semidefinite(hessian)
        clipped_terminal, terminal_negative = make_positive_semidefinite(terminal)
        most_negative = tf.minimum(tf.reduce_min(negative), tf.reduce_min(terminal_negative))
        if self.config.nonconvex_cost != "allow":
            hessian, terminal = clipped, clipped_terminal
        deviation_dynamics = AffineDynamics(dynamics.matrix, tf.zeros_like(states[:-1][..., :n]))
        quadratic = QuadraticCost(
            hessian, gradient, cost.value, terminal, cost.terminal_gradient, cost.terminal_value
        )
        return deviation_dynamics, quadratic, most_negative

    def _solve_graph(self, initial_state, controls):
        config = self.config
        dtype = self.dtype
        batch = tf.shape(initial_state)[0]
        alphas = tf.constant(0.5 ** np.arange(config.line_search_steps), dtype)
        # The initial trajectory: the controls open loop (α = 0, no feedback).
        zeros = tf.zeros_like(controls)
        zero_gains = tf.zeros(tf.concat([tf.shape(controls), [self.model.state_dim]], 0), dtype)
        nominal = tf.zeros(tf.concat([[tf.shape(controls)[0] + 1], tf.shape(initial_state)], 0),
                           dtype)  # fmt: skip
        states, _, cost = self._rollout(
            initial_state, nominal, controls, zero_gains, zeros, tf.zeros([1], dtype)
        )
        states, cost = states[:, 0], cost[0]
        mu = tf.fill([batch], tf.constant(config.regularization, dtype))
        history = tf.TensorArray(dtype, size=0, dynamic_size=True, element_shape=[None])
        history = history.write(0, cost)
        active = tf.ones([batch], tf.bool)
        converged = tf.zeros([batch], tf.bool)
        iterations = tf.zeros([batch], tf.int32)
        negative = tf.constant(0.0, dtype)

        def body(i, states, controls, cost, mu, active, converged, iterations, negative, history):
            dynamics, quadratic, most_negative = self._expand(states, controls)
            solution = lqr(dynamics, quadratic, mu, self._control_bounds(controls))
            K, k = solution.controller.gains, solution.controller.offsets
            new_states, new_controls, new_costs = self._rollout(
                initial_state, states, controls, K, k, alphas
            )
            expected = -(
                alphas[:, None] * solution.expected_linear
                + alphas[:, None] ** 2 * solution.expected_quadratic
            )  # [A, B], > 0 for a descent direction
            reduction = cost - new_costs
            accept = (
                tf.math.is_finite(new_costs)
                & (reduction > 0)
                & (reduction >= config.armijo * expected)
                & solution.positive_definite
            )
            any_accept = tf.reduce_any(accept, axis=0) & active
            choice = tf.argmax(tf.cast(accept, tf.int32), axis=0, output_type=tf.int32)
            pick = tf.stack([choice, tf.range(batch)], -1)
            chosen_states = tf.transpose(
                tf.gather_nd(tf.transpose(new_states, [1, 2, 0, 3]), pick), [1, 0, 2]
            )
            chosen_controls = tf.transpose(
                tf.gather_nd(tf.transpose(new_controls, [1, 2, 0, 3]), pick), [1, 0, 2]
            )
            chosen_cost = tf.gather_nd(new_costs, pick)
            small = (cost - chosen_cost) <= config.tolerance * tf.abs(cost)
            # Nothing left to gain: the model predicts less than the tolerance even at α = 1.
            flat = expected[0] <= config.tolerance * tf.abs(cost)
            states = tf.where(any_accept[None, :, None], chosen_states, states)
            controls = tf.where(any_accept[None, :, None], chosen_controls, controls)
            cost = tf.where(any_accept, chosen_cost, cost)
            factor = config.regularization_factor
            mu_new = tf.where(
                any_accept,
                tf.maximum(mu / factor, config.min_regularization),
                tf.maximum(mu * factor, config.min_regularization),
            )
            mu = tf.where(active, mu_new, mu)
            at_minimum = ~any_accept & flat & solution.positive_definite
            done_now = active & ((any_accept & small) | at_minimum)
            stalled = active & (mu > config.max_regularization)
            converged = converged | done_now
            iterations = iterations + tf.cast(active, tf.int32)
            active = active & ~done_now & ~stalled
            history = history.write(i + 1, cost)
            return (i + 1, states, controls, cost, mu, active, converged, iterations,
                    tf.minimum(negative, most_negative), history)  # fmt: skip

        def condition(i, *args):
            return (i < config.max_iterations) & tf.reduce_any(args[4])

        loop = tf.while_loop(
            condition, body,
            (0, states, controls, cost, mu, active, converged, iterations, negative, history),
        )  # fmt: skip
        i, states, controls, cost, mu, active, converged, iterations, negative, history = loop
        # Pad the history after an early stop with the final cost.
        history = tf.concat(
            [history.stack(),
             tf.broadcast_to(cost, [config.max_iterations - i, batch])], 0
        )  # fmt: skip
        # The feedback gains around the final trajectory, in absolute form.
        dynamics, quadratic, _ = self._expand(states, controls)
        gains = lqr(dynamics, quadratic, mu, self._control_bounds(controls)).controller
        offsets = controls - tf.linalg.matvec(gains.gains, states[:-1])
        controller = LinearGaussianController(gains.gains, offsets, gains.covariance)
        return ILQRResult(
            states=states,
            actions=self.to_action(controls),
            controller=controller,
            cost=cost,
            cost_history=history,
            iterations=iterations,
            converged=converged,
            most_negative_eigenvalue=negative,
        )
