"""`TFEnv`: a batch of environments made from a `Model`, stepped entirely in TF ops."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable._latch import FirstFault
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.envs.errors import non_finite_error
from reinforceable.envs.timestep import Timestep
from reinforceable.models.base import Model
from reinforceable.models.env import model_spaces

__all__ = ["TFEnv"]

_NON_FINITE = "TFEnv: a NaN or infinite observation or reward (see the NonFiniteError)"


def _cholesky(covariance, dtype) -> tf.Tensor | None:
    if covariance is None:
        return None
    covariance = np.asarray(covariance, np.float64)
    return tf.constant(np.linalg.cholesky(covariance + 1e-12 * np.eye(len(covariance))), dtype)


class TFEnv(Environment):
    """`num_envs` copies of a `Model`'s environment, stepped together in TF ops.

    The semantics are those of `ModelEnv` in a `GymEnv` (tested step by step against it): `reset`
    draws each state with `model.initial_state` (or starts from a fixed `initial_state`); a step
    applies `model.reward` and `model.step` to the action clipped to the model's bounds, ends the
    episode where `model.terminal` holds, truncates it after `max_episode_steps`, and observes
    `model.observe` in float32. A model with `process_noise` or `observation_noise` covariances
    (a `PartiallyObserved` one) gets Gaussian noise on every next state and every observation.
    Auto-reset is gymnasium's next-step mode: the step after an episode ends ignores its action
    and returns a fresh first observation with `episode_start` set.

    Step, reward, termination, truncation, noise and auto-reset are all TF ops on state kept in
    TF variables, so the Driver's loop stays in the graph with no `tf.numpy_function`, and with
    `Driver(..., jit_compile=True)` XLA compiles the whole loop, policy included (for a model of
    XLA-compatible ops: `model.xla_compatible`). Randomness is stateless, from a key (the `seed`)
    and a step counter, so the same seed gives the same episodes.

    Args:
        model: The `Model` to step.
        num_envs: How many environments.
        max_episode_steps: Steps before an episode is truncated.
        initial_state: `None` to draw every episode's first state with `model.initial_state`;
            else a fixed `[state_dim]` state for every environment, or `[num_envs, state_dim]`
            states, one per environment (the conditions of guided policy search, say).
        seed: Seed of the initial states and the noise (`None`: a random one).
        dtype: `"float32"` (fast) or `"float64"` (the precision of `ModelEnv`) for the state.
        env_id: A name for the spec and messages.
        check_finite: Refuse NaN and infinite observations and rewards, as `GymEnv` does: a
            `NonFiniteError` naming the environment, the field and the step (a few TF ops per
            step). In a graph the step that produced the value raises; in a loop compiled with
            XLA, which drops assertions, the Driver's run raises when it ends.

    Raises:
        TypeError: If `model` is not a `Model`.
        ValueError: For a bad `num_envs`, `max_episode_steps`, `initial_state` or `dtype`, and
            when a trial step shows that the model's `initial_state`, `step`, `reward`,
            `terminal` or `observe` returns the wrong shape or dtype (the message names the
            method, what was expected and what was received).

    Example:
        >>> env = TFEnv(rf.models.Pendulum(), num_envs=1024, seed=0)
        >>> driver = rf.Driver(policy, env, jit_compile=True)   # the whole loop in XLA
        >>> trajectory = driver.run(steps=1024 * 200)
    """

    in_graph = True

    def __init__(
        self,
        model: Model,
        num_envs: int = 1,
        max_episode_steps: int = 200,
        *,
        initial_state=None,
        seed: int | None = None,
        dtype: str = "float32",
        env_id: str | None = None,
        check_finite: bool = True,
    ):
        check_instance("TFEnv", "model", model, Model, "a reinforceable.models.Model")
        for name, value in (("num_envs", num_envs), ("max_episode_steps", max_episode_steps)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
                raise ValueError(f"TFEnv: `{name}` must be a positive int; received {value!r}.")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"TFEnv: `dtype` must be 'float32' or 'float64'; received {dtype!r}.")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise TypeError(f"TFEnv: `seed` must be an int or None; received {seed!r}.")
        self.model = model
        self.max_episode_steps = int(max_episode_steps)
        self._dtype = tf.as_dtype(dtype)
        observation_space, action_space = model_spaces(model)
        self._spec = EnvSpec(
            observation_space,
            action_space,
            int(num_envs),
            env_id or f"TFEnv({type(model).__name__})",
        )
        self._fixed = self._fixed_states(initial_state)
        bounded = np.isfinite(action_space.low) & np.isfinite(action_space.high)
        self._bounds = None
        if bounded.any():
            low = np.where(bounded, action_space.low, -np.inf)
            high = np.where(bounded, action_space.high, np.inf)
            self._bounds = (tf.constant(low, self._dtype), tf.constant(high, self._dtype))
        self._process_noise = _cholesky(model.process_noise, self._dtype)
        self._observation_noise = _cholesky(model.observation_noise, self._dtype)
        key = np.random.SeedSequence(seed).generate_state(2, np.uint32).astype(np.int64)
        self._key = tf.Variable(key, trainable=False, name="key")
        self._counter = tf.Variable(0, dtype=tf.int64, trainable=False, name="counter")
        n = self.num_envs
        self._state = tf.Variable(
            tf.zeros([n, model.state_dim], self._dtype), trainable=False, name="state"
        )
        self._steps = tf.Variable(tf.zeros([n], tf.int32), trainable=False, name="steps")
        self._ended = tf.Variable(tf.zeros([n], tf.bool), trainable=False, name="ended")
        self.check_finite = bool(check_finite)
        self._calls = tf.Variable(0, dtype=tf.int32, trainable=False, name="calls")
        # The first non-finite output: its env, step, field (0 observation, 1 reward), values.
        self._fault = FirstFault(model.obs_dim + 1, "non_finite")
        self._check_model()

    # ------------------------------------------------------------------------ checks

    def _fixed_states(self, initial_state) -> tf.Tensor | None:
        if initial_state is None:
            return None
        n, dim = self.num_envs, self.model.state_dim
        states = np.asarray(initial_state, np.float64)
        if states.shape == (dim,):
            states = np.broadcast_to(states, (n, dim))
        if states.shape != (n, dim) or not np.all(np.isfinite(states)):
            raise ValueError(
                f"TFEnv: `initial_state` must be finite, [state_dim] = [{dim}] or "
                f"[num_envs, state_dim] = [{n}, {dim}]; received shape {np.shape(initial_state)}."
            )
        return tf.constant(states, self._dtype)

    def _check_model(self) -> None:
        """One eager trial of every method the step uses, on a batch of `num_envs` states."""
        model, n = self.model, self.num_envs
        name = type(model).__name__

        def expect(method: str, value, shape, kind: str) -> tf.Tensor:
            value = tf.convert_to_tensor(value)
            dtype_ok = {
                "state": value.dtype == self._dtype,
                "float": value.dtype.is_floating,
                "bool": value.dtype == tf.bool,
            }[kind]
            if tuple(value.shape) != tuple(shape) or not dtype_ok:
                wanted = {"state": self._dtype.name, "float": "a float dtype", "bool": "bool"}
                raise ValueError(
                    f"TFEnv: {name}.{method} must return shape {list(shape)} in {wanted[kind]} "
                    f"(for a batch of num_envs = {n}); it returned {value.dtype.name}"
                    f"{list(value.shape)}."
                )
            return value

        try:
            states = expect("initial_state", self._initial(tf.constant([0, 0], tf.int64)),
                            [n, model.state_dim], "state")  # fmt: skip
            action = tf.zeros([n, model.action_dim], self._dtype)
            if self._bounds is not None:
                action = tf.clip_by_value(action, *self._bounds)
            expect("step", model.step(states, action), [n, model.state_dim], "state")
            expect("reward", model.reward(states, action), [n], "float")
            expect("terminal", model.terminal(states), [n], "bool")
            expect("observe", model.observe(states), [n, model.obs_dim], "float")
        except (ValueError, TypeError, tf.errors.OpError) as error:
            if str(error).startswith("TFEnv"):
                raise
            message = error.message if isinstance(error, tf.errors.OpError) else str(error)
            raise ValueError(f"TFEnv: a trial step of {name} failed: {message}") from error

    # ------------------------------------------------------------------------ the environment

    @property
    def spec(self) -> EnvSpec:
        return self._spec

    @property
    def xla_compatible(self) -> bool:
        return bool(self.model.xla_compatible)

    def _seeds(self, count: int) -> list[tf.Tensor]:
        """`count` fresh stateless seeds: the key folded with a counter that every call bumps."""
        counter = self._counter.assign_add(1)
        base = tf.random.experimental.stateless_fold_in(self._key, counter)
        return tf.unstack(tf.random.experimental.stateless_split(base, count), num=count)

    def _initial(self, seed) -> tf.Tensor:
        if self._fixed is not None:
            return self._fixed
        states = self.model.initial_state([self.num_envs], seed, self._dtype)
        return tf.cast(states, self._dtype)

    def _disturb(self, value, factor, seed) -> tf.Tensor:
        if factor is None:
            return value
        noise = tf.random.stateless_normal(tf.shape(value), seed, dtype=self._dtype)
        return value + tf.linalg.matvec(factor, noise)

    def _observe(self, state, seed) -> tf.Tensor:
        observation = tf.cast(self.model.observe(state), self._dtype)
        return tf.cast(self._disturb(observation, self._observation_noise, seed), tf.float32)

    def _first_timestep(self) -> Timestep:
        start_seed, observe_seed = self._seeds(2)
        state = self._initial(start_seed)
        self._state.assign(state)
        self._steps.assign(tf.zeros_like(self._steps))
        self._ended.assign(tf.zeros_like(self._ended))
        self._calls.assign(0)
        falses = tf.zeros([self.num_envs], tf.bool)
        reward = tf.zeros([self.num_envs], tf.float32)
        observation, reward = self._finite(self._observe(state, observe_seed), reward)
        return Timestep(
            observation=observation,
            reward=reward,
            terminated=falses,
            truncated=falses,
            episode_start=~falses,
        )

    def _finite(self, observation, reward) -> tuple[tf.Tensor, tf.Tensor]:
        """`observation` and `reward` behind the non-finite check: the first faulty env is
        latched (`FirstFault`) and an `Assert` fails the step (XLA drops it; the Driver then
        finds the latch with `take_error` when the run ends)."""
        if not self.check_finite:
            return observation, reward
        bad_observation = ~tf.reduce_all(tf.math.is_finite(observation), axis=1)
        bad = bad_observation | ~tf.math.is_finite(reward)
        values = tf.concat([observation, reward[:, None]], axis=1)
        field = tf.where(bad_observation, 0, 1)
        latched = self._fault.record(bad, self._calls.read_value(), field, values)
        with tf.control_dependencies(latched):
            check = tf.debugging.Assert(~tf.reduce_any(bad), [_NON_FINITE], summarize=1)
        with tf.control_dependencies([check]):
            return tf.identity(observation), tf.identity(reward)

    def take_error(self) -> BaseException | None:
        """The `NonFiniteError` of the first non-finite observation or reward since the last
        call (naming the env, the field and the step), if there was one; it is then forgotten."""
        fault = self._fault.take()
        if fault is None:
            return None
        value = fault.values[:-1] if fault.code == 0 else float(fault.values[-1])
        field = ("observation", "reward")[fault.code]
        return non_finite_error("TFEnv", fault.row, field, fault.step, value)

    def reset(self, seed: int | None = None) -> Timestep:
        """Starts new episodes in every environment; `seed` re-seeds them (`None` continues the
        random stream that the constructor's seed began)."""
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
                raise TypeError(f"TFEnv.reset: `seed` must be an int or None; received {seed!r}.")
            key = np.random.SeedSequence(int(seed)).generate_state(2, np.uint32)
            self._key.assign(key.astype(np.int64))
            self._counter.assign(0)
        try:
            return self._first_timestep()
        except tf.errors.InvalidArgumentError:
            error = self.take_error()
            if error is None:
                raise
            raise error from None

    def tf_reset(self) -> Timestep:
        return self._first_timestep()

    def tf_step(self, action) -> Timestep:
        """Steps every environment with `action` `[num_envs, action_dim]`, in TF ops."""
        model = self.model
        action = tf.cast(tf.nest.flatten(action)[0], self._dtype)
        if self._bounds is not None:
            action = tf.clip_by_value(action, *self._bounds)
        state = self._state.read_value()
        ended = self._ended.read_value()
        start_seed, process_seed, observe_seed = self._seeds(3)
        reward = model.reward(state, action)
        next_state = self._disturb(model.step(state, action), self._process_noise, process_seed)
        steps = self._steps.read_value() + 1
        terminated = model.terminal(next_state)
        truncated = steps >= self.max_episode_steps
        # Where the last step ended an episode, this one resets instead (next-step auto-reset).
        next_state = tf.where(ended[:, None], self._initial(start_seed), next_state)
        steps = tf.where(ended, tf.zeros_like(steps), steps)
        terminated &= ~ended
        truncated &= ~ended
        reward = tf.where(ended, tf.zeros_like(reward), reward)
        with tf.control_dependencies([self._calls.assign_add(1)]):
            observation, reward = self._finite(
                self._observe(next_state, observe_seed), tf.cast(reward, tf.float32)
            )
        with tf.control_dependencies(
            [
                self._state.assign(next_state),
                self._steps.assign(steps),
                self._ended.assign(terminated | truncated),
            ]
        ):
            return Timestep(
                observation=tf.identity(observation),
                reward=tf.cast(reward, tf.float32),
                terminated=terminated,
                truncated=truncated,
                episode_start=ended,
            )

    def __repr__(self) -> str:
        return (
            f"TFEnv({self.num_envs} x {type(self.model).__name__}, max_episode_steps="
            f"{self.max_episode_steps}, dtype={self._dtype.name})"
        )
