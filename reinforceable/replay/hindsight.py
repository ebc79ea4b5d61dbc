"""`HindsightReplay`: hindsight experience replay (Andrychowicz et al. 2017) for goal tasks, in
TF variables, its episodes kept whole and relabelled when sampled."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import tensorflow as tf

from reinforceable._checks import check_nonnegative_int, check_positive_int
from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.envs.goals import goal_space_problem
from reinforceable.replay.transitions import transition_spec

__all__ = ["STRATEGIES", "HindsightReplay", "her_goal_rows"]

STRATEGIES = ("future", "final", "episode")
_OPEN = -1  # the end of an episode that has not ended yet


def her_goal_rows(strategy: str, row, start, end, uniform) -> tf.Tensor:
    """The row whose achieved goal relabels each sampled row (SB3's and the HER paper's choice).

    With a sampled transition at absolute row `row` of an episode made of rows `[start, end)`
    (int64 `[N]` each) and `uniform` in [0, 1) `[N]`:

        future:  g ~ U{row, ..., end - 1}   (the transition's own next state included)
        final:   g = end - 1
        episode: g ~ U{start, ..., end - 1}

    The goal is the *next* achieved goal of row `g`. Returns `g`, int64 `[N]`.
    """
    if strategy == "final":
        return end - 1
    low = row if strategy == "future" else start
    span = tf.cast(end - low, tf.float64)
    offset = tf.cast(tf.floor(tf.cast(uniform, tf.float64) * span), tf.int64)
    return low + tf.minimum(offset, end - low - 1)


class HindsightReplay(tf.Module):
    """Transitions of goal-conditioned episodes, relabelled with achieved goals when sampled.

    Each environment column of the trajectories is a ring of `capacity // num_envs` rows, so an
    episode's transitions sit one after another, each with the absolute rows where its episode
    starts and ends (the end is filled in when the episode ends; an episode still running ends,
    for relabelling, at its newest row). `sample` draws stored transitions uniformly; a fraction
    `n_sampled_goal / (n_sampled_goal + 1)` of them (SB3's `her_ratio`) gets a new desired goal,
    the next `achieved_goal` of a row of its episode chosen by `strategy` (`her_goal_rows`), in
    both its observation and its next observation, and the reward `compute_reward(next
    achieved goal, new goal)`. Episodes cut by a truncation are stored like any other (the
    truncated step bootstraps from the final observation, and relabelling looks no further than
    the cut), and the stored discount (0 after a termination) is kept, as in SB3.

    The relabelled batch has `transition_spec`'s structure, what SAC's and TD3's losses take.
    The buffer is a `tf.Module`: checkpoints hold its rows and its episode bookkeeping.

    Args:
        spec: The goal task's `EnvSpec`: a Dict observation with `observation`, `achieved_goal`
            and `desired_goal`, and `num_envs`, the columns of the trajectories added.
        capacity: Transitions kept (at least `num_envs`; rounded down to a multiple of it).
        compute_reward: The task's vectorised `compute_reward(achieved_goal, desired_goal, info)`
            returning `[N]` rewards for `[N, *goal_shape]` goals; by default `spec.compute_reward`.
        strategy: `"future"`, `"final"` or `"episode"`.
        n_sampled_goal: Relabelled transitions per real one (4 in SB3 and the paper); 0 turns
            relabelling off.
        discount: γ, stored as each transition's discount (0 after a termination).

    Raises:
        ValueError: For an observation space that is not a goal Dict, no `compute_reward`, a
            `compute_reward` that fails or returns another shape on example goals, an unknown
            strategy, a negative `n_sampled_goal`, or a capacity below `num_envs`.

    Example:
        >>> env = rf.GymEnv("reinforceable/BitFlipping-v0", num_envs=4, n_bits=8, continuous=True)
        >>> replay = HindsightReplay(env.spec, 100_000, strategy="future", n_sampled_goal=4)
        >>> replay.add_trajectory(trajectory)          # from Driver.run
        >>> batch = replay.sample(256, seed=[0, 1])    # transition_spec's structure
    """

    def __init__(
        self,
        spec: EnvSpec,
        capacity: int,
        compute_reward: Callable | None = None,
        strategy: str = "future",
        n_sampled_goal: int = 4,
        discount: float = 0.99,
        name: str = "hindsight_replay",
    ):
        owner = "HindsightReplay"
        problem = goal_space_problem(spec.observation_space)
        if problem:
            raise ValueError(f"{owner}: needs a goal-conditioned task; {problem}.")
        compute_reward = spec.compute_reward if compute_reward is None else compute_reward
        if compute_reward is None or not callable(compute_reward):
            raise ValueError(
                f"{owner}: needs the task's vectorised `compute_reward(achieved_goal, "
                f"desired_goal, info)`; {spec.env_id or 'the environment'} has none (GymEnv "
                "takes it from the environment's `unwrapped.compute_reward`; pass "
                "`compute_reward=` for another source, or load a saved agent with its "
                "environment, `Agent.load(path, env)`)."
            )
        if strategy not in STRATEGIES:
            raise ValueError(
                f"{owner}: `strategy` must be one of {STRATEGIES}; received {strategy!r}."
            )
        check_nonnegative_int(owner, "n_sampled_goal", n_sampled_goal)
        check_positive_int(owner, "capacity", capacity)
        if capacity < spec.num_envs:
            raise ValueError(
                f"{owner}: `capacity` ({capacity}) must be at least `num_envs` ({spec.num_envs}): "
                "each environment has a ring of capacity // num_envs rows."
            )
        super().__init__(name=name)
        self.item_spec = self._no_dependency(transition_spec(spec))
        self.num_envs = spec.num_envs
        self.rows = capacity // spec.num_envs
        self.capacity = self.rows * spec.num_envs
        self.strategy, self.n_sampled_goal, self.discount = strategy, n_sampled_goal, discount
        self.her_ratio = n_sampled_goal / (n_sampled_goal + 1)
        goal_spec = spec.observation_spec["desired_goal"]
        self._goal_shape = goal_spec.shape
        self._compute_reward = compute_reward
        self._check_reward_function(goal_spec, spec.env_id)
        shape = [self.rows, self.num_envs]
        self._storage = tf.nest.map_structure(
            lambda s: tf.Variable(tf.zeros(shape + s.shape, s.dtype), trainable=False),
            self.item_spec,
        )
        self._start = tf.Variable(tf.zeros(shape, tf.int64), trainable=False, name="start")
        self._end = tf.Variable(tf.fill(shape, tf.constant(_OPEN, tf.int64)), trainable=False,
                                name="end")  # fmt: skip
        self._written = tf.Variable(tf.zeros([self.num_envs], tf.int64), trainable=False,
                                    name="written")  # fmt: skip
        self._open_start = tf.Variable(tf.zeros([self.num_envs], tf.int64), trainable=False,
                                       name="open_start")  # fmt: skip

    def _check_reward_function(self, goal_spec, env_id) -> None:
        example = np.zeros([3, *goal_spec.shape], goal_spec.dtype.as_numpy_dtype)
        try:
            reward = np.asarray(self._compute_reward(example, example, {}))
        except Exception as error:
            raise ValueError(
                f"HindsightReplay: `compute_reward` of {env_id or 'the environment'} failed on "
                f"3 example goals of shape {list(goal_spec.shape)}: "
                f"{type(error).__name__}: {error}"
            ) from None
        if reward.shape != (3,):
            raise ValueError(
                f"HindsightReplay: `compute_reward` of {env_id or 'the environment'} must return "
                f"one reward per goal, shape [3] for 3 goals of shape {list(goal_spec.shape)}; "
                f"received shape {list(reward.shape)}."
            )

    # ------------------------------------------------------------------------ adding

    @property
    def size(self) -> tf.Tensor:
        """Transitions held."""
        return tf.reduce_sum(tf.minimum(self._written, self.rows))

    def add_trajectory(self, trajectory: Trajectory, first_column=0) -> None:
        """Stores the trajectory's real transitions with their episodes' bounds, filling in the
        end of each episode that ends in it. Its `B` environment columns are the replay's
        columns `first_column` to `first_column + B - 1` (the runner's share, with several
        runners; all `num_envs` by default), each continuing that column's earlier rows.

        Raises:
            ValueError: If the trajectory's columns do not fit from `first_column` (a static
                `first_column` and column count are checked here).
        """
        columns = trajectory.reward.shape[1]
        if (
            isinstance(first_column, int)
            and columns is not None
            and (first_column < 0 or first_column + columns > self.num_envs)
        ):
            raise ValueError(
                f"HindsightReplay.add_trajectory: a trajectory of {columns} environment columns "
                f"from column {first_column} does not fit the replay's {self.num_envs} columns "
                "(its spec's num_envs), which keep each environment's episodes in order."
            )
        count = tf.shape(trajectory.reward, out_type=tf.int64)[1]
        column = tf.cast(first_column, tf.int64) + tf.range(count)  # [B]
        written = tf.gather(self._written, column)
        open_start = tf.gather(self._open_start, column)
        valid = tf.cast(trajectory.valid, tf.int64)
        ends = trajectory.valid & (trajectory.terminated | trajectory.truncated)
        absolute = written[None] + tf.cumsum(valid, 0, exclusive=True)  # [T, B]
        # An episode starts after the latest end before the row, or where the open one started.
        none = tf.fill([count], tf.constant(_OPEN, tf.int64))
        latest = tf.scan(tf.maximum, tf.where(ends, absolute + 1, _OPEN), initializer=none)
        before = tf.concat([none[None], latest[:-1]], 0)
        start = tf.where(before >= 0, before, open_start[None])
        # It ends one past the first end at or after the row, if there is one in this trajectory.
        big = tf.constant(np.iinfo(np.int64).max, tf.int64)
        first_after = tf.scan(tf.minimum, tf.where(ends, absolute + 1, big), reverse=True,
                              initializer=tf.fill([count], big))  # fmt: skip
        end = tf.where(first_after < big, first_after, _OPEN)

        # The open episode's earlier rows learn their end from the first end in this trajectory.
        closes = tf.reduce_any(ends, 0)
        oldest = tf.maximum(open_start, written - self.rows)
        ranges = tf.ragged.range(oldest, tf.where(closes, written, oldest))
        local = tf.cast(ranges.value_rowids(), tf.int64)
        self._end.scatter_nd_update(
            tf.stack([ranges.flat_values % self.rows, tf.gather(column, local)], 1),
            tf.gather(first_after[0], local),
        )
        # The new rows, at their place in their column's ring.
        mask = tf.cast(valid, tf.bool)
        column_of = tf.zeros_like(absolute) + column[None]
        indices = tf.stack([tf.boolean_mask(absolute, mask) % self.rows,
                            tf.boolean_mask(column_of, mask)], 1)  # fmt: skip
        items = self._transitions(trajectory)
        for variable, value in zip(tf.nest.flatten(self._storage), tf.nest.flatten(items),
                                   strict=True):  # fmt: skip
            variable.scatter_nd_update(indices, tf.boolean_mask(value, mask))
        self._start.scatter_nd_update(indices, tf.boolean_mask(start, mask))
        self._end.scatter_nd_update(indices, tf.boolean_mask(end, mask))
        self._open_start.scatter_nd_update(
            column[:, None], tf.where(closes, latest[-1], open_start)
        )
        self._written.scatter_nd_update(column[:, None], written + tf.reduce_sum(valid, 0))

    def _transitions(self, trajectory: Trajectory) -> dict:
        """`[T, B]` one-step transitions (the next observation is the next row's: the final one
        at a truncation, which the reset row that follows it carries)."""
        following = tf.nest.map_structure(
            lambda rows, last: tf.concat([rows[1:], last[None]], 0),
            trajectory.observation,
            trajectory.next_timestep.observation,
        )
        discount = self.discount * (1.0 - tf.cast(trajectory.terminated, tf.float32))
        items = {
            "observation": trajectory.observation,
            "action": trajectory.action,
            "reward": trajectory.reward,
            "next_observation": following,
            "discount": discount,
        }
        return tf.nest.map_structure(lambda s, x: tf.cast(x, s.dtype), self.item_spec, items)

    # ------------------------------------------------------------------------ sampling

    def sample(self, batch_size: int, seed) -> dict:
        """`batch_size` stored transitions drawn uniformly, a share of them relabelled (see the
        class docstring); `seed` is a stateless int32 `[2]` seed."""
        pick_seed, goal_seed, relabel_seed = tf.unstack(tf.random.split(seed, 3))
        held = tf.minimum(self._written, self.rows)  # [B]
        size = tf.reduce_sum(held)
        check = tf.debugging.assert_greater_equal(
            size, tf.constant(batch_size, tf.int64),
            message=f"HindsightReplay.sample: fewer transitions than batch_size={batch_size}",
        )  # fmt: skip
        with tf.control_dependencies([check]):
            flat = tf.random.stateless_uniform(
                [batch_size], pick_seed, 0, tf.maximum(size, 1), tf.int64
            )
        bounds = tf.cumsum(held)
        column = tf.searchsorted(bounds, flat, side="right", out_type=tf.int64)
        offset = flat - tf.gather(bounds - held, column)
        row = tf.gather(self._written - held, column) + offset  # absolute
        batch = self._gather(row, column)

        start = tf.maximum(self._gather_bound(self._start, row, column),
                           tf.gather(self._written - held, column))  # fmt: skip
        end = self._gather_bound(self._end, row, column)
        end = tf.where(end == _OPEN, tf.gather(self._written, column), end)
        uniform = tf.random.stateless_uniform([batch_size], goal_seed)
        goal_row = her_goal_rows(self.strategy, row, start, end, uniform)
        goal = self._gather(goal_row, column)["next_observation"]["achieved_goal"]
        relabel = tf.random.stateless_uniform([batch_size], relabel_seed) < self.her_ratio
        return self._relabelled(batch, goal, relabel)

    def _gather(self, row, column):
        indices = tf.stack([row % self.rows, column], 1)
        return tf.nest.map_structure(lambda v: tf.gather_nd(v, indices), self._storage)

    def _gather_bound(self, variable, row, column):
        return tf.gather_nd(variable, tf.stack([row % self.rows, column], 1))

    def _relabelled(self, batch: dict, goal, relabel) -> dict:
        """The batch with `goal` as the desired goal (and the reward recomputed) where
        `relabel`."""

        def where(new, old):
            shape = tf.concat([tf.shape(relabel), tf.ones([tf.rank(old) - 1], tf.int32)], 0)
            return tf.where(tf.reshape(relabel, shape), new, old)

        observation, following = dict(batch["observation"]), dict(batch["next_observation"])
        observation["desired_goal"] = where(goal, observation["desired_goal"])
        following["desired_goal"] = where(goal, following["desired_goal"])
        reward = tf.numpy_function(
            self._reward, [following["achieved_goal"], goal], tf.float32, stateful=False
        )
        reward = tf.ensure_shape(reward, relabel.shape)
        return {
            **batch,
            "observation": observation,
            "next_observation": following,
            "reward": where(reward, batch["reward"]),
        }

    def _reward(self, achieved, desired) -> np.ndarray:
        reward = np.asarray(self._compute_reward(achieved, desired, {}), np.float32)
        if reward.shape != achieved.shape[:1]:
            raise ValueError(
                f"HindsightReplay: `compute_reward` returned shape {list(reward.shape)} for "
                f"{achieved.shape[0]} goals; expected [{achieved.shape[0]}]."
            )
        return reward

    # ------------------------------------------------------------------------ state

    def get_state(self) -> dict:
        """The contents as NumPy (every variable, in `tf.Module` order)."""
        return {"variables": [v.numpy() for v in self.variables]}

    def set_state(self, state: dict) -> None:
        """Replaces the contents with `get_state()` of a replay of the same spec and capacity."""
        values = list(state["variables"])
        expected = [tuple(v.shape) for v in self.variables]
        if [tuple(np.shape(x)) for x in values] != expected:
            raise ValueError(
                f"HindsightReplay.set_state: expected variables of shapes {expected}; received "
                f"{[tuple(np.shape(x)) for x in values]}."
            )
        for variable, value in zip(self.variables, values, strict=True):
            variable.assign(value)
