"""HindsightReplay: each strategy's goals on hand-made episodes, rewards from compute_reward,
truncations and open episodes, the ring, checkpoints, and its refusals."""

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from reinforceable.driver.trajectory import Trajectory
from reinforceable.envs import EnvSpec, Timestep
from reinforceable.replay import HindsightReplay, her_goal_rows

BOX = gym.spaces.Box(-100.0, 100.0, (1,), np.float32)
SPACE = gym.spaces.Dict({"observation": BOX, "achieved_goal": BOX, "desired_goal": BOX})
DESIRED = 50.0  # the goal every stored transition had; relabelled ones have another


def reward(achieved, desired, info=None):
    """0 where the goals are within 0.5, -1 elsewhere (a sparse goal reward)."""
    return -(np.abs(np.asarray(achieved) - np.asarray(desired)) > 0.5).any(-1).astype(np.float32)


SPEC = EnvSpec(SPACE, gym.spaces.Box(-1.0, 1.0, (1,), np.float32), 2, compute_reward=reward)


def trajectory(first, valid, terminated, truncated):
    """`T` rows for 2 columns whose observation and achieved goal at row `t` of column `b` are
    `100 b + first + t`, so a row's next achieved goal is its id + 1."""
    valid = np.asarray(valid, bool)
    rows = valid.shape[0]
    ids = first + np.arange(rows)[:, None] + 100.0 * np.arange(2)[None]
    observation = {
        "observation": ids[..., None].astype(np.float32),
        "achieved_goal": ids[..., None].astype(np.float32),
        "desired_goal": np.full([rows, 2, 1], DESIRED, np.float32),
    }
    following = {k: v[-1] + 1.0 if k != "desired_goal" else v[-1] for k, v in observation.items()}
    flags = np.zeros(2, bool)
    return Trajectory(
        observation=observation,
        episode_start=np.zeros([rows, 2], bool),
        action=np.zeros([rows, 2, 1], np.float32),
        extras={},
        reward=np.full([rows, 2], -1.0, np.float32),
        terminated=np.asarray(terminated, bool),
        truncated=np.asarray(truncated, bool),
        valid=valid,
        policy_state=(),
        next_timestep=Timestep(following, np.zeros(2, np.float32), flags, flags, flags),
        next_policy_state=(),
    )


# Column 0: an episode of rows 0-2 cut by a truncation, the reset row 3, then an open episode
# from row 4. Column 1: an episode of rows 0-1 that terminates, the reset row 2, then an open
# episode from row 3.
VALID = [[1, 1], [1, 1], [1, 0], [0, 1], [1, 1], [1, 1]]
TERMINATED = [[0, 0], [0, 1], [0, 0], [0, 0], [0, 0], [0, 0]]
TRUNCATED = [[0, 0], [0, 0], [1, 0], [0, 0], [0, 0], [0, 0]]
# Each stored row's id and the next achieved goals its strategy may pick.
FUTURE = {0: {1, 2, 3}, 1: {2, 3}, 2: {3}, 4: {5, 6}, 5: {6}, 100: {101, 102}, 101: {102},
          103: {104, 105, 106}, 104: {105, 106}, 105: {106}}  # fmt: skip
FINAL = {0: {3}, 1: {3}, 2: {3}, 4: {6}, 5: {6}, 100: {102}, 101: {102}, 103: {106}, 104: {106},
         105: {106}}  # fmt: skip
LATER = {104, 105, 106}
EPISODE = {0: {1, 2, 3}, 1: {1, 2, 3}, 2: {1, 2, 3}, 4: {5, 6}, 5: {5, 6}, 100: {101, 102},
           101: {101, 102}, 103: LATER, 104: LATER, 105: LATER}  # fmt: skip


def samples(replay, draws=300, batch=8):
    sample = tf.function(lambda seed: replay.sample(batch, seed))
    batches = [sample(tf.constant([3, i])) for i in range(draws)]
    return tf.nest.map_structure(lambda *x: np.concatenate([np.asarray(v) for v in x]), *batches)


