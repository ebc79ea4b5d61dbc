"""Gymnasium's classic-control tasks as differentiable TF models.

Each model reproduces its gymnasium environment: from the same state, with the same actions, the
states agree with `env.unwrapped.state` (to float64 rounding; see `tests/models`). Discrete
gymnasium actions map onto continuous ones: CartPole's push left/right is a force of -1/+1
(times `force_mag`), Acrobot's torque index 0/1/2 a torque of -1/0/+1. The rewards are
gymnasium's, where they carry a gradient; where gymnasium's reward is a constant per step
(CartPole, Acrobot), so is the model's, and a policy search needs a reward of its own (subclass
and override `_reward`).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from reinforceable.models.base import Model, stack, unstack

__all__ = ["Acrobot", "CartPole", "MountainCar", "Pendulum"]


def angle_normalize(x):
    """Wraps an angle to [-π, π), as gymnasium's Pendulum does."""
    return tf.math.floormod(x + math.pi, 2.0 * math.pi) - math.pi


class Pendulum(Model):
    """`Pendulum-v1`: state `[θ, θ̇]` (θ = 0 upright), torque in [-2, 2].

    Observation `[cos θ, sin θ, θ̇]`; reward `-(θ² + 0.1 θ̇² + 0.001 u²)` with θ wrapped to
    [-π, π). Semi-implicit Euler with `dt = 0.05`, θ̇ clipped to ±8.

    Args:
        g: Gravity (gymnasium's default 10).
    """

    state_dim, action_dim, observation_dim = 2, 1, 3
    action_low, action_high = np.array([-2.0]), np.array([2.0])
    max_speed, max_torque, dt, mass, length = 8.0, 2.0, 0.05, 1.0, 1.0

    def __init__(self, g: float = 10.0):
        self.g = float(g)

    def _step(self, state, action):
        th, thdot = unstack(state, 2)
        u = tf.clip_by_value(action[..., 0], -self.max_torque, self.max_torque)
        g, m, length, dt = self.g, self.mass, self.length, self.dt
        newthdot = thdot + (3 * g / (2 * length) * tf.sin(th) + 3.0 / (m * length**2) * u) * dt
        newthdot = tf.clip_by_value(newthdot, -self.max_speed, self.max_speed)
        return stack([th + newthdot * dt, newthdot])

    def _reward(self, state, action):
        th, thdot = unstack(state, 2)
        u = tf.clip_by_value(action[..., 0], -self.max_torque, self.max_torque)
        return -(angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * u**2)

    def state_difference(self, state, reference):
        difference = super().state_difference(state, reference)
        return stack([angle_normalize(difference[..., 0]), difference[..., 1]])

    def smooth_cost(self, state, action):
        """`2 (1 - cos θ) + 0.1 θ̇² + 0.001 u²`: the cost (`-reward`) to second order at the top,
        but smooth where the wrapped `θ²` has a kink (hanging, θ = ±π), so gradient-based
        planners (`ILQR`) get a useful local model everywhere."""
        th, thdot = unstack(tf.convert_to_tensor(state), 2)
        u = tf.cast(action, th.dtype)[..., 0]
        return 2.0 * (1.0 - tf.cos(th)) + 0.1 * thdot**2 + 0.001 * u**2

    def observe(self, state):
        th, thdot = unstack(tf.convert_to_tensor(state), 2)
        return stack([tf.cos(th), tf.sin(th), thdot])

    def state_from_observation(self, observation):
        cos, sin, thdot = unstack(tf.convert_to_tensor(observation), 3)
        return stack([tf.atan2(sin, cos), thdot])

    def initial_state_bounds(self):
        return np.array([-math.pi, -1.0]), np.array([math.pi, 1.0])


