"""`LeanSyncVectorEnv` against gymnasium's `SyncVectorEnv` (next-step auto-reset), step for step."""

import gymnasium as gym
import numpy as np
import pytest

from reinforceable.envs.sync_vector import LeanSyncVectorEnv
from tests.envs.helpers import NestedEnv


def both(make, num_envs):
    gymnasium = gym.vector.SyncVectorEnv(
        [make] * num_envs, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP
    )
    return gymnasium, LeanSyncVectorEnv([make] * num_envs)


def assert_same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            assert_same(a[key], b[key])
    else:
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_cartpole_steps_and_resets_as_gymnasium_at_every_boundary():
    gymnasium, lean = both(lambda: gym.make("CartPole-v1", max_episode_steps=9), 5)
    assert lean.observation_space == gymnasium.observation_space
    assert lean.action_space == gymnasium.action_space
    assert lean.metadata["autoreset_mode"] == gym.vector.AutoresetMode.NEXT_STEP
    assert_same(gymnasium.reset(seed=4)[0], lean.reset(seed=4)[0])
    rng = np.random.default_rng(0)
    ends = 0
    for _ in range(200):
        action = rng.integers(0, 2, 5)
        expected, got = gymnasium.step(action), lean.step(action)
        for e, g in zip(expected[:4], got[:4], strict=True):
            assert_same(np.asarray(e), np.asarray(g))
        ends += int(np.sum(got[2] | got[3]))
    assert ends > 50  # terminations and truncations both crossed many times


def test_nested_spaces_and_seed_lists_behave_as_gymnasium():
    gymnasium, lean = both(lambda: NestedEnv(length=3), 3)
    seeds = [7, None, 9]
    first, lean_first = gymnasium.reset(seed=[7, 8, 9])[0], lean.reset(seed=[7, 8, 9])[0]
    assert_same(first, lean_first)
    rng = np.random.default_rng(1)
    for _ in range(12):
        masks = lean_first["action_mask"]
        choice = np.array([int(np.flatnonzero(m)[0]) for m in masks])
        move = rng.uniform(-1, 1, (3, 2)).astype(np.float32)
        expected, got = gymnasium.step((choice, move)), lean.step((choice, move))
        assert_same(expected[0], got[0])
        for e, g in zip(expected[1:4], got[1:4], strict=True):
            assert_same(np.asarray(e), np.asarray(g))
        lean_first = got[0]
    with pytest.raises(ValueError, match=r"one entry per environment \(3\); received 2"):
        lean.reset(seed=seeds[:2])


def test_returned_arrays_are_copies():
    lean = LeanSyncVectorEnv([lambda: gym.make("CartPole-v1")] * 2)
    observation, _ = lean.reset(seed=0)
    kept = observation.copy()
    observation[:] = 99.0
    after, reward, *_ = lean.step(np.zeros(2, np.int64))
    assert not np.any(after == 99.0)
    reward[:] = 5.0
    assert not np.any(lean.step(np.zeros(2, np.int64))[1] == 5.0)
    assert not np.array_equal(kept, after)
    lean.close()
    assert lean.closed