@pytest.mark.parametrize(
    ("strategy", "allowed"), [("future", FUTURE), ("final", FINAL), ("episode", EPISODE)]
)
def test_each_strategy_picks_its_goals_and_rewards_follow_compute_reward(strategy, allowed):
    replay = HindsightReplay(SPEC, 64, strategy=strategy, n_sampled_goal=4, discount=0.9)
    tf.function(replay.add_trajectory)(trajectory(0.0, VALID, TERMINATED, TRUNCATED))
    assert int(replay.size) == 10
    batch = samples(replay)
    ids = batch["observation"]["observation"][:, 0].astype(int)
    goals = batch["observation"]["desired_goal"][:, 0]
    relabelled = goals != DESIRED
    assert set(ids.tolist()) == set(allowed)  # every stored row, and no reset row
    # 4 relabelled per real one.
    assert 0.75 < relabelled.mean() < 0.85
    seen: dict[int, set] = {}
    for i, goal in zip(ids[relabelled], goals[relabelled], strict=True):
        seen.setdefault(int(i), set()).add(int(goal))
    assert seen == allowed  # each row's goals are exactly its strategy's
    np.testing.assert_array_equal(batch["next_observation"]["desired_goal"][:, 0], goals)
    expected = reward(batch["next_observation"]["achieved_goal"], goals[:, None])
    np.testing.assert_array_equal(batch["reward"], np.where(relabelled, expected, -1.0))
    # The next observation at the truncation is the final one; the discount is 0 only after a
    # termination.
    np.testing.assert_array_equal(batch["next_observation"]["observation"][:, 0], ids + 1)
    np.testing.assert_allclose(batch["discount"], np.where(ids == 101, 0.0, 0.9))


def test_a_later_trajectory_ends_the_open_episodes():
    replay = HindsightReplay(SPEC, 64, strategy="final")
    add = tf.function(replay.add_trajectory)
    add(trajectory(0.0, VALID, TERMINATED, TRUNCATED))
    # Column 0's open episode (rows 4, 5) ends at the next trajectory's row 0 (id 6); column
    # 1's (rows 3-5) at its row 1 (id 107).
    add(trajectory(6.0, [[1, 1], [0, 1], [1, 0]], [[0, 0], [0, 0], [0, 0]],
                   [[1, 0], [0, 1], [0, 0]]))  # fmt: skip
    batch = samples(replay)
    ids = batch["observation"]["observation"][:, 0].astype(int)
    goals = batch["observation"]["desired_goal"][:, 0]
    relabelled = goals != DESIRED
    finals = {int(i): int(g) for i, g in zip(ids[relabelled], goals[relabelled], strict=True)}
    assert {finals[i] for i in (4, 5, 6)} == {7}
    assert {finals[i] for i in (103, 104, 105, 106, 107)} == {108}
    assert finals[0] == 3 and finals[8] == 9  # the old episode, and the new open one


def test_the_ring_keeps_the_newest_rows_and_episodes_that_lost_their_start():
    replay = HindsightReplay(SPEC, 8, strategy="episode")  # 4 rows per column
    add = tf.function(replay.add_trajectory)
    add(trajectory(0.0, VALID, TERMINATED, TRUNCATED))
    batch = samples(replay)
    ids = set(batch["observation"]["observation"][:, 0].astype(int).tolist())
    assert ids == {1, 2, 4, 5, 101, 103, 104, 105}
    goals = batch["observation"]["desired_goal"][:, 0]
    picked = goals[batch["observation"]["observation"][:, 0] == 1]
    # Row 0 is gone, so the episode of rows 0-2 relabels from rows 1-2 only.
    assert set(picked[picked != DESIRED].astype(int).tolist()) == {2, 3}


