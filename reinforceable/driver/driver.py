"""`Driver`: the agent-environment loop, run inside one `tf.function`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from reinforceable._random import generator
from reinforceable.driver._checks import (
    FiniteActions,
    as_policy,
    check_action,
    check_run_args,
    check_sequence_length,
    check_state,
    check_support,
)
from reinforceable.driver.observers import EpisodeStatistics, Observer
from reinforceable.driver.trajectory import Trajectory, Transition
from reinforceable.envs.base import Environment
from reinforceable.envs.timestep import Timestep

__all__ = ["Driver"]


class Driver:
    """Runs a policy in a batch of environments, with the whole loop inside `tf.function`.

    Each step of the loop calls the policy, steps the environments (`Environment.tf_step`: through
    `tf.numpy_function` for a `GymEnv`, in TF ops for a `TFEnv`), updates the observers and
    writes the row into the trajectory; nothing returns to Python between steps. The policy state
    (the hidden state of a recurrent policy, a planner's plan) is carried through the loop, reset
    where an episode starts, and kept, with the last timestep, from one `run` to the next, so
    consecutive chunks continue the same episodes.

    At construction the Driver resets the environments, builds the policy on the first timestep
    and traces one step of it (without running it), which checks that its action fits the
    action space.

    Args:
        policy: A `Policy`, a `keras.Model` built from `reinforceable.layers` (wrapped in a
            `KerasPolicy`), or an agent exposing a `.policy`.
        env: An `Environment`: a `GymEnv`, a `TFEnv`, or your own implementation.
        observers: Metrics updated inside the loop. Defaults to `[EpisodeStatistics()]`:
            episode return and length, episodes finished, env steps and env steps per second.
        seed: Seed of the Driver's random generator, which draws a stateless seed for the policy
            at every step (the environments are seeded by the environment).
        run_eagerly: Run the same loop eagerly, step by step, for debugging.
        jit_compile: Compile with XLA. For an in-graph environment that XLA can compile (a
            `TFEnv` of pure TF ops), the whole loop of a `run(steps=...)` is compiled: policy,
            environment, observers and trajectory (runs that stop on episodes keep the graph
            loop). Otherwise only the policy step is: that pays off for some policies (a small
            recurrent network with a categorical head: about 20% less policy time) and costs for
            others (a squashed-Gaussian head: about twice the time on CPU), so it is opt-in;
            measure with `benchmarks/driver_throughput.py`. Raises if XLA cannot compile it.
        sequence_length: Record the policy state before every `sequence_length`-th row
            (`Trajectory.sequence_states`), so that a learner can replay each sequence from the
            state the actor had (recurrent PPO, recurrent replay). `None` records only the state
            before the first row (`Trajectory.policy_state`).

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
        env: Environment,
        observers: Sequence[Observer] | None = None,
        *,
        seed: int | None = None,
        run_eagerly: bool = False,
        jit_compile: bool = False,
        sequence_length: int | None = None,
    ):
        if not isinstance(env, Environment):
            raise TypeError(
                "Driver: `env` must be a reinforceable.envs.Environment (a GymEnv, a TFEnv or an "
                f"implementation of the protocol); received {type(env).__name__}. Build one with "
                "GymEnv(env_id, num_envs)."
            )
        self.env = env
        self.policy = as_policy(policy)
        self.num_envs = env.num_envs
        self.sequence_length = check_sequence_length(sequence_length)
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
        check_state(state, self.num_envs)
        # The whole loop compiles only where the environment is made of XLA-compatible TF ops.
        self._compile_loop = bool(jit_compile) and env.xla_compatible and not self.run_eagerly
        first = self._compile_policy_step(timestep, state, jit_compile and not self._compile_loop)
        check_action(first.action, env.action_spec, self.num_envs)
        check_support(self.policy.action_support(), env.spec.action_space)
        self._extras_spec = tf.nest.map_structure(
            lambda t: tf.TensorSpec(t.shape, t.dtype), first.extras
        )
        self._timestep = tf.nest.map_structure(lambda t: tf.Variable(t, trainable=False), timestep)
        self._state = tf.nest.map_structure(lambda t: tf.Variable(t, trainable=False), state)
        self._action_check = FiniteActions(env.action_spec, self.num_envs)
        self._run_graph = tf.function(self._run, autograph=False, reduce_retracing=True)
        self._compiled_loops: dict[int, Any] = {}

    def _compile_policy_step(self, timestep, state, jit_compile: bool):
        """Chooses how the loop calls the policy; returns its outputs for a first timestep.

        The outputs come from tracing the step, not running it, so that building a Driver has
        no side effects on the policy (ARS's whitening statistics, updated as it acts)."""
        seed = tf.zeros([2], tf.int32)
        self._policy_step = self.policy.step
        if self.run_eagerly:
            return self.policy.step(timestep, state, seed)
        if not jit_compile:
            spec = lambda t: tf.TensorSpec(t.shape, t.dtype)  # noqa: E731
            traced = tf.function(self.policy.step, autograph=False).get_concrete_function(
                tf.nest.map_structure(spec, timestep), tf.nest.map_structure(spec, state),
                tf.TensorSpec([2], tf.int32),
            )  # fmt: skip
            return traced.structured_outputs
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
        self.policy.reset()

    def _reset_where_started(self, episode_start, state, initial):
        def reset(value, start_value):
            mask = tf.reshape(episode_start, [-1] + [1] * (value.shape.rank - 1))
            return tf.where(mask, start_value, value)

        return tf.nest.map_structure(reset, state, initial)

    def _row(self, timestep: Timestep, action, extras, next_timestep: Timestep):
        """One trajectory row, in the order of the row spec built in `_row_spec`.

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
        info = next_timestep.info  # {} unless the env carries info entries
        return timestep.observation, action, extras, next_timestep.reward, flags, info

    def _row_spec(self):
        timestep_spec = self.env.timestep_spec
        return (
            timestep_spec.observation,
            tf.nest.map_structure(
                lambda s: tf.TensorSpec([self.num_envs, *s.shape], s.dtype), self.env.action_spec
            ),
            self._extras_spec,
            timestep_spec.reward,
            tf.TensorSpec([self.num_envs, 4], tf.bool),
            tf.nest.map_structure(lambda v: tf.TensorSpec(v.shape, v.dtype), self._timestep.info),
        )

    def _loop(self, timestep, state, run_seed, num_steps, num_episodes, episodes_per_env,
              count_episodes: bool, static_size: int | None):  # fmt: skip
        """The `tf.while_loop` over steps: returns the last timestep and state, and the stacked
        rows and per-step states (`static_size`: the number of steps, known when compiling)."""
        initial = self.policy.initial_state(self.num_envs)
        action_spec = self.env.action_spec
        size = {"size": static_size} if static_size else {"size": 0, "dynamic_size": True}

        def array(spec):
            return tf.TensorArray(spec.dtype, element_shape=spec.shape, **size)

        arrays = [array(s) for s in tf.nest.flatten(self._row_spec())]
        record = self.sequence_length is not None
        state_arrays = [array(tf.TensorSpec(s.shape, s.dtype)) for s in tf.nest.flatten(state)]

        def keep_going(t, finished, *_):
            # finished: episodes finished by each environment, [num_envs].
            going = t < num_steps
            if count_episodes:
                going &= (tf.reduce_sum(finished) < num_episodes) & (
                    tf.reduce_min(finished) < episodes_per_env
                )
            return going

        def body(t, finished, timestep, state, arrays, state_arrays):
            if record:  # the state carried into row t, as `policy_state` is for row 0
                state_arrays = [
                    a.write(t, v) for a, v in zip(state_arrays, tf.nest.flatten(state), strict=True)
                ]
            state = self._reset_where_started(timestep.episode_start, state, initial)
            step = self._policy_step(timestep, state, tf.stack([run_seed, t]))
            # In the spec's containers (a Tuple space's tuple where a model returned a list).
            action = tf.nest.map_structure(
                lambda s, a: tf.cast(a, s.dtype), action_spec, step.action, check_types=False
            )
            action = self._action_check(action, t)
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
            return t + 1, finished, next_timestep, step.state, arrays, state_arrays

        start = tf.constant(0)
        finished = tf.zeros([self.num_envs], tf.int32)
        _, _, last_timestep, last_state, arrays, state_arrays = tf.while_loop(
            keep_going, body, (start, finished, timestep, state, arrays, state_arrays)
        )
        rows = [a.stack() for a in arrays]
        states = [a.stack()[:: self.sequence_length] for a in state_arrays] if record else []
        return last_timestep, last_state, rows, states

    def _compiled_loop(self, num_steps: int):
        """The loop of a `num_steps`-step run, compiled with XLA (traced once per step count)."""
        if num_steps not in self._compiled_loops:

            def loop(timestep, state, run_seed):
                return self._loop(
                    timestep, state, run_seed, num_steps, None, None, False, num_steps
                )

            self._compiled_loops[num_steps] = tf.function(loop, jit_compile=True, autograph=False)
        return self._compiled_loops[num_steps]

    def _run(
        self,
        num_steps: tf.Tensor,
        num_episodes: tf.Tensor,
        episodes_per_env: tf.Tensor,
        count_episodes: bool,
        static_steps: int | None = None,
    ):
        begun = [op for op in (o.begin() for o in self.observers) if op is not None]
        # Step t samples with the stateless seed [run_seed, t]: one op per step, and a fresh
        # run_seed from the Driver's generator for every run.
        run_seed = self._rng.uniform_full_int([], tf.int32)
        version = tf.fill([self.num_envs], tf.cast(self.policy.version(), tf.int64))
        # The observers' begin ops (a start time, say) run before the first step...
        with tf.control_dependencies(begun):
            timestep = tf.nest.map_structure(tf.identity, self.timestep)
        state = self.policy_state
        if static_steps is not None:
            loop = self._compiled_loop(static_steps)
            last_timestep, last_state, rows, states = loop(timestep, state, run_seed)
        else:
            last_timestep, last_state, rows, states = self._loop(
                timestep, state, run_seed, num_steps, num_episodes, episodes_per_env,
                count_episodes, None,
            )  # fmt: skip
        # ... and their end ops after the last one.
        with tf.control_dependencies(tf.nest.flatten(last_timestep)):
            for observer in self.observers:
                observer.end()
        tf.nest.map_structure(lambda v, t: v.assign(t), self._timestep, last_timestep)
        tf.nest.map_structure(lambda v, t: v.assign(t), self._state, last_state)
        observation, action, extras, reward, flags, info = tf.nest.pack_sequence_as(
            self._row_spec(), rows
        )
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
            sequence_states=tf.nest.pack_sequence_as(state, states) if states else (),
            policy_version=version,
            info=info,
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
            NonFiniteError: (an `EnvError`) If an environment returned a NaN or infinite
                observation or reward, naming the environment, the field and the step.
            NonFiniteActionError: If the policy's action was NaN or infinite, naming the action
                leaf, the environment and the step (the environment never stepped with it).
        """
        num_steps, num_episodes, per_env = check_run_args(
            steps, episodes, self.num_envs, episodes_per_env
        )
        count_episodes = episodes is not None or episodes_per_env is not None
        arguments = (tf.constant(num_steps), tf.constant(num_episodes), tf.constant(per_env))
        try:
            if self.run_eagerly:
                trajectory = self._run(*arguments, count_episodes)
            elif self._compile_loop and not count_episodes:
                trajectory = self._run_graph(*arguments, False, num_steps)
            else:
                trajectory = self._run_graph(*arguments, count_episodes)
        except Exception as error:
            env_error = self._take_error()
            if env_error is None or env_error is error:
                raise
            # Re-raise what the environment raised, with its own cause; the TF op error that
            # carried it out of the graph adds nothing.
            raise env_error from env_error.__cause__
        finally:
            for message in self.policy.take_warnings():
                warnings.warn(message, stacklevel=2)
        # A fault recorded without raising (XLA drops assertions).
        env_error = self._take_error()
        if env_error is not None:
            raise env_error
        return trajectory

    def _take_error(self) -> BaseException | None:
        """The non-finite action, which came first where the environment then failed too,
        else the environment's error (both are taken, so both are forgotten)."""
        action_error, env_error = self._action_check.take_error(), self.env.take_error()
        return action_error or env_error

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
