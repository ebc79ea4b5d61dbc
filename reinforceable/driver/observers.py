"""Observers: metrics updated inside the Driver's graph loop, one `Transition` at a time."""

from __future__ import annotations

import tensorflow as tf

from reinforceable.driver.trajectory import Transition

__all__ = ["EpisodeStatistics", "Observer", "SuccessRate"]


class Observer(tf.Module):
    """Base class: state in TF variables, updated by `update` inside `tf.function`.

    Subclasses create their variables in `build(num_envs)`, which the Driver calls once, and
    implement `update` and `result`. `begin` and `end` run at the start and the end of every
    `Driver.run`, inside the graph; the ops they return (if any) run before the first step and
    after the last one. `result` returns a scalar tensor, or a dict of them (each one a metric of
    its own in `Driver.metrics()`).

    Everything in `update` runs at every step of every environment batch, so keep it to a few
    cheap ops.
    """

    def __init__(self, name: str):
        super().__init__(name=name)

    def build(self, num_envs: int) -> None:
        self.num_envs = num_envs

    def begin(self) -> tf.Operation | None:
        """Called at the start of each run (inside the graph)."""
        return None

    def end(self) -> tf.Operation | None:
        """Called at the end of each run (inside the graph)."""
        return None

    def update(self, transition: Transition) -> None:
        raise NotImplementedError

    def result(self) -> tf.Tensor | dict[str, tf.Tensor]:
        raise NotImplementedError

    def reset(self) -> None:
        """Forgets everything observed so far."""
        for variable in self.variables:
            variable.assign(tf.zeros_like(variable))


class EpisodeStatistics(Observer):
    """Episode return and length, episodes finished, env steps and env steps per second.

    One observer for the five metrics, because they share their work: per step it costs a dozen
    small ops whatever the number of environments. Returns and lengths are those of the last
    `window` finished episodes; `values()` gives them one by one, oldest first (episodes that
    finish at the same step come in environment order).

    * `episode_return`: mean undiscounted return over the last `window` episodes (NaN before the
      first one ends);
    * `episode_length`: mean number of real transitions per episode, same window;
    * `episodes`: episodes finished so far;
    * `env_steps`: environment steps so far, every environment counted (the steps that reset an
      environment included, as gymnasium counts them);
    * `env_steps_per_second`: environment steps per second of wall-clock time in the last run.

    Args:
        window: How many finished episodes the means cover.
    """

    def __init__(self, window: int = 100, name: str = "episode_statistics"):
        if isinstance(window, bool) or not isinstance(window, int) or window <= 0:
            raise ValueError(
                f"EpisodeStatistics: `window` must be a positive int; received {window!r}."
            )
        super().__init__(name)
        self.window = window

    def build(self, num_envs: int) -> None:
        super().build(num_envs)
        # (return, length) of the episodes in progress.
        self._running = tf.Variable(tf.zeros([num_envs, 2]), trainable=False, name="running")
        # A ring buffer of finished episodes' (return, length), plus one trash row that takes
        # the writes of environments whose episode did not end: one branch-free scatter.
        self._finished = tf.Variable(
            tf.zeros([self.window + 1, 2]), trainable=False, name="finished"
        )
        self._episodes = tf.Variable(0, dtype=tf.int64, trainable=False, name="episodes")
        self._steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="steps")
        self._run_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="run_steps")
        self._start = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="start")
        self._end = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="end")

    def begin(self) -> tf.Operation:
        return tf.group(self._start.assign(tf.timestamp()), self._run_steps.assign(self._steps))

    def end(self) -> tf.Operation:
        return tf.group(self._end.assign(tf.timestamp()))

    def update(self, transition: Transition) -> None:
        now, after = transition.timestep, transition.next_timestep
        valid = ~(now.terminated | now.truncated)  # the action at a final step is ignored
        increment = tf.stack([after.reward, tf.ones_like(after.reward)], axis=1)
        running = self._running + tf.where(valid[:, None], increment, 0.0)
        ended = after.terminated | after.truncated
        ended_int = tf.cast(ended, tf.int32)
        order = tf.cumsum(ended_int, exclusive=True)
        count = tf.cast(self._episodes % self.window, tf.int32)
        slots = tf.where(ended, (count + order) % self.window, self.window)
        self._finished.scatter_nd_update(slots[:, None], running)
        self._episodes.assign_add(tf.cast(tf.reduce_sum(ended_int), tf.int64))
        self._steps.assign_add(self.num_envs)
        self._running.assign(tf.where(ended[:, None], 0.0, running))

    def episodes(self) -> tf.Tensor:
        """int64 scalar: episodes finished so far (cheaper than `result()`)."""
        return self._episodes.read_value()

    def values(self) -> tf.Tensor:
        """`[n, 2]`: (return, length) of the last `n <= window` finished episodes, oldest first."""
        count = tf.cast(tf.minimum(self._episodes, self.window), tf.int32)
        start = tf.cast((self._episodes - tf.cast(count, tf.int64)) % self.window, tf.int32)
        return tf.gather(self._finished, (start + tf.range(count)) % self.window)

    def result(self) -> dict[str, tf.Tensor]:
        means = tf.reduce_mean(self.values(), axis=0)  # NaN before the first episode ends
        elapsed = self._end - self._start
        run_steps = tf.cast(self._steps - self._run_steps, tf.float64)
        return {
            "episode_return": means[0],
            "episode_length": means[1],
            "episodes": self._episodes.read_value(),
            "env_steps": self._steps.read_value(),
            "env_steps_per_second": tf.cast(tf.math.divide_no_nan(run_steps, elapsed), tf.float32),
        }


class SuccessRate(Observer):
    """Share of finished episodes that succeeded.

    When the environment carries gymnasium's `is_success` info (`GymEnv(..., infos={"is_success":
    "bool"})`), an episode succeeded when `is_success` is set at its last step (terminated or
    truncated), as SB3 counts it. Otherwise success is read from the reward: an episode that
    terminated with a last reward above `threshold` succeeded, and truncated episodes count as
    failures. In `MixedAction2D`, signalling `done` pays +1 inside the target zone and -1
    outside, on top of that step's progress, which is at most the largest move (1) in size; so
    `threshold=0` counts exactly the successes.

    Args:
        threshold: Without `is_success`, the last reward of a successful episode is above it.
    """

    def __init__(self, threshold: float = 0.0, name: str = "success_rate"):
        super().__init__(name)
        self.threshold = float(threshold)

    def build(self, num_envs: int) -> None:
        super().build(num_envs)
        self._successes = tf.Variable(0.0, trainable=False, name="successes")
        self._episodes = tf.Variable(0.0, trainable=False, name="episodes")

    def update(self, transition: Transition) -> None:
        after = transition.next_timestep
        ended = after.terminated | after.truncated
        if "is_success" in after.info:
            success = ended & tf.cast(after.info["is_success"], tf.bool)
        else:
            success = after.terminated & (after.reward > self.threshold)
        self._successes.assign_add(tf.reduce_sum(tf.cast(success, tf.float32)))
        self._episodes.assign_add(tf.reduce_sum(tf.cast(ended, tf.float32)))

    def result(self) -> tf.Tensor:
        """The success rate (0 before any episode ends)."""
        return tf.math.divide_no_nan(self._successes, self._episodes)
