"""`ILQRConfig` and `ILQRResult`: what `ILQR` (in `ilqr.py`) is told and what it returns."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import tensorflow as tf

from reinforceable._checks import check_number, check_positive_int
from reinforceable.planning.lqr import LinearGaussianController
from reinforceable.planning.quadratic import NONCONVEX_MODES

__all__ = ["BOUNDS_MODES", "ILQRConfig", "ILQRResult"]

OWNER = "ILQRConfig"
BOUNDS_MODES = ("clamp", "squash")


@dataclasses.dataclass(frozen=True)
class ILQRConfig:
    """Hyperparameters of `ILQR`. Invalid values raise a `ValueError` naming the field."""

    horizon: int = 100
    """T, steps of the trajectory."""
    max_iterations: int = 100
    """Iterations at most (each: expand, backward pass, line search)."""
    tolerance: float = 1e-6
    """Stop when an accepted step lowers the cost by less than this share of it."""
    line_search_steps: int = 10
    """Step sizes tried, `α = 1, ½, ¼, ...`: all rolled out at once, the largest accepted wins."""
    armijo: float = 1e-4
    """Accept a step that achieves at least this share of the reduction the quadratic model
    predicts (`-(α k·q_u + ½ α² kᵀQ_uu k)`)."""
    regularization: float = 1e-6
    """μ at the start: `Q_uu + μ I` (Levenberg-Marquardt)."""
    regularization_factor: float = 4.0
    """μ is divided by this after an accepted step and multiplied by it after a rejected one."""
    min_regularization: float = 1e-8
    """μ never falls below this."""
    max_regularization: float = 1e10
    """Stop (not converged) when μ would exceed this."""
    bounds: str = "clamp"
    """Bounded actions: `"clamp"`, control-limited DDP (Tassa et al., 2014: the offsets are
    solved within the box, clamped dimensions get no feedback, rollouts clip), or `"squash"`:
    plan in an unbounded space through `tanh`, as `MPPI` does (smooth, but its gradients vanish
    in saturation, where bang-bang swing-ups live: on Pendulum it converged slower and
    worse)."""
    nonconvex_cost: str = "clip"
    """A cost whose Hessian is not positive semi-definite somewhere on the trajectory: `"clip"`
    its negative eigenvalues (with a warning after the solve), `"raise"` a `ValueError`, or
    `"allow"` it: the exact second-order model, where only `Q_uu + μ I` must be positive
    definite (the regularisation sees to that), as in DDP. Non-convex costs such as the
    swing-up's `1 - cos θ` converge better this way."""

    def __post_init__(self):
        for name in ("horizon", "max_iterations", "line_search_steps"):
            check_positive_int(OWNER, name, getattr(self, name))
        check_number(OWNER, "tolerance", self.tolerance, low=0.0)
        check_number(OWNER, "armijo", self.armijo, low=0.0, high=1.0)
        check_number(OWNER, "regularization", self.regularization, low=0.0)
        check_number(OWNER, "min_regularization", self.min_regularization, low=0.0)
        check_number(OWNER, "max_regularization", self.max_regularization, low=0.0)
        if not self.regularization_factor > 1:
            raise ValueError(
                f"{OWNER}: `regularization_factor` must be > 1; received "
                f"{self.regularization_factor!r}."
            )
        if not self.min_regularization <= self.regularization <= self.max_regularization:
            raise ValueError(
                f"{OWNER}: need min_regularization <= regularization <= max_regularization; "
                f"received {self.min_regularization}, {self.regularization}, "
                f"{self.max_regularization}."
            )
        if self.bounds not in BOUNDS_MODES:
            raise ValueError(
                f"{OWNER}: `bounds` must be one of {BOUNDS_MODES}; received {self.bounds!r}."
            )
        if self.nonconvex_cost not in NONCONVEX_MODES:
            raise ValueError(
                f"{OWNER}: `nonconvex_cost` must be one of {NONCONVEX_MODES}; received "
                f"{self.nonconvex_cost!r}."
            )


class ILQRResult(NamedTuple):
    """What `ILQR.solve` returns (time-major; B initial states).

    Attributes:
        states: `[T + 1, B, n]`, the optimised trajectory.
        actions: `[T, B, m]`, its actions, inside the model's bounds.
        controller: The feedback controller around it, in the planner's control space (see
            `ILQR.to_action`): `v_t = K_t x_t + k_t`, so `v̄_t + K_t (x_t - x̄_t)`. Its covariance
            is `Q_uu⁻¹`, the maximum-entropy (iLQG) controller of the same cost, for sampling
            around the plan (guided policy search starts its local controllers so);
            `linear_gaussian_policy` acts with the mean.
        cost: `[B]`, the trajectory's total cost.
        cost_history: `[I + 1, B]`: the cost before the first iteration and after each (it never
            increases; it stays flat after an entry has stopped).
        iterations: `[B]`, iterations until each entry stopped.
        converged: bool `[B]`: stopped on `tolerance`, not on `max_iterations` or a regularisation
            that grew past `max_regularization`.
        most_negative_eigenvalue: `[]`, of the cost Hessians met (0 if all were PSD).
    """

    states: tf.Tensor
    actions: tf.Tensor
    controller: LinearGaussianController
    cost: tf.Tensor
    cost_history: tf.Tensor
    iterations: tf.Tensor
    converged: tf.Tensor
    most_negative_eigenvalue: tf.Tensor
