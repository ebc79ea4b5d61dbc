"""`Model`: a differentiable model of a system, in pure TF, batched over leading dimensions."""

from __future__ import annotations

import abc

import numpy as np
import tensorflow as tf

__all__ = ["Model"]


class Model(abc.ABC):
    """A known model of a system: dynamics, reward and observation, as differentiable TF ops.

    States are `[..., state_dim]` and actions `[..., action_dim]` tensors with the same leading
    dimensions (any number of them: a batch, a batch of rollouts, ...). Every method is pure and
    differentiable with respect to state and action (up to the clipping the modelled system
    does), and works in the dtype of the state it is given: float32 for speed, float64 to
    reproduce a reference. Planners (MPPI, iLQR), state estimators and analytic-gradient policy
    search all use this interface; `ModelEnv` turns any `Model` into a gymnasium environment.

    Subclasses set `state_dim`, `action_dim` (and `observation_dim` if `observe` is not the
    identity), `action_low`/`action_high` where actions are bounded, and implement `_step` and
    `_reward`; `observe`, `terminal` and `initial_state` have defaults.

    `step` and `reward` check their arguments: a state or action whose last dimension is wrong
    raises a `ValueError` when the op is built (eagerly or while tracing a `tf.function`), and,
    when called eagerly, so does an action outside declared bounds. `step` also checks what
    `_step` returns, so a subclass with a shape bug fails on its first call.
    """

    state_dim: int
    action_dim: int
    observation_dim: int | None = None
    action_low: np.ndarray | None = None
    action_high: np.ndarray | None = None
    #: Tolerance of the eager bound check (actions computed in float32 may overshoot slightly).
    bound_tolerance: float = 1e-5
    #: Pure TF ops that XLA can compile (planners then compile their rollouts).
    xla_compatible: bool = True
    #: Covariances of additive Gaussian process and observation noise (`None`: noiseless). Set by
    #: `PartiallyObserved`; `ModelEnv` draws the noise and state estimators read them.
    process_noise: np.ndarray | None = None
    observation_noise: np.ndarray | None = None

    # ------------------------------------------------------------------------------ interface

    def step(self, state, action) -> tf.Tensor:
        """The next state, `[..., state_dim]`."""
        state, action = self._check(state, action, "step")
        next_state = self._step(state, action)
        shape = next_state.shape
        if shape.rank is not None and (shape.rank < 1 or shape[-1] not in (None, self.state_dim)):
            raise ValueError(
                f"{type(self).__name__}.step: the next state must have shape "
                f"[..., {self.state_dim}] (`state_dim`); `_step` returned shape {shape}."
            )
        return next_state

    def reward(self, state, action) -> tf.Tensor:
        """The reward of taking `action` in `state`, `[...]`."""
        state, action = self._check(state, action, "reward")
        return self._reward(state, action)

    def cost(self, state, action) -> tf.Tensor:
        """`-reward`, for planners that minimise."""
        return -self.reward(state, action)

    def observe(self, state) -> tf.Tensor:
        """What the agent sees of `state`, `[..., observation_dim]` (the state by default)."""
        return tf.convert_to_tensor(state)

    def sequence_cost(self, state, actions, discount: float = 1.0) -> tf.Tensor:
        """The discounted cost of action sequences from one state per batch entry.

        Args:
            state: `[B, state_dim]`.
            actions: `[B, K, H, action_dim]`: K sequences of H actions per state.
            discount: γ of the sum.

        Returns:
            `[B, K]`, `Σ_t γ^t cost(s_t, a_t)`. Planners call this; a model that can roll whole
            sequences out faster (a simulator, in C, on several threads) overrides it.
        """
        state, actions = tf.convert_to_tensor(state), tf.convert_to_tensor(actions)
        states = tf.repeat(state[:, None], tf.shape(actions)[1], axis=1)  # [B, K, S]
        total = tf.zeros(tf.shape(states)[:2], states.dtype)
        for t in range(actions.shape[2]):
            total += discount**t * self.cost(states, actions[:, :, t])
            states = self.step(states, actions[:, :, t])
        return total

    def state_difference(self, state, reference) -> tf.Tensor:
        """`state - reference`, `[..., state_dim]`, with angles wrapped to [-π, π) in models that
        have them: a feedback controller around a planned trajectory must see a pendulum at
        -π + ε as ε past the nominal π, not 2π away."""
        return tf.convert_to_tensor(state) - tf.cast(reference, tf.convert_to_tensor(state).dtype)

    def state_from_observation(self, observation) -> tf.Tensor:
        """The state behind a full observation (planners start their rollouts from it).

        The identity where `observe` is; models whose observation is a transform of the state
        (angles as cos/sin) invert it. A partially observed system needs a state estimator.

        Raises:
            NotImplementedError: If the observation does not determine the state.
        """
        if type(self).observe is Model.observe:
            return tf.convert_to_tensor(observation)
        raise NotImplementedError(
            f"{type(self).__name__}: the observation does not determine the state; "
            "estimate it (reinforceable.estimation) or override `state_from_observation`."
        )

    def terminal(self, state) -> tf.Tensor:
        """bool `[...]`: the episode ends in `state` (never, by default)."""
        state = tf.convert_to_tensor(state)
        return tf.zeros(tf.shape(state)[:-1], tf.bool)

    def initial_state(self, batch_shape, seed, dtype=tf.float32) -> tf.Tensor:
        """States drawn as the modelled environment's `reset` draws them.

        Returns a `batch_shape + [state_dim]` tensor.

        Args:
            batch_shape: Leading dimensions (a list of ints).
            seed: A stateless seed, shape `[2]` ints.
            dtype: float32 or float64.
        """
        low, high = self.initial_state_bounds()
        shape = [*batch_shape, self.state_dim]
        unit = tf.random.stateless_uniform(shape, seed, dtype=dtype)
        return tf.constant(low, dtype) + unit * tf.constant(high - low, dtype)

    def initial_state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The box `initial_state` draws from (zeros by default)."""
        return np.zeros(self.state_dim), np.zeros(self.state_dim)

    @property
    def obs_dim(self) -> int:
        return self.observation_dim if self.observation_dim is not None else self.state_dim

    # ------------------------------------------------------------------------------ to override

    @abc.abstractmethod
    def _step(self, state: tf.Tensor, action: tf.Tensor) -> tf.Tensor: ...

    @abc.abstractmethod
    def _reward(self, state: tf.Tensor, action: tf.Tensor) -> tf.Tensor: ...

    # ------------------------------------------------------------------------------ helpers

    def _check(self, state, action, method: str) -> tuple[tf.Tensor, tf.Tensor]:
        name = f"{type(self).__name__}.{method}"
        state = tf.convert_to_tensor(state)
        if not state.dtype.is_floating:
            state = tf.cast(state, tf.float32)
        action = tf.cast(action, state.dtype)
        for arg, value, dim, field in (
            ("state", state, self.state_dim, "state_dim"),
            ("action", action, self.action_dim, "action_dim"),
        ):
            shape = value.shape
            if shape.rank is not None and (shape.rank < 1 or shape[-1] not in (None, dim)):
                raise ValueError(
                    f"{name}: `{arg}` must have shape [..., {dim}] (`{field}`); received shape "
                    f"{shape}."
                )
        if tf.executing_eagerly() and self.action_low is not None:
            values = action.numpy()
            tolerance = self.bound_tolerance
            low, high = np.asarray(self.action_low), np.asarray(self.action_high)
            if np.any(values < low - tolerance) or np.any(values > high + tolerance):
                raise ValueError(
                    f"{name}: `action` must lie in [{low.tolist()}, {high.tolist()}] "
                    f"(`action_low`, `action_high`); received values in "
                    f"[{values.min():.4g}, {values.max():.4g}]."
                )
        return state, action


def unstack(x: tf.Tensor, num: int) -> list[tf.Tensor]:
    """The components of the last axis."""
    return tf.unstack(x, num=num, axis=-1)


def stack(components) -> tf.Tensor:
    return tf.stack(components, axis=-1)