def test_the_checkpoint_holds_rows_and_episodes():
    replay = HindsightReplay(SPEC, 64, strategy="future")
    replay.add_trajectory(trajectory(0.0, VALID, TERMINATED, TRUNCATED))
    restored = HindsightReplay(SPEC, 64, strategy="future")
    path = tf.train.Checkpoint(replay=replay).write("/tmp/rf_her_test/ckpt")
    tf.train.Checkpoint(replay=restored).read(path).assert_consumed()
    a, b = samples(replay, 3), samples(restored, 3)
    tf.nest.map_structure(np.testing.assert_array_equal, a, b)
    copy = HindsightReplay(SPEC, 64, strategy="future")
    copy.set_state(replay.get_state())
    tf.nest.map_structure(np.testing.assert_array_equal, a, samples(copy, 3))


def test_goal_rows_on_fixed_draws():
    row, start, end = (tf.constant([5, 5, 5], tf.int64), tf.constant([2, 2, 2], tf.int64),
                       tf.constant([9, 9, 9], tf.int64))  # fmt: skip
    uniform = tf.constant([0.0, 0.5, 0.999])
    assert her_goal_rows("future", row, start, end, uniform).numpy().tolist() == [5, 7, 8]
    assert her_goal_rows("episode", row, start, end, uniform).numpy().tolist() == [2, 5, 8]
    assert her_goal_rows("final", row, start, end, uniform).numpy().tolist() == [8, 8, 8]


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match="not a Dict"):
        HindsightReplay(EnvSpec(BOX, BOX, 1, compute_reward=reward), 10)
    with pytest.raises(ValueError, match="lacks the keys"):
        HindsightReplay(EnvSpec(gym.spaces.Dict({"observation": BOX}), BOX, 1), 10)
    with pytest.raises(ValueError, match="compute_reward"):
        HindsightReplay(SPEC.replace(compute_reward=None), 10)
    with pytest.raises(ValueError, match=r"shape \[3\].*received shape \[3, 1\]"):
        HindsightReplay(SPEC, 10, compute_reward=lambda a, d, i: np.zeros([len(a), 1]))
    with pytest.raises(ValueError, match="failed on 3 example goals"):
        HindsightReplay(SPEC, 10, compute_reward=lambda a, d, i: 1 / 0)
    with pytest.raises(ValueError, match="n_sampled_goal"):
        HindsightReplay(SPEC, 10, n_sampled_goal=-1)
    with pytest.raises(ValueError, match="strategy"):
        HindsightReplay(SPEC, 10, strategy="past")
    with pytest.raises(ValueError, match="3 environment columns from column 0 does not fit"):
        HindsightReplay(SPEC, 10).add_trajectory(
            tf.nest.map_structure(
                lambda x: np.concatenate([x, x[:, :1]], 1) if np.ndim(x) >= 2 else x,
                trajectory(0.0, VALID, TERMINATED, TRUNCATED),
            )
        )


def _column(trajectory, b):
    """Column `b` of a hand-made trajectory, as one runner of one environment would send it."""
    fields = {}
    for name in Trajectory._fields:
        axis = 0 if name in ("policy_state", "next_timestep", "next_policy_state") else 1
        fields[name] = tf.nest.map_structure(
            lambda x, axis=axis: np.take(x, [b], axis=axis), getattr(trajectory, name)
        )
    return Trajectory(**fields)


def test_columns_added_by_separate_runners_match_columns_added_together():
    first = trajectory(0.0, VALID, TERMINATED, TRUNCATED)
    second = trajectory(6.0, [[1, 1], [0, 1], [1, 0]], [[0, 0], [0, 0], [0, 0]],
                        [[1, 0], [0, 1], [0, 0]])  # fmt: skip
    together = HindsightReplay(SPEC, 64, strategy="episode")
    apart = HindsightReplay(SPEC, 64, strategy="episode")
    add = tf.function(apart.add_trajectory)
    for chunk in (first, second):
        together.add_trajectory(chunk)
    # Runner 1's chunks arrive before runner 0's: each column keeps its own order.
    for b, chunk in ((1, first), (1, second), (0, first), (0, second)):
        add(_column(chunk, b), tf.constant(b))
    for a, b in zip(together.variables, apart.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
