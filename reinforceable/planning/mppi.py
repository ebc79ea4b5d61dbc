"""`MPPI`: model predictive path integral control, as a Driver policy."""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable._checks import (
    check_bool,
    check_bounds,
    check_instance,
    check_number,
    check_positive_int,
    config_or_default,
)
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.models.base import Model
from reinforceable.planning._squash import squash, unsquash
from reinforceable.planning.lqr import lqr
from reinforceable.planning.quadratic import linearize, make_positive_semidefinite, quadratize

__all__ = ["MPPI", "FeedbackPlan", "MPPIConfig"]

OWNER = "MPPIConfig"
BOUNDS_MODES = ("squash", "truncate", "clamp")
FEEDBACK_REGULARIZATION = 1e-6
"""`μ` added to `Q_uu` in the LQR pass of `feedback=True`."""


class FeedbackPlan(NamedTuple):
    """The policy state of `MPPI` with `feedback=True`.

    Attributes:
        plan: `[B, H, A]`, as without feedback.
        states: `[B, H, S]`: the states the plan predicts, from the current one.
        gains: `[B, H, A, S]`: the time-varying LQR gains along them.
    """

    plan: tf.Tensor
    states: tf.Tensor
    gains: tf.Tensor


@dataclasses.dataclass(frozen=True)
class MPPIConfig:
    """Hyperparameters of `MPPI`. Invalid values raise a `ValueError` naming the field.

    Bounded actions (a model with `action_low`/`action_high`) are handled by `bounds`:

    * `"squash"` (default): sequences are sampled around the plan in an unbounded space and
      mapped into the box by `low + (high - low) (tanh(v) + 1) / 2`, so samples spread over the
      whole box. The update averages the squashed controls, as they are applied, and maps the
      mean back (`atanh`, at most `SQUASH_LIMIT` of the way to a bound), so the plan cannot sink
      deep into saturation, where noise no longer moves the action;
    * `"truncate"`: samples come from a Gaussian truncated to the box around the plan;
    * `"clamp"`: Gaussian samples clipped to the box, as pytorch-mppi does. Kept as a baseline:
      samples pile up on the bounds and the weighted mean is biased towards the interior.
    """

    num_samples: int = 1000
    """K, control sequences sampled per step."""
    horizon: int = 30
    """H, steps per sequence."""
    temperature: float = 1.0
    """λ: the weights are `exp(-(cost - min cost) / λ)`; smaller is greedier."""
    noise_scale: float | tuple[float, ...] = 1.0
    """σ of the sampling noise, per action dimension or one for all (in the unbounded space
    with `"squash"`)."""
    smoothing: float = 0.0
    """β in [0, 1): time-correlated noise `ε_t = β ε_{t-1} + sqrt(1 - β²) w_t` (β = 0: white)."""
    bounds: str = "squash"
    """`"squash"`, `"truncate"` or `"clamp"` (see above)."""
    include_nominal: bool = True
    """Evaluate the unperturbed plan as one of the K samples."""
    discount: float = 1.0
    """γ of the summed cost, in (0, 1]."""
    feedback: bool = False
    """Correct the warm start with linear feedback, for states that jump (a filter's estimates).
    After each update the planner rolls its plan out, expands the model along it by autodiff
    (`planning.linearize`, `planning.quadratize`) and keeps the time-varying LQR gains
    (`planning.lqr`) with the plan. At the next step it re-rolls the shifted plan from the new
    state with `u_t = ū_t + K_t (x_t - x̄_t)` before sampling around it, so a state that is not
    where the plan predicted moves the whole plan at once, as an LQR controller would. Without
    it, one sampling update per step moves the plan only part of the way: on a pendulum balanced
    on a filter's noisy estimates, MPPI responded with about half the LQR gain and lost the pole
    about twice as often (`media/estimation.md`). Needs a model differentiable in TF (not
    `MujocoModel`); costs one more rollout and one LQR pass of H steps per control step."""
    jit_compile: bool = True
    """Compile the rollouts with XLA (models with `xla_compatible`): the K·H steps become a few
    fused loops, about 3x faster on a CPU. The sampling stays outside XLA, whose random number
    generator is slow on CPUs."""

    def __post_init__(self):
        check_positive_int(OWNER, "num_samples", self.num_samples)
        check_positive_int(OWNER, "horizon", self.horizon)
        check_number(OWNER, "temperature", self.temperature, low=0.0)
        scales = np.atleast_1d(np.asarray(self.noise_scale, dtype=float))
        if scales.ndim != 1 or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
            raise ValueError(
                f"{OWNER}: `noise_scale` must be a positive number or a tuple of them; "
                f"received {self.noise_scale!r}."
            )
        check_number(OWNER, "smoothing", self.smoothing)
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(
                f"{OWNER}: `smoothing` must be in [0, 1); received {self.smoothing!r}."
            )
        if self.bounds not in BOUNDS_MODES:
            raise ValueError(
                f"{OWNER}: `bounds` must be one of {BOUNDS_MODES}; received {self.bounds!r}."
            )
        check_bool(OWNER, "include_nominal", self.include_nominal)
        check_number(OWNER, "discount", self.discount, low=0.0, high=1.0)
        check_bool(OWNER, "feedback", self.feedback)
        check_bool(OWNER, "jit_compile", self.jit_compile)


