"""`PartiallyObserved`: a model whose observations are noisy and partial, and whose dynamics are
disturbed by process noise, as state estimators see a real system."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf

from reinforceable._checks import check_covariance, check_instance
from reinforceable.models.base import Model

__all__ = ["PartiallyObserved"]


def _covariance(value, dim: int, argument: str) -> np.ndarray | None:
    if value is None:
        return None
    return check_covariance(value, dim, argument, "PartiallyObserved", definite=False)


class PartiallyObserved(Model):
    """Wraps a `Model` into a partially observed, noisy task:

        x_{t+1} = f(x_t, a_t) + w_t,   w_t ~ N(0, process_noise)
        y_t     = h(x_t) + v_t,         v_t ~ N(0, observation_noise)

    `step` and `observe` stay noiseless (`f` and `h`, what planners and estimators use); the noise
    is drawn where the system is simulated: `ModelEnv` adds it to every step and observation, from
    its own seeded generator. The state estimators in `reinforceable.estimation` read the two
    covariances from here.

    Args:
        model: The underlying `Model` (dynamics, reward, bounds and initial states are its own).
        observe: `h`: `None` for the model's own observation; a sequence of state indices (only
            those components are seen); or a callable `[..., state_dim] -> [..., d]` of TF ops.
        observation_noise: `[d, d]` covariance of `v`, or `None` (noiseless).
        process_noise: `[state_dim, state_dim]` covariance of `w`, or `None` (none).

    Raises:
        TypeError: If `model` is not a `Model` or `observe` is of another kind.
        ValueError: If an index is out of range, or a covariance has the wrong shape or is not
            symmetric positive semi-definite.

    Example:
        >>> # The pendulum, seeing only its angle (as a multi-turn encoder does), σ = 0.1 rad.
        >>> task = PartiallyObserved(Pendulum(), observe=[0], observation_noise=[[0.01]])
        >>> env = rf.GymEnv([lambda: ModelEnv(task, 200)] * 4, seed=0)
    """

    def __init__(
        self,
        model: Model,
        observe: Sequence[int] | Callable | None = None,
        observation_noise=None,
        process_noise=None,
    ):
        check_instance("PartiallyObserved", "model", model, Model, "a reinforceable.models.Model")
        self.model = model
        self.state_dim, self.action_dim = model.state_dim, model.action_dim
        self.action_low, self.action_high = model.action_low, model.action_high
        self.bound_tolerance = model.bound_tolerance
        self.xla_compatible = model.xla_compatible
        self.indices = None
        if observe is None:
            self._observe = model.observe
        elif callable(observe):
            self._observe = observe
        elif isinstance(observe, Sequence) and all(
            isinstance(i, int | np.integer) and not isinstance(i, bool) for i in observe
        ):
            indices = [int(i) for i in observe]
            if not indices or min(indices) < -model.state_dim or max(indices) >= model.state_dim:
                raise ValueError(
                    f"PartiallyObserved: `observe` indices must be non-empty and in "
                    f"[0, {model.state_dim}) (`state_dim`); received {indices}."
                )
            self.indices = indices
            self._observe = lambda state: tf.gather(state, indices, axis=-1)
        else:
            raise TypeError(
                "PartiallyObserved: `observe` must be None, a sequence of state indices or a "
                f"callable; received {type(observe).__name__}."
            )
        probe = self._observe(tf.zeros([1, model.state_dim], tf.float64))
        if probe.shape.rank != 2 or probe.shape[0] != 1:
            raise ValueError(
                "PartiallyObserved: `observe` must map [..., state_dim] states to "
                f"[..., d] observations; it maps [1, {model.state_dim}] to {probe.shape}."
            )
        self.observation_dim = int(probe.shape[-1])
        self.observation_noise = _covariance(
            observation_noise, self.observation_dim, "observation_noise"
        )
        self.process_noise = _covariance(process_noise, self.state_dim, "process_noise")
        self._fully_observed = observe is None and observation_noise is None

    def _step(self, state, action):
        return self.model._step(state, action)

    def _reward(self, state, action):
        return self.model._reward(state, action)

    def observe(self, state) -> tf.Tensor:
        """`h(state)`, without noise."""
        return self._observe(tf.convert_to_tensor(state))

    def sequence_cost(self, state, actions, discount: float = 1.0) -> tf.Tensor:
        return self.model.sequence_cost(state, actions, discount)

    def state_from_observation(self, observation) -> tf.Tensor:
        if self._fully_observed:
            return self.model.state_from_observation(observation)
        raise NotImplementedError(
            "PartiallyObserved: noisy or partial observations do not determine the state; "
            "estimate it with a filter from reinforceable.estimation (FilteredPolicy does)."
        )

    def terminal(self, state) -> tf.Tensor:
        return self.model.terminal(state)

    def initial_state(self, batch_shape, seed, dtype=tf.float32) -> tf.Tensor:
        return self.model.initial_state(batch_shape, seed, dtype)

    def initial_state_bounds(self):
        return self.model.initial_state_bounds()
