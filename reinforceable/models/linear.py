"""Linear-quadratic systems and a 2-D point mass."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from reinforceable.models.base import Model, stack, unstack

__all__ = ["LinearSystem", "PointMass2D"]


def _matrix(name: str, value, shape: tuple[int, int]) -> np.ndarray:
    array = np.asarray(value, np.float64)
    if array.shape != shape:
        raise ValueError(
            f"LinearSystem: `{name}` must have shape {shape}; received shape {array.shape}."
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"LinearSystem: `{name}` must be finite.")
    return array


class LinearSystem(Model):
    """`x' = A x + B u` with the quadratic reward `-(xᵀ Q x + uᵀ R u)`.

    Args:
        A: `[n, n]` dynamics.
        B: `[n, m]` input matrix.
        Q: `[n, n]` symmetric positive semi-definite state cost (identity by default).
        R: `[m, m]` symmetric positive definite action cost (identity by default).
        initial_scale: `initial_state` draws each coordinate uniformly from ±this.

    Raises:
        ValueError: If a matrix has the wrong shape, is not finite, or Q/R is not symmetric
            positive (semi-)definite.
    """

    def __init__(self, A, B, Q=None, R=None, initial_scale: float = 1.0):
        A = np.asarray(A, np.float64)
        if A.ndim != 2 or A.shape[0] != A.shape[1]:
            raise ValueError(
                f"LinearSystem: `A` must be a square matrix; received shape {A.shape}."
            )
        n = A.shape[0]
        B = np.asarray(B, np.float64)
        if B.ndim != 2 or B.shape[0] != n:
            raise ValueError(
                f"LinearSystem: `B` must have shape ({n}, m) to match `A`; received {B.shape}."
            )
        m = B.shape[1]
        self.A, self.B = _matrix("A", A, (n, n)), _matrix("B", B, (n, m))
        self.Q = _matrix("Q", np.eye(n) if Q is None else Q, (n, n))
        self.R = _matrix("R", np.eye(m) if R is None else R, (m, m))
        for name, matrix, strict in (("Q", self.Q, False), ("R", self.R, True)):
            eigenvalues = np.linalg.eigvalsh((matrix + matrix.T) / 2)
            if not np.allclose(matrix, matrix.T) or eigenvalues.min() < (
                1e-12 if strict else -1e-12
            ):
                kind = "positive definite" if strict else "positive semi-definite"
                raise ValueError(f"LinearSystem: `{name}` must be symmetric {kind}.")
        if not initial_scale > 0:
            raise ValueError(
                f"LinearSystem: `initial_scale` must be > 0; received {initial_scale!r}."
            )
        self.initial_scale = float(initial_scale)
        self.state_dim, self.action_dim = n, m

    def _mat(self, matrix, dtype):
        return tf.constant(matrix, dtype)

    def _step(self, state, action):
        A, B = self._mat(self.A, state.dtype), self._mat(self.B, state.dtype)
        return tf.linalg.matvec(A, state) + tf.linalg.matvec(B, action)

    def _reward(self, state, action):
        Q, R = self._mat(self.Q, state.dtype), self._mat(self.R, state.dtype)
        return -(
            tf.reduce_sum(state * tf.linalg.matvec(Q, state), -1)
            + tf.reduce_sum(action * tf.linalg.matvec(R, action), -1)
        )

    def initial_state_bounds(self):
        return np.full(self.state_dim, -self.initial_scale), np.full(
            self.state_dim, self.initial_scale
        )


class PointMass2D(Model):
    """A unit mass on a plane, pushed by a bounded force towards a goal.

    State `[px, py, vx, vy]`, action `[fx, fy]` in [-1, 1]², semi-implicit Euler:
    `v' = (1 - damping·dt) v + dt f`, `p' = p + dt v'`. Reward
    `-(|p - goal|² + action_cost |f|²)`. `initial_state` puts the mass at rest, uniformly in
    [-1, 1]².

    Args:
        dt: Time step.
        damping: Linear drag coefficient, >= 0.
        goal: The target position.
        action_cost: Weight of the force in the reward.
    """

    state_dim, action_dim = 4, 2
    action_low, action_high = np.array([-1.0, -1.0]), np.array([1.0, 1.0])

    def __init__(
        self, dt: float = 0.1, damping: float = 0.1, goal=(0.0, 0.0), action_cost: float = 0.01
    ):
        if not dt > 0:
            raise ValueError(f"PointMass2D: `dt` must be > 0; received {dt!r}.")
        if not damping >= 0:
            raise ValueError(f"PointMass2D: `damping` must be >= 0; received {damping!r}.")
        goal = np.asarray(goal, np.float64)
        if goal.shape != (2,):
            raise ValueError(f"PointMass2D: `goal` must have shape (2,); received {goal.shape}.")
        self.dt, self.damping, self.goal, self.action_cost = (
            float(dt),
            float(damping),
            goal,
            float(action_cost),
        )

    def _step(self, state, action):
        px, py, vx, vy = unstack(state, 4)
        fx, fy = unstack(tf.clip_by_value(action, -1.0, 1.0), 2)
        decay = 1.0 - self.damping * self.dt
        vx, vy = decay * vx + self.dt * fx, decay * vy + self.dt * fy
        return stack([px + self.dt * vx, py + self.dt * vy, vx, vy])

    def _reward(self, state, action):
        offset = state[..., :2] - tf.constant(self.goal, state.dtype)
        return -(tf.reduce_sum(offset**2, -1) + self.action_cost * tf.reduce_sum(action**2, -1))

    def initial_state_bounds(self):
        return np.array([-1.0, -1.0, 0.0, 0.0]), np.array([1.0, 1.0, 0.0, 0.0])