class CartPole(Model):
    """`CartPole-v1` with a continuous force: state `[x, ẋ, θ, θ̇]`, action in [-1, 1].

    The force is `force_mag * action` (gymnasium's two actions are -1 and +1). Explicit Euler with
    `tau = 0.02`. The episode ends when |x| > 2.4 or |θ| > 12°; the reward is gymnasium's, 1 per
    step until then.
    """

    state_dim, action_dim = 4, 1
    action_low, action_high = np.array([-1.0]), np.array([1.0])
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    x_threshold, theta_threshold = 2.4, 12 * 2 * math.pi / 360

    def _step(self, state, action):
        x, x_dot, theta, theta_dot = unstack(state, 4)
        force = self.force_mag * tf.clip_by_value(action[..., 0], -1.0, 1.0)
        total_mass = self.masspole + self.masscart
        polemass_length = self.masspole * self.length
        costheta, sintheta = tf.cos(theta), tf.sin(theta)
        temp = (force + polemass_length * tf.square(theta_dot) * sintheta) / total_mass
        thetaacc = (self.gravity * sintheta - costheta * temp) / (
            self.length * (4.0 / 3.0 - self.masspole * tf.square(costheta) / total_mass)
        )
        xacc = temp - polemass_length * thetaacc * costheta / total_mass
        return stack(
            [
                x + self.tau * x_dot,
                x_dot + self.tau * xacc,
                theta + self.tau * theta_dot,
                theta_dot + self.tau * thetaacc,
            ]
        )

    def _reward(self, state, action):
        return tf.cast(~self.terminal(state), state.dtype)

    def terminal(self, state):
        x, _, theta, _ = unstack(tf.convert_to_tensor(state), 4)
        return (tf.abs(x) > self.x_threshold) | (tf.abs(theta) > self.theta_threshold)

    def initial_state_bounds(self):
        return np.full(4, -0.05), np.full(4, 0.05)


class MountainCar(Model):
    """`MountainCarContinuous-v0`: state `[position, velocity]`, force in [-1, 1].

    Velocity clipped to ±0.07 and position to [-1.2, 0.6] (stopping at the left wall); the
    episode ends at position >= 0.45. Reward `100 · [goal reached] - 0.1 u²` (the step that
    reaches the goal earns the 100).
    """

    state_dim, action_dim = 2, 1
    action_low, action_high = np.array([-1.0]), np.array([1.0])
    min_position, max_position, max_speed, goal_position, power = -1.2, 0.6, 0.07, 0.45, 0.0015

    def _step(self, state, action):
        position, velocity = unstack(state, 2)
        force = tf.clip_by_value(action[..., 0], -1.0, 1.0)
        velocity = velocity + force * self.power - 0.0025 * tf.cos(3 * position)
        velocity = tf.clip_by_value(velocity, -self.max_speed, self.max_speed)
        position = tf.clip_by_value(position + velocity, self.min_position, self.max_position)
        velocity = tf.where(
            (position <= self.min_position) & (velocity < 0), 0.0 * velocity, velocity
        )
        return stack([position, velocity])

    def _reward(self, state, action):
        goal = tf.cast(self.terminal(self._step(state, action)), state.dtype)
        return 100.0 * goal - 0.1 * tf.square(action[..., 0])

    def terminal(self, state):
        position, velocity = unstack(tf.convert_to_tensor(state), 2)
        return (position >= self.goal_position) & (velocity >= 0.0)

    def initial_state_bounds(self):
        return np.array([-0.6, 0.0]), np.array([-0.4, 0.0])