class MPPI(Policy):
    """Model predictive path integral control (Williams et al., 2017) on a `Model`, as a `Policy`.

    At every step, for each environment of the batch: read the model state from the observation
    (`model.state_from_observation`), sample K control sequences of H steps around the plan,
    roll them out (`model.sequence_cost`: `model.step` and `model.cost` in TF, or a simulator's
    own rollout, as `MujocoModel` does) and sum the costs, weight them by
    `exp(-(cost - min) / λ)`, move the plan to the weighted mean, act with its first control and
    keep the rest, shifted by one step, as the next plan (warm start; with `feedback=True`,
    corrected by LQR gains for where the state has gone). Everything runs inside the
    Driver's `tf.function`: the plan is the policy state, carried through the loop like an RNN
    state and reset to the initial plan where an episode starts, so the Driver runs a planner
    exactly as it runs a Keras policy. The Driver's per-step seed drives the sampling: the same
    seed gives the same plan.

    Args:
        model: The `Model` to plan with (its `action_low`/`action_high`, if any, are the bounds).
        config: An `MPPIConfig`.
        dtype: The dtype of the rollouts.

    Raises:
        TypeError: If `model` is not a `Model` or `config` not an `MPPIConfig`.
        ValueError: If `noise_scale` does not fit the action, or the model's bounds are not
            `[action_dim]` arrays with low < high, or a trial rollout fails the model's checks,
            or `feedback=True` and the model is not differentiable in TF.

    Example:
        >>> planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=1000, horizon=30))
        >>> rf.Driver(planner, rf.GymEnv("Pendulum-v1", num_envs=1, seed=0)).run(200)
    """

    def __init__(self, model: Model, config: MPPIConfig | None = None, dtype=tf.float32):
        check_instance("MPPI", "model", model, Model, "a reinforceable.models.Model")
        config = config_or_default("MPPI", config, MPPIConfig, "an MPPIConfig")
        self.model, self.config, self.dtype = model, config, tf.as_dtype(dtype)
        action_dim = model.action_dim
        scale = np.asarray(config.noise_scale, dtype=float).reshape(-1)
        if scale.size not in (1, action_dim):
            raise ValueError(
                f"MPPI: `noise_scale` must be one number or {action_dim} (the model's "
                f"`action_dim`); received {scale.size}."
            )
        self.noise_scale = np.broadcast_to(scale, [action_dim]).astype(np.float64)
        self.bounded = model.action_low is not None
        if self.bounded:
            self.low, self.high = check_bounds(
                "MPPI", "the model's bounds", model.action_low, model.action_high, action_dim
            )
        self._sequence_cost = model.sequence_cost
        self._gains, self._warm_start = self._feedback_gains, self._feedback_warm_start
        if config.jit_compile and model.xla_compatible:
            self._sequence_cost = tf.function(model.sequence_cost, jit_compile=True)
            if config.feedback:
                # About 10x faster than the plain graph: a few fused loops, not H small steps.
                self._gains = tf.function(self._feedback_gains, jit_compile=True)
                self._warm_start = tf.function(self._feedback_warm_start, jit_compile=True)
        # One trial plan, eagerly, so a model that breaks its contract fails here.
        trial = self.model.initial_state([1], tf.constant([0, 0]), self.dtype)
        self._plan(trial, self.initial_plan(1), tf.constant([0, 0]))
        if config.feedback:
            self._check_differentiable(trial)

    def _check_differentiable(self, state) -> None:
        action = self.to_action(self.initial_plan(1))[:, 0]
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([state, action])
            next_state = self.model.step(state, action)
            cost = self.model.cost(state, action)
        gradients = tape.gradient(next_state, [state, action]) + tape.gradient(cost, [state])
        if any(g is None for g in gradients):
            raise ValueError(
                f"MPPI: `feedback=True` needs a model whose `step` and `cost` are differentiable "
                f"TF ops; {type(self.model).__name__} gives no gradient (a simulator stepped "
                f"outside TF cannot be linearised)."
            )

    # ---------------------------------------------------------------------------- the plan

    def initial_plan(self, batch_size: int) -> tf.Tensor:
        """The plan at an episode's start: `[B, H, action_dim]`, the middle of the box (zeros in
        the unbounded space of `"squash"`, and without bounds)."""
        shape = [batch_size, self.config.horizon, self.model.action_dim]
        if self.bounded and self.config.bounds != "squash":
            middle = tf.constant((self.low + self.high) / 2, self.dtype)
            return tf.zeros(shape, self.dtype) + middle
        return tf.zeros(shape, self.dtype)

    def to_action(self, plan: tf.Tensor) -> tf.Tensor:
        """The actions of plans (or samples) `[..., A]`: squashed into the box for `"squash"`."""
        if self.bounded and self.config.bounds == "squash":
            return squash(plan, self.low, self.high)
        return plan

    def from_action(self, action: tf.Tensor) -> tf.Tensor:
        """The plan for actions in the box: the inverse of `to_action` for `"squash"` (clipped
        to `SQUASH_LIMIT` of the way to the bounds), the identity otherwise."""
        if self.bounded and self.config.bounds == "squash":
            return unsquash(action, self.low, self.high)
        return action

    def _noise(self, shape, seed) -> tf.Tensor:
        """White or AR(1)-correlated standard noise `[B, K, H, A]`."""
        noise = tf.random.stateless_normal(shape, seed, dtype=self.dtype)
        beta = self.config.smoothing
        if beta:
            steps = tf.unstack(noise, axis=2)
            smooth = [steps[0]]
            for step in steps[1:]:
                smooth.append(beta * smooth[-1] + np.sqrt(1 - beta**2) * step)
            noise = tf.stack(smooth, axis=2)
        return noise

    def _samples(self, plan, seed):
        """K sequences around `plan` `[B, H, A]`: `(samples in the plan's space, actions)`."""
        config = self.config
        batch = tf.shape(plan)[0]
        shape = tf.stack([batch, config.num_samples, config.horizon, self.model.action_dim])
        sigma = tf.constant(self.noise_scale, self.dtype)
        mean = plan[:, None]
        if self.bounded and config.bounds != "squash":
            # The plan is an action: keep it (and so the nominal sample) in the box.
            mean = tf.clip_by_value(mean, self.low, self.high)
        if self.bounded and config.bounds == "truncate":
            low = tf.constant(self.low, self.dtype)
            high = tf.constant(self.high, self.dtype)
            truncated = tfp.distributions.TruncatedNormal(
                loc=tf.broadcast_to(mean, shape), scale=sigma, low=low, high=high
            )
            samples = truncated.sample(seed=seed)
        else:
            samples = mean + sigma * self._noise(shape, seed)
            if self.bounded and config.bounds == "clamp":
                samples = tf.clip_by_value(samples, self.low, self.high)
        if config.include_nominal:
            first = tf.equal(tf.range(config.num_samples), 0)[None, :, None, None]
            samples = tf.where(first, mean, samples)
        return samples, self.to_action(samples)

    def _costs(self, state, actions):
        """`[B, K]` costs of `actions` `[B, K, H, A]` from states `[B, S]`, or averaged over
        several states per system `[B, M, S]` (samples of a belief)."""
        state = tf.cast(state, self.dtype)
        if state.shape.rank == 2:
            costs = self._sequence_cost(state, actions, self.config.discount)
            return tf.ensure_shape(costs, actions.shape[:2])  # an XLA call loses the shape
        batch, num = tf.shape(state)[0], tf.shape(state)[1]
        flat = tf.reshape(state, [-1, self.model.state_dim])
        repeated = tf.repeat(actions, num, axis=0)  # row b·M + j: system b, state j
        costs = self._sequence_cost(flat, repeated, self.config.discount)
        costs = tf.reshape(costs, [batch, num, self.config.num_samples])
        return tf.ensure_shape(tf.reduce_mean(costs, axis=1), actions.shape[:2])

    def _plan(self, state, plan, seed):
        """One MPPI iteration: returns `(first action [B, A], updated plan [B, H, A], costs)`."""
        _, actions = self._samples(plan, seed)
        costs = self._costs(state, actions)
        # A sample whose rollout diverged (NaN or infinite cost) gets no weight; a system whose
        # every sample diverged keeps a uniform weighting and reports an infinite `plan_cost`.
        finite = tf.math.is_finite(costs)
        any_finite = tf.reduce_any(finite, axis=1, keepdims=True)
        if tf.executing_eagerly() and not bool(tf.reduce_all(any_finite)):
            rows = np.flatnonzero(~any_finite.numpy()[:, 0]).tolist()
            warnings.warn(
                f"MPPI: every sampled sequence of the systems {rows} has a non-finite cost (a "
                "NaN or infinite state, or a model that diverges); their plans are not usable.",
                RuntimeWarning,
                stacklevel=3,
            )
        costs = tf.where(finite, costs, tf.constant(np.inf, costs.dtype))
        safe = tf.where(any_finite, costs, tf.zeros_like(costs))
        shifted = safe - tf.reduce_min(safe, axis=1, keepdims=True)
        weights = tf.nn.softmax(-shifted / self.config.temperature, axis=1)  # [B, K]
        # The weighted mean of the controls as applied (in the box); the plan keeps it in its
        # own space. Averaging in the unbounded space of "squash" instead lets the plan run far
        # into saturation and lost 3-8 points of return on Pendulum (media/mppi_bounds.md).
        mean_actions = tf.einsum("bk,bkha->bha", weights, actions)
        return mean_actions[:, 0], self.from_action(mean_actions), costs

    # ---------------------------------------------------------------------------- feedback

    def _rollout_states(self, state, actions) -> tf.Tensor:
        """`[H, B, S]`: the states `s_0 … s_{H-1}` of `actions` `[B, H, A]` from `state`."""
        states = [state]
        for t in range(self.config.horizon - 1):
            states.append(self.model.step(states[-1], actions[:, t]))
        return tf.stack(states, 0)

    def _feedback_gains(self, state, plan):
        """The states `[B, H, S]` the plan predicts from `state` and the LQR gains
        `[B, H, A, S]` along them."""
        actions = self.to_action(plan)
        states = self._rollout_states(state, actions)
        actions = tf.transpose(actions, [1, 0, 2])
        dynamics = linearize(self.model.step, states, actions)
        cost = quadratize(self.model.cost, states, actions)
        hessian, _ = make_positive_semidefinite(cost.hessian)
        weights = self.config.discount ** tf.range(self.config.horizon, dtype=self.dtype)
        cost = cost._replace(
            hessian=hessian * weights[:, None, None, None],
            gradient=cost.gradient * weights[:, None, None],
        )
        solution = lqr(dynamics, cost, FEEDBACK_REGULARIZATION)
        # Where Q_uu was not positive definite the gains mean nothing: no feedback there.
        gains = tf.where(
            solution.positive_definite[None, :, None, None], solution.controller.gains, 0.0
        )
        return tf.transpose(states, [1, 0, 2]), tf.transpose(gains, [1, 0, 2, 3])

    def _feedback_warm_start(self, state, previous: FeedbackPlan) -> tf.Tensor:
        """The shifted plan re-rolled from `state` under `ū_t + K_t (x_t - x̄_t)`."""
        nominal = self.to_action(previous.plan)
        actions = []
        for t in range(self.config.horizon):
            deviation = self.model.state_difference(state, previous.states[:, t])
            action = nominal[:, t] + tf.linalg.matvec(previous.gains[:, t], deviation)
            if self.bounded:
                action = tf.clip_by_value(action, self.low, self.high)
            actions.append(action)
            if t + 1 < self.config.horizon:
                state = self.model.step(state, action)
        return self.from_action(tf.stack(actions, 1))

    def initial_state(self, batch_size: int) -> Any:
        """The initial plan `[B, H, A]`, or a `FeedbackPlan` with `feedback=True` (no
        prediction yet: zero gains)."""
        plan = self.initial_plan(batch_size)
        if not self.config.feedback:
            return plan
        horizon, dims = self.config.horizon, (self.model.action_dim, self.model.state_dim)
        return FeedbackPlan(
            plan,
            tf.zeros([batch_size, horizon, dims[1]], self.dtype),
            tf.zeros([batch_size, horizon, *dims], self.dtype),
        )

    def step(self, timestep, state, seed) -> PolicyStep:
        observation = tf.cast(timestep.observation, self.dtype)
        return self.step_from_state(self.model.state_from_observation(observation), state, seed)

    def step_from_state(self, model_state, state, seed) -> PolicyStep:
        """`step` from the model state itself: `[B, state_dim]`, or `[B, M, state_dim]` to
        plan for M possible states at once (each sequence's cost is its mean over them), as
        `FilteredPolicy` does with samples of a belief."""
        model_state = tf.convert_to_tensor(model_state)
        if model_state.shape.rank not in (2, 3) or model_state.shape[-1] != self.model.state_dim:
            raise ValueError(
                f"MPPI.step_from_state: `model_state` must be [B, {self.model.state_dim}] or "
                f"[B, M, {self.model.state_dim}] (`state_dim`); received shape "
                f"{model_state.shape}."
            )
        plan = state
        if self.config.feedback:
            previous = FeedbackPlan(*state)
            # Several states: the feedback works around their mean.
            start = model_state if model_state.shape.rank == 2 else tf.reduce_mean(model_state, 1)
            start = tf.cast(start, self.dtype)
            # An XLA call loses the shapes; the loop needs them.
            plan = tf.ensure_shape(self._warm_start(start, previous), previous.plan.shape)
        action, plan, costs = self._plan(model_state, plan, seed)
        next_state = _shift(plan)
        if self.config.feedback:
            states, gains = self._gains(start, plan)
            states = tf.ensure_shape(states, previous.states.shape)
            gains = tf.ensure_shape(gains, previous.gains.shape)
            next_state = FeedbackPlan(next_state, _shift(states), _shift(gains))
        extras = {"plan_cost": tf.cast(tf.reduce_min(costs, axis=1), tf.float32)}
        return PolicyStep(action=tf.cast(action, tf.float32), state=next_state, extras=extras)


def _shift(sequence: tf.Tensor) -> tf.Tensor:
    """Warm start: drop the step just taken, `[B, H, ...]`, and repeat the last one."""
    return tf.concat([sequence[:, 1:], sequence[:, -1:]], axis=1)
