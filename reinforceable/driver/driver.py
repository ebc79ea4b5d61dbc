"""`Driver`: the agent-environment loop, run inside one `tf.function`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from reinforceable._nest import describe, leaf_paths
from reinforceable._random import generator
from reinforceable.driver.observers import EpisodeStatistics, Observer
from reinforceable.driver.policy import KerasPolicy, Policy
from reinforceable.driver.trajectory import Trajectory, Transition
from reinforceable.envs.timestep import Timestep
from reinforceable.envs.vector import GymEnv

__all__ = ["Driver"]


def _as_policy(policy_or_agent) -> Policy:
    if isinstance(policy_or_agent, Policy):
        return policy_or_agent
    if isinstance(policy_or_agent, keras.Model):
        return KerasPolicy(policy_or_agent)
    policy = getattr(policy_or_agent, "policy", None)
    if isinstance(policy, Policy):
        return policy
    raise TypeError(
        "Driver: `policy` must be a reinforceable Policy, a keras.Model of reinforceable layers, "
        f"or an agent with a `.policy`; received {type(policy_or_agent).__name__}."
    )


def _kind(dtype: tf.DType) -> str:
    if dtype.is_floating:
        return "float"
    if dtype.is_integer or dtype == tf.bool:
        return "int"
    return dtype.name


def _check_action(action, spec, num_envs: int) -> None:
    """Raises a ValueError if the policy's action does not fit the action spec."""
    expected = tf.nest.map_structure(lambda s: tf.TensorSpec([num_envs, *s.shape], s.dtype), spec)

    def mismatch(reason: str) -> ValueError:
        return ValueError(
            f"Driver: the policy's action does not fit the environment's action space ({reason}).\n"
            f"Expected (structure, shape, dtype):\n{describe(expected)}\n"
            f"Received:\n{describe(action)}"
        )

    try:
        tf.nest.assert_same_structure(expected, action)
    except (ValueError, TypeError):
        raise mismatch("different structure") from None
    for path, want, got in zip(
        leaf_paths(expected), tf.nest.flatten(expected), tf.nest.flatten(action), strict=True
    ):
        where = path or "the action"
        if tuple(got.shape) != tuple(want.shape):
            raise mismatch(f"shape of {where}")
        if _kind(got.dtype) != _kind(want.dtype):
            raise mismatch(f"dtype of {where}")


def _check_run_args(steps, episodes, num_envs: int, episodes_per_env=None) -> tuple[int, int, int]:
    if steps is None and episodes is None and episodes_per_env is None:
        raise ValueError("Driver.run: give `steps`, `episodes` or `episodes_per_env`.")
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps <= 0:
            raise ValueError(f"Driver.run: `steps` must be a positive int; received {steps!r}.")
        if steps % num_envs:
            raise ValueError(
                f"Driver.run: `steps` counts environment steps over all {num_envs} environments "
                f"and must be a multiple of {num_envs}; received {steps}."
            )
    if episodes is not None and (
        isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes <= 0
    ):
        raise ValueError(f"Driver.run: `episodes` must be a positive int; received {episodes!r}.")
    if episodes_per_env is not None and (
        isinstance(episodes_per_env, bool)
        or not isinstance(episodes_per_env, int | np.integer)
        or episodes_per_env <= 0
    ):
        raise ValueError(
            f"Driver.run: `episodes_per_env` must be a positive int; received {episodes_per_env!r}."
        )
    unlimited = np.iinfo(np.int32).max
    num_steps = unlimited if steps is None else int(steps) // num_envs
    per_env = unlimited if episodes_per_env is None else int(episodes_per_env)
    return num_steps, unlimited if episodes is None else int(episodes), per_env