class Acrobot(Model):
    """`Acrobot-v1` (the "book" dynamics) with a continuous torque in [-1, 1].

    State `[θ1, θ2, θ̇1, θ̇2]`, one RK4 step of `dt = 0.2`, angles wrapped to [-π, π], velocities
    clipped to 4π and 9π. Observation `[cos θ1, sin θ1, cos θ2, sin θ2, θ̇1, θ̇2]`. The episode
    ends when the tip is higher than one link length above the pivot; the reward is gymnasium's,
    -1 per step until then. The double pendulum is chaotic: trajectories from states that differ
    by rounding separate exponentially once it swings hard.
    """

    state_dim, action_dim, observation_dim = 4, 1, 6
    action_low, action_high = np.array([-1.0]), np.array([1.0])
    dt = 0.2
    m1 = m2 = l1 = 1.0
    lc1 = lc2 = 0.5
    moi = 1.0
    g = 9.8
    max_vel_1, max_vel_2 = 4 * math.pi, 9 * math.pi

    def state_difference(self, state, reference):
        difference = super().state_difference(state, reference)
        angles = angle_normalize(difference[..., :2])
        return tf.concat([angles, difference[..., 2:]], axis=-1)

    def _derivatives(self, s, torque):
        theta1, theta2, dtheta1, dtheta2 = unstack(s, 4)
        m1, m2, l1, lc1, lc2, i1, i2, g = (
            self.m1, self.m2, self.l1, self.lc1, self.lc2, self.moi, self.moi, self.g
        )  # fmt: skip
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * tf.cos(theta2)) + i1 + i2
        d2 = m2 * (lc2**2 + l1 * lc2 * tf.cos(theta2)) + i2
        phi2 = m2 * lc2 * g * tf.cos(theta1 + theta2 - math.pi / 2.0)
        phi1 = (
            -m2 * l1 * lc2 * dtheta2**2 * tf.sin(theta2)
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * tf.sin(theta2)
            + (m1 * lc1 + m2 * l1) * g * tf.cos(theta1 - math.pi / 2)
            + phi2
        )
        ddtheta2 = (
            torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1**2 * tf.sin(theta2) - phi2
        ) / (m2 * lc2**2 + i2 - d2**2 / d1)
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return stack([dtheta1, dtheta2, ddtheta1, ddtheta2])

    def _step(self, state, action):
        torque = tf.clip_by_value(action[..., 0], -1.0, 1.0)
        dt = self.dt
        k1 = self._derivatives(state, torque)
        k2 = self._derivatives(state + dt / 2.0 * k1, torque)
        k3 = self._derivatives(state + dt / 2.0 * k2, torque)
        k4 = self._derivatives(state + dt * k3, torque)
        ns = state + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        theta1, theta2, dtheta1, dtheta2 = unstack(ns, 4)
        return stack(
            [
                _wrap(theta1),
                _wrap(theta2),
                tf.clip_by_value(dtheta1, -self.max_vel_1, self.max_vel_1),
                tf.clip_by_value(dtheta2, -self.max_vel_2, self.max_vel_2),
            ]
        )

    def _reward(self, state, action):
        return -tf.cast(~self.terminal(self._step(state, action)), state.dtype)

    def terminal(self, state):
        theta1, theta2, _, _ = unstack(tf.convert_to_tensor(state), 4)
        return -tf.cos(theta1) - tf.cos(theta2 + theta1) > 1.0

    def observe(self, state):
        theta1, theta2, dtheta1, dtheta2 = unstack(tf.convert_to_tensor(state), 4)
        return stack(
            [tf.cos(theta1), tf.sin(theta1), tf.cos(theta2), tf.sin(theta2), dtheta1, dtheta2]
        )

    def state_from_observation(self, observation):
        cos1, sin1, cos2, sin2, dtheta1, dtheta2 = unstack(tf.convert_to_tensor(observation), 6)
        return stack([tf.atan2(sin1, cos1), tf.atan2(sin2, cos2), dtheta1, dtheta2])

    def initial_state_bounds(self):
        return np.full(4, -0.1), np.full(4, 0.1)


def _wrap(x):
    """gymnasium's `wrap(x, -π, π)`: x shifted by whole turns into [-π, π]."""
    turn = 2.0 * math.pi
    above = tf.math.ceil((x - math.pi) / turn)  # turns to subtract where x > π
    below = tf.math.ceil((-math.pi - x) / turn)  # turns to add where x < -π
    return tf.where(x > math.pi, x - turn * above, tf.where(x < -math.pi, x + turn * below, x))
