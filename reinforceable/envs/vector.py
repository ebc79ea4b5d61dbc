"""`GymEnv`: a gymnasium vector environment that speaks `Timestep`s, in NumPy and in a TF graph."""

from __future__ import annotations

import multiprocessing.connection
import sys
from collections.abc import Callable, Sequence

import gymnasium as gym
import numpy as np
import tensorflow as tf

from reinforceable._nest import leaf_paths
from reinforceable.envs._outputs import mismatch
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.envs.errors import EnvError, NonFiniteError, non_finite_error, report_errors
from reinforceable.envs.goals import vector_goal_reward
from reinforceable.envs.ids import registered_spec, uses_mujoco
from reinforceable.envs.infos import gather_infos, info_specs
from reinforceable.envs.specs import SpaceConverter, batch_spec
from reinforceable.envs.sync_vector import LeanSyncVectorEnv
from reinforceable.envs.timestep import Timestep

__all__ = ["EnvError", "GymEnv", "NonFiniteError"]


_NON_FINITE = "GymEnv: a NaN or infinite observation or reward (see the NonFiniteError)"


class GymEnv(Environment):
    """A batch of gymnasium environments, stepped together, returning `Timestep`s.

    It steps the environments in this process (`LeanSyncVectorEnv`: gymnasium's `SyncVectorEnv`
    semantics without the infos, which it does not read, and about 1.5x as fast on cheap tasks),
    or in worker processes (gymnasium's `AsyncVectorEnv`), with next-step auto-reset (the
    gymnasium default, set explicitly), or wraps a gymnasium `VectorEnv` of your own; it adds
    what an agent needs:

    * its `spec` (an `EnvSpec`: the spaces, the number of environments and the id), with the TF
      specs of observations and actions inferred from the spaces (see
      `reinforceable.envs.specs`): Box, Discrete, MultiDiscrete, MultiBinary, nested Tuple/Dict;
    * `Timestep`s with an explicit `episode_start` flag (see `Timestep` for the reset semantics);
    * actions in spec dtypes (int32 for discrete), converted back to the spaces' dtypes, with Box
      actions clipped to their bounds before stepping;
    * `tf_reset` / `tf_step`, the same calls as graph ops through `tf.numpy_function`, for a driver
      that runs the whole loop inside `tf.function`;
    * errors that name the environment: an exception in a sub-environment is re-raised as an
      `EnvError` with its index and original traceback, and asynchronous workers are shut down;
      the first reset and the first step of every sub-environment are checked against the spaces
      (tuple arity, structure, shape and a castable dtype; every step inside asynchronous
      workers), a later malformed return that breaks the batch is traced back to its
      environment, and a dead asynchronous worker is named; all as `EnvError`s that give the
      env index, its step, the field, and what was expected and received;
    * NaN and infinite observations and rewards refused with a `NonFiniteError` (an `EnvError`
      and a `FloatingPointError`) naming the env index and the step, unless `check_finite=False`.

    After an error the environments are closed; any later call says so.

    The same `seed` gives the same episodes, in synchronous and asynchronous mode alike (the
    sub-environment `i` is seeded with `seed + i`).

    Args:
        env: A registered gymnasium id (`"CartPole-v1"`, `"reinforceable/MixedAction2D-v0"`), a
            sequence of zero-argument factories returning `gymnasium.Env`s, or an existing
            `gymnasium.vector.VectorEnv` using next-step auto-reset.
        num_envs: Number of copies of `env` when it is an id.
        asynchronous: Step the environments in worker processes (`AsyncVectorEnv`). Pays off for
            expensive environments; for cheap ones (classic control) synchronous is faster.
        seed: Seed of the first reset.
        context: Multiprocessing start method for asynchronous environments (platform default).
        check_finite: Refuse non-finite float observations and rewards. Inside the Driver it
            is a few TF ops per step: about 3% of the Driver's throughput on CartPole at 32
            envs, the cheapest case (`benchmarks/env_checks.py`); `False` saves that.
        env_id: The id in the `spec`; by default `env` when it is an id, else the vector env's.
        infos: The gymnasium `info` keys to carry in `Timestep.info`, each with its dtype (or a
            `tf.TensorSpec` of its shape per environment): `{"is_success": "bool", "cost":
            "float32"}`; a list of keys means float32 scalars. An environment that does not
            report a key at a step gets zeros there; a value of another shape, or one that
            cannot take the dtype, is an `EnvError` naming the key, the environment and the
            step. `SuccessRate` counts `is_success` when it is there.
        **make_kwargs: Passed to `gymnasium.make` for each copy when `env` is an id.

    Raises:
        ValueError: For an unknown id, a non-positive `num_envs`, `num_envs` not matching the
            factories, or a vector environment that does not auto-reset on the next step.
        TypeError: For spaces that have no TF spec.

    Example:
        >>> env = GymEnv("CartPole-v1", num_envs=8, seed=0)
        >>> timestep = env.reset()                  # Timestep of [8, ...] NumPy arrays
        >>> timestep = env.step(np.zeros(8, np.int32))
    """

    def __init__(
        self,
        env: str | Sequence[Callable[[], gym.Env]] | gym.vector.VectorEnv,
        num_envs: int | None = None,
        *,
        asynchronous: bool = False,
        seed: int | None = None,
        context: str | None = None,
        check_finite: bool = True,
        env_id: str | None = None,
        infos=None,
        **make_kwargs,
    ):
        self._info_specs = info_specs(infos)
        if isinstance(env, gym.vector.VectorEnv):
            mode = env.metadata.get("autoreset_mode", gym.vector.AutoresetMode.NEXT_STEP)
            if mode != gym.vector.AutoresetMode.NEXT_STEP:
                raise ValueError(
                    "GymEnv: `env` must auto-reset on the next step (gymnasium's default); "
                    f"received autoreset_mode={mode}."
                )
            self._env = env
        else:
            factories = self._factories(env, num_envs, make_kwargs, asynchronous)
            if asynchronous:
                try:
                    self._env = gym.vector.AsyncVectorEnv(
                        factories,
                        autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP,
                        context=context,
                    )
                except (OSError, EOFError) as error:  # a worker died making its environment
                    raise EnvError(
                        "GymEnv: an asynchronous worker process died while making its "
                        f"environment ({type(error).__name__}: {error}); the error of its "
                        "factory, which names the factory's index, is printed above."
                    ) from None
            else:
                self._env = LeanSyncVectorEnv(factories, info_keys=list(self._info_specs))
        self.asynchronous = isinstance(self._env, gym.vector.AsyncVectorEnv)
        if env_id is None:
            env_id = env if isinstance(env, str) else getattr(self._env.spec, "id", None)
        self._spec = EnvSpec(
            self._env.single_observation_space,
            self._env.single_action_space,
            self._env.num_envs,
            env_id,
            vector_goal_reward(env, make_kwargs, self._env, env_id),
        )
        self._observations = SpaceConverter(self.observation_space)
        self._actions = SpaceConverter(self.action_space)
        self._seed = seed
        self._ended = np.ones(self.num_envs, bool)
        self._error: BaseException | None = None
        self.check_finite = bool(check_finite)
        leaves = [*tf.nest.flatten(self.observation_spec), tf.TensorSpec([], tf.float32)]
        self._finite_leaves = [i for i, s in enumerate(leaves) if s.dtype.is_floating]  # + reward
        self._steps = 0  # calls of `step` since the last reset, for error messages
        self._last_arrays: list | None = None  # the graph path's latest outputs
        self.closed = False

    @staticmethod
    def _factories(env, num_envs, make_kwargs, asynchronous) -> list[Callable[[], gym.Env]]:
        if isinstance(env, str):
            registered_spec(env, "GymEnv")
            if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs <= 0:
                raise ValueError(
                    f"GymEnv: `num_envs` must be a positive int with an env id; received "
                    f"{num_envs!r}."
                )
            makes = [lambda: gym.make(env, **make_kwargs)] * num_envs
        elif isinstance(env, Sequence) and env and all(callable(f) for f in env):
            if make_kwargs:
                raise ValueError(
                    f"GymEnv: keyword arguments {sorted(make_kwargs)} only apply to an env id, "
                    "not to factories."
                )
            if num_envs is not None and num_envs != len(env):
                raise ValueError(
                    f"GymEnv: `num_envs` ({num_envs}) does not match the {len(env)} factories."
                )
            makes = list(env)
        else:
            raise ValueError(
                "GymEnv: `env` must be a gymnasium id, a non-empty sequence of env factories or a "
                f"gymnasium VectorEnv; received {env!r}."
            )
        mujoco = uses_mujoco(env) if isinstance(env, str) else "mujoco" in sys.modules
        return [
            report_errors(make, index, asynchronous, mujoco) for index, make in enumerate(makes)
        ]

    @property
    def spec(self) -> EnvSpec:
        """The spaces, the number of environments and the id, for making agents."""
        return self._spec

    @property
    def info_spec(self) -> dict[str, tf.TensorSpec]:
        """The per-environment spec of each key of `Timestep.info` (see `infos`)."""
        return dict(self._info_specs)

    def _arrays(self, observation, reward, terminated, truncated, infos, in_graph=False) -> list:
        """Flat NumPy outputs: the observation leaves, the reward, a bool `[B, 3]` array of
        (terminated, truncated, episode_start) and the declared infos. Few outputs keep
        `tf.numpy_function` cheap."""
        terminated = np.asarray(terminated, bool)
        truncated = np.asarray(truncated, bool)
        flags = np.stack([terminated, truncated, self._ended], axis=1)
        self._ended = terminated | truncated
        reward = np.asarray(reward, np.float32)
        arrays = [*self._observations.to_arrays(observation), reward, flags, *infos]
        if in_graph:  # the graph checks its outputs with TF ops; `take_error` looks here then
            self._last_arrays = arrays
        elif self.check_finite:
            self._check_finite(arrays)
        return arrays

    def _check_finite(self, arrays) -> None:
        """Raises `NonFiniteError` naming the first env and field with a NaN or infinity."""
        for leaf in self._finite_leaves:
            array = arrays[leaf]
            if np.isfinite(array).all():
                continue
            paths = leaf_paths(self.observation_spec)
            name = "reward" if leaf == len(paths) else f"observation{paths[leaf]}"
            index = int(np.argwhere(~np.isfinite(array.reshape(self.num_envs, -1)))[0, 0])
            error = non_finite_error("GymEnv", index, name, self._steps, array[index])
            self._error = error
            self.close()
            raise error

    def _to_timestep(self, arrays) -> Timestep:
        count = len(arrays) - 2 - len(self._info_specs)
        observation, (reward, flags, *infos) = arrays[:count], arrays[count:]
        if tf.is_tensor(flags):
            terminated, truncated, episode_start = tf.unstack(flags, 3, axis=1)
        else:
            terminated, truncated, episode_start = flags[:, 0], flags[:, 1], flags[:, 2]
        return Timestep(
            observation=tf.nest.pack_sequence_as(self.observation_spec, observation),
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            episode_start=episode_start,
            info=dict(zip(self._info_specs, infos, strict=True)),
        )

    def _gathered(self, call, *args):
        """`call` (the vector env's reset or step) with its infos made into the declared arrays."""
        *outputs, infos = call(*args)
        if not self._info_specs:
            return (*outputs, [])
        try:
            return (*outputs, gather_infos(infos, self._info_specs, self.num_envs, self._steps))
        except ValueError as error:
            raise EnvError(str(error)) from None

    def _guard(self, call, *args, **kwargs):
        """Runs a call on the vector env; on failure, shuts workers down and keeps the error,
        made into an `EnvError` that names the environment where that can be found out."""
        if self.closed:
            self._error = RuntimeError(
                "GymEnv: the environment is closed (after an earlier error, or by `close()`); "
                "make a new one."
            )
            raise self._error
        try:
            return call(*args, **kwargs)
        except BaseException as error:
            named = None if isinstance(error, EnvError) else self._name_error(error)
            self._error = named or error
            self.close()
            if named is None:
                raise
            raise named from error

    def _name_error(self, error: BaseException) -> EnvError | None:
        """The sub-environment behind an error raised outside it: a malformed return that broke
        the batch assembly (synchronous), or a dead worker process (asynchronous)."""
        if self.asynchronous and isinstance(error, (OSError, EOFError)):
            processes = list(getattr(self._env, "processes", []))
            # A closed pipe can be seen a moment before its process has exited: wait for one.
            ended = multiprocessing.connection.wait([p.sentinel for p in processes], timeout=2.0)
            for index, process in enumerate(processes):
                if process.sentinel in ended:
                    process.join(timeout=1.0)  # reaps it, so that its exit code is known
                    return EnvError(
                        f"environment {index}: its worker process died (exit code "
                        f"{process.exitcode}) at step {self._steps} after the GymEnv's reset; "
                        f"{type(error).__name__}: {error}"
                    )
        # A synchronous vector env keeps each sub-environment's latest observation; one that
        # does not fit the space is what broke the batch.
        observations = getattr(self._env, "_env_obs", None)
        synchronous = (gym.vector.SyncVectorEnv, LeanSyncVectorEnv)
        if isinstance(self._env, synchronous) and isinstance(observations, list):
            for index, observation in enumerate(observations):
                if problem := mismatch(self.observation_space, observation):
                    return EnvError(
                        f"environment {index} returned a malformed observation at step "
                        f"{self._steps} after the GymEnv's reset: {problem}"
                    )
        return None

    def _reset_arrays(self, seed: int | None = None, in_graph: bool = False) -> list[np.ndarray]:
        if seed is None:
            seed, self._seed = self._seed, None
        self._steps = 0
        observation, infos = self._guard(self._gathered, lambda: self._env.reset(seed=seed))
        self._ended = np.ones(self.num_envs, bool)
        zeros = np.zeros(self.num_envs)
        return self._arrays(observation, zeros, zeros, zeros, infos, in_graph)

    def _step_arrays(self, flat_action, in_graph: bool = False) -> list[np.ndarray]:
        gym_action = self._actions.to_gym(flat_action, clip=True)
        self._steps += 1
        observation, reward, terminated, truncated, infos = self._guard(
            self._gathered, self._env.step, gym_action
        )
        return self._arrays(observation, reward, terminated, truncated, infos, in_graph)

    def reset(self, seed: int | None = None) -> Timestep:
        """Resets every environment; `seed` (or the constructor's seed, once) seeds them."""
        return self._to_timestep(self._reset_arrays(seed))

    def step(self, action) -> Timestep:
        """Steps every environment with a batched action nest in spec dtypes."""
        return self._to_timestep(self._step_arrays(tf.nest.flatten(action)))

    def take_error(self) -> BaseException | None:
        """The exception that the last failed call raised, if any (and forgets it); after the
        graph's non-finite check failed, the `NonFiniteError` naming the env and the field."""
        error, self._error = self._error, None
        if error is None and self.check_finite and self._last_arrays is not None:
            try:
                self._check_finite(self._last_arrays)
            except NonFiniteError as found:
                error, self._error = found, None
        return error

    def _tf_call(self, fn, inputs, name) -> Timestep:
        observation = tf.nest.flatten(batch_spec(self.observation_spec, self.num_envs))
        specs = [
            *observation,
            tf.TensorSpec([self.num_envs], tf.float32),
            tf.TensorSpec([self.num_envs, 3], tf.bool),
            *batch_spec(list(self._info_specs.values()), self.num_envs),
        ]
        # The function runs in Python at every step; autograph must not wrap it.
        fn = tf.autograph.experimental.do_not_convert(fn)
        outputs = tf.numpy_function(
            fn, inputs, Tout=[s.dtype for s in specs], stateful=True, name=name
        )
        for output, spec in zip(outputs, specs, strict=True):
            output.set_shape(spec.shape)
        if self.check_finite:
            outputs = self._tf_check_finite(outputs)
        return self._to_timestep(outputs)

    def _tf_check_finite(self, outputs: list[tf.Tensor]) -> list[tf.Tensor]:
        """The non-finite check as a few TF ops on the step's outputs. Inside the Driver's loop
        every NumPy call of the Python step costs several times what it costs alone (TF's
        threads compete with it), and a `tf.cond` calls a function per step; an `Assert` is
        cheapest. When it fails, `take_error` finds the env and the field in the last arrays."""
        finite = [tf.reduce_all(tf.math.is_finite(outputs[i])) for i in self._finite_leaves]
        check = tf.debugging.Assert(tf.reduce_all(tf.stack(finite)), [_NON_FINITE], summarize=1)
        with tf.control_dependencies([check]):
            return [tf.identity(output) for output in outputs]

    def tf_reset(self) -> Timestep:
        """`reset()` as a graph op (no seed: seed with `reset` before)."""
        return self._tf_call(lambda: self._reset_arrays(in_graph=True), [], "env_reset")

    def tf_step(self, action) -> Timestep:
        """`step(action)` as a graph op; `action` is a nest of tensors in spec dtypes."""
        return self._tf_call(
            lambda *flat: self._step_arrays(flat, in_graph=True),
            tf.nest.flatten(action),
            "env_step",
        )

    def close(self) -> None:
        """Closes the environments; asynchronous workers are terminated, not left running."""
        if self.closed:
            return
        self.closed = True
        if self.asynchronous:
            self._env.close(terminate=True)
        else:
            self._env.close()

    def __repr__(self) -> str:
        mode = "async" if self.asynchronous else "sync"
        return (
            f"GymEnv({self.num_envs} x {self._spec.env_id or 'env'}, {mode}, "
            f"observation_spec={self.observation_spec}, action_spec={self.action_spec})"
        )