class Driver:
    """Runs a policy in a batch of environments, with the whole loop inside `tf.function`.

    Each step of the loop calls the policy, steps the environments through `tf.numpy_function`,
    updates the observers and writes the row into the trajectory; nothing returns to Python
    between steps. The policy state (the hidden state of a recurrent policy, a planner's plan) is
    carried through the loop, reset where an episode starts, and kept, with the last timestep,
    from one `run` to the next, so consecutive chunks continue the same episodes.

    At construction the Driver resets the environments and calls the policy once on the first
    timestep, which builds the policy and checks that its action fits the action space.

    Args:
        policy: A `Policy`, a `keras.Model` built from `reinforceable.layers` (wrapped in a
            `KerasPolicy`), or an agent exposing a `.policy`.
        env: A `GymEnv`.
        observers: Metrics updated inside the loop. Defaults to `[EpisodeStatistics()]`:
            episode return and length, episodes finished, env steps and env steps per second.
        seed: Seed of the Driver's random generator, which draws a stateless seed for the policy
            at every step (the environments are seeded by `GymEnv`).
        run_eagerly: Run the same loop eagerly, step by step, for debugging.
        jit_compile: Compile the policy step with XLA. It pays off for some policies (a small
            recurrent network with a categorical head: about 20% less policy time) and costs for
            others (a squashed-Gaussian head: about twice the time on CPU), so it is opt-in;
            measure with `benchmarks/driver_throughput.py`. Raises if XLA cannot compile it.

    Raises:
        TypeError: For a policy or environment of the wrong type.
        ValueError: If the policy's action does not fit the action space (the message gives the
            expected and received structure, shapes and dtypes), or observers share a name.

    Example:
        >>> env = GymEnv("CartPole-v1", num_envs=8, seed=0)
        >>> driver = Driver(policy_model, env, seed=0)
        >>> trajectory = driver.run(steps=1024)    # [128, 8, ...]
        >>> driver.metrics()["episode_return"]
    """

    def __init__(
        self,
        policy,
        env: GymEnv,
        observers: Sequence[Observer] | None = None,
        *,
        seed: int | None = None,
        run_eagerly: bool = False,
        jit_compile: bool = False,
    ):
        if not isinstance(env, GymEnv):
            raise TypeError(
                f"Driver: `env` must be a reinforceable.envs.GymEnv; received {type(env).__name__}"
                ". Build one with GymEnv(env_id, num_envs)."
            )
        self.env = env
        self.policy = _as_policy(policy)
        self.num_envs = env.num_envs
        self.observers = [EpisodeStatistics()] if observers is None else list(observers)
        names = [observer.name for observer in self.observers]
        if len(set(names)) != len(names):
            raise ValueError(f"Driver: observers must have distinct names; received {names}.")
        for observer in self.observers:
            observer.build(self.num_envs)
        self.run_eagerly = bool(run_eagerly)
        self._rng = generator(seed)

        timestep = tf.nest.map_structure(tf.convert_to_tensor, env.reset())
        self.policy.build(timestep)
        state = self.policy.initial_state(self.num_envs)
        for path, leaf in zip(leaf_paths(state), tf.nest.flatten(state), strict=True):
            if leaf.shape.rank is None or leaf.shape.rank < 1 or leaf.shape[0] != self.num_envs:
                raise ValueError(
                    f"Driver: every tensor of the policy state must be [num_envs, ...] = "
                    f"[{self.num_envs}, ...]; the state at {path or 'the root'} has shape "
                    f"{leaf.shape}."
                )
        first = self._compile_policy_step(timestep, state, jit_compile)
        _check_action(first.action, env.action_spec, self.num_envs)
        self._extras_spec = tf.nest.map_structure(
            lambda t: tf.TensorSpec(t.shape, t.dtype), first.extras
        )
        self._timestep = tf.nest.map_structure(lambda t: tf.Variable(t, trainable=False), timestep)
        self._state = tf.nest.map_structure(lambda t: tf.Variable(t, trainable=False), state)
        self._run_graph = tf.function(self._run, autograph=False, reduce_retracing=True)

    def _compile_policy_step(self, timestep, state, jit_compile: bool):
        """Chooses how the loop calls the policy, and makes the first (dry) call with it."""
        seed = tf.zeros([2], tf.int32)
        self._policy_step = self.policy.step
        if not jit_compile or self.run_eagerly:
            return self.policy.step(timestep, state, seed)
        compiled = tf.function(self.policy.step, jit_compile=True, autograph=False)
        try:
            first = compiled(timestep, state, seed)
        except tf.errors.OpError as error:
            raise ValueError(
                "Driver: `jit_compile=True`, but XLA cannot compile the policy step: "
                f"{error.message.splitlines()[0]}"
            ) from error
        self._policy_step = compiled
        return first

    @property
    def rng(self) -> tf.random.Generator:
        """The generator that seeds each run's action sampling (checkpointed by `Trainer`)."""
        return self._rng

    @property
    def timestep(self) -> Timestep:
        """The timestep the next run starts from."""
        return tf.nest.map_structure(lambda v: v.read_value(), self._timestep)

    @property
    def policy_state(self) -> Any:
        """The policy state the next run starts from."""
        return tf.nest.map_structure(lambda v: v.read_value(), self._state)

    def reset(self, seed: int | None = None) -> None:
        """Resets the environments and the policy state; the next run starts new episodes."""
        timestep = self.env.reset(seed=seed)
        tf.nest.map_structure(lambda v, t: v.assign(t), self._timestep, timestep)
        tf.nest.map_structure(
            lambda v, t: v.assign(t), self._state, self.policy.initial_state(self.num_envs)
        )

    def _reset_where_started(self, episode_start, state, initial):
        def reset(value, start_value):
            mask = tf.reshape(episode_start, [-1] + [1] * (value.shape.rank - 1))
            return tf.where(mask, start_value, value)

        return tf.nest.map_structure(reset, state, initial)

    def _row(self, timestep: Timestep, action, extras, next_timestep: Timestep):
        """One trajectory row, in the order of the row spec built in `_run`.

        The four per-step flags travel as one bool `[num_envs, 4]` array (episode_start,
        terminated, truncated, valid): fewer writes per step.
        """
        flags = tf.stack(
            [
                timestep.episode_start,
                next_timestep.terminated,
                next_timestep.truncated,
                ~(timestep.terminated | timestep.truncated),
            ],
            axis=1,
        )
        return timestep.observation, action, extras, next_timestep.reward, flags

    def _run(
        self,
        num_steps: tf.Tensor,
        num_episodes: tf.Tensor,
        episodes_per_env: tf.Tensor,
        count_episodes: bool,
    ):
        begun = [op for op in (o.begin() for o in self.observers) if op is not None]
        # Step t samples with the stateless seed [run_seed, t]: one op per step, and a fresh
        # run_seed from the Driver's generator for every run.
        run_seed = self._rng.uniform_full_int([], tf.int32)
        timestep = self.timestep
        state = self.policy_state
        initial = self.policy.initial_state(self.num_envs)
        action_spec = self.env.action_spec
        timestep_spec = self.env.timestep_spec
        row_spec = (
            timestep_spec.observation,
            tf.nest.map_structure(
                lambda s: tf.TensorSpec([self.num_envs, *s.shape], s.dtype), action_spec
            ),
            self._extras_spec,
            timestep_spec.reward,
            tf.TensorSpec([self.num_envs, 4], tf.bool),
        )
        flat_row_spec = tf.nest.flatten(row_spec)
        arrays = [
            tf.TensorArray(s.dtype, size=0, dynamic_size=True, element_shape=s.shape)
            for s in flat_row_spec
        ]

        def keep_going(t, finished, *_):
            # finished: episodes finished by each environment, [num_envs].
            return (
                (t < num_steps)
                & (tf.reduce_sum(finished) < num_episodes)
                & (tf.reduce_min(finished) < episodes_per_env)
            )

        def body(t, finished, timestep, state, arrays):
            state = self._reset_where_started(timestep.episode_start, state, initial)
            step = self._policy_step(timestep, state, tf.stack([run_seed, t]))
            action = tf.nest.map_structure(
                lambda a, s: tf.cast(a, s.dtype), step.action, action_spec
            )
            next_timestep = self.env.tf_step(action)
            transition = Transition(timestep, action, step.extras, next_timestep)
            for observer in self.observers:
                observer.update(transition)
            row = tf.nest.flatten(self._row(timestep, action, step.extras, next_timestep))
            arrays = [array.write(t, value) for array, value in zip(arrays, row, strict=True)]
            if count_episodes:  # static: steps-only runs skip the count
                ended = next_timestep.terminated | next_timestep.truncated
                finished += tf.cast(ended, tf.int32)
            # The loop needs the state's shapes fixed; they are, only not always statically.
            for new, old in zip(tf.nest.flatten(step.state), tf.nest.flatten(state), strict=True):
                new.set_shape(old.shape)
            return t + 1, finished, next_timestep, step.state, arrays

        # The observers' begin ops (a start time, say) run before the first step...
        with tf.control_dependencies(begun):
            start = tf.identity(0)
        _, _, last_timestep, last_state, arrays = tf.while_loop(
            keep_going, body, (start, tf.zeros([self.num_envs], tf.int32), timestep, state, arrays)
        )
        # ... and their end ops after the last one.
        with tf.control_dependencies(tf.nest.flatten(last_timestep)):
            for observer in self.observers:
                observer.end()
        tf.nest.map_structure(lambda v, t: v.assign(t), self._timestep, last_timestep)
        tf.nest.map_structure(lambda v, t: v.assign(t), self._state, last_state)
        rows = tf.nest.pack_sequence_as(row_spec, [array.stack() for array in arrays])
        observation, action, extras, reward, flags = rows
        episode_start, terminated, truncated, valid = tf.unstack(flags, 4, axis=2)
        return Trajectory(
            observation=observation,
            episode_start=episode_start,
            action=action,
            extras=extras,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            valid=valid,
            policy_state=state,
            next_timestep=last_timestep,
            next_policy_state=last_state,
        )

    def run(
        self,
        steps: int | None = None,
        episodes: int | None = None,
        episodes_per_env: int | None = None,
    ) -> Trajectory:
        """Runs the loop and returns the time-major trajectory `[T, num_envs, ...]`.

        Args:
            steps: Environment steps over all environments, a multiple of `num_envs`;
                `T = steps // num_envs`.
            episodes: Stop once this many episodes (over all environments) have finished.
            episodes_per_env: Stop once every environment has finished this many episodes
                (evolution strategies such as ARS: one episode per perturbation). Environments
                that finish early go on to their next episode meanwhile.
                With several limits, the run stops at whichever comes first.

        Raises:
            ValueError: For missing or invalid `steps` / `episodes`.
            EnvError: If an environment raised; it names the environment and carries the
                original traceback. Asynchronous workers are shut down first.
        """
        num_steps, num_episodes, per_env = _check_run_args(
            steps, episodes, self.num_envs, episodes_per_env
        )
        run = self._run if self.run_eagerly else self._run_graph
        count_episodes = episodes is not None or episodes_per_env is not None
        try:
            return run(
                tf.constant(num_steps),
                tf.constant(num_episodes),
                tf.constant(per_env),
                count_episodes,
            )
        except Exception as error:
            env_error = self.env.take_error()
            if env_error is None or env_error is error:
                raise
            # Re-raise what the environment raised, with its own cause; the TF op error that
            # carried it out of the graph adds nothing.
            raise env_error from env_error.__cause__

    def metrics(self) -> dict[str, float]:
        """The observers' results as Python numbers, keyed by metric name.

        An observer whose result is a dict contributes each entry under its own key; any other
        observer contributes its result under the observer's name.
        """
        metrics = {}
        for observer in self.observers:
            result = observer.result()
            if not isinstance(result, dict):
                result = {observer.name: result}
            metrics.update({key: value.numpy().item() for key, value in result.items()})
        return metrics

    def close(self) -> None:
        """Closes the environments."""
        self.env.close()
