import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from reinforceable.envs import MemoryMixedAction2D, MixedAction2D
from reinforceable.envs.masked import MASKED_TASKS


@pytest.mark.parametrize("env_id", sorted(MASKED_TASKS))
def test_masked_tasks_hide_exactly_the_velocities(env_id):
    base_id, keep, max_steps = MASKED_TASKS[env_id]
    masked, base = gym.make(env_id), gym.make(base_id)
    assert masked.spec.max_episode_steps == base.spec.max_episode_steps == max_steps
    assert masked.observation_space.shape == (len(keep),)
    np.testing.assert_array_equal(
        masked.observation_space.low, base.observation_space.low[list(keep)]
    )
    observation, _ = masked.reset(seed=4)
    full, _ = base.reset(seed=4)
    np.testing.assert_array_equal(observation, full[list(keep)])
    base.action_space.seed(4)
    for _ in range(30):
        action = base.action_space.sample()
        observation, reward, terminated, truncated, _ = masked.step(action)
        full, full_reward, full_terminated, full_truncated, _ = base.step(action)
        np.testing.assert_array_equal(observation, full[list(keep)])
        assert (reward, terminated, truncated) == (full_reward, full_terminated, full_truncated)
        if terminated or truncated:
            break


def test_mixed_action_2d_passes_the_gymnasium_checker():
    check_env(MixedAction2D())
    env = gym.make("reinforceable/MixedAction2D-v0")
    assert env.spec.max_episode_steps == 50
    assert set(env.action_space.spaces) == {"axis", "move", "done"}


def test_mixed_action_2d_rewards_and_termination():
    env = MixedAction2D(target_radius=0.2)
    env.reset(seed=0)
    env._position, env._target = np.array([0.0, 0.0]), np.array([0.5, -0.3])
    # Move along x by 0.5: the distance falls from sqrt(0.34) to 0.3; reward is the progress.
    observation, reward, terminated, _, info = env.step({"axis": 0, "move": [0.5], "done": 0})
    assert reward == pytest.approx(np.sqrt(0.34) - 0.3) and not terminated
    np.testing.assert_allclose(observation, [0.5, 0.0, 0.5, -0.3])
    # Signalling done outside the zone ends the episode with -1 (plus the move's progress of 0).
    _, reward, terminated, _, info = env.step({"axis": 1, "move": [0.0], "done": 1})
    assert terminated and reward == pytest.approx(-1.0) and info["is_success"] is False
    env.reset(seed=0)
    env._position, env._target = np.array([0.5, 0.0]), np.array([0.5, -0.3])
    _, reward, terminated, _, info = env.step({"axis": 1, "move": [-0.25], "done": 1})
    assert terminated and info["is_success"] is True and reward == pytest.approx(1.0 + 0.25)


def test_mixed_action_2d_keeps_the_agent_in_the_arena_and_seeds_reproducibly():
    env = MixedAction2D()
    first, _ = env.reset(seed=9)
    again, _ = MixedAction2D().reset(seed=9)
    np.testing.assert_array_equal(first, again)
    for _ in range(5):
        observation, *_ = env.step({"axis": 1, "move": [1.0], "done": 0})
    assert observation[1] == 1.0 and np.all(np.abs(observation) <= 1.0)


@pytest.mark.parametrize(
    "kwargs", [{"target_radius": 0.0}, {"target_radius": 1.5}, {"max_move": 0.0}]
)
def test_mixed_action_2d_rejects_bad_parameters(kwargs):
    with pytest.raises(ValueError, match="MixedAction2D"):
        MixedAction2D(**kwargs)


def _act(axis, move, done=0):
    return {"axis": axis, "move": np.array([move], np.float32), "done": done}


def test_memory_task_shows_the_target_once_and_ignores_the_first_action():
    env = gym.make("reinforceable/MemoryMixedAction2D-v0")
    check_env(env.unwrapped, skip_render_check=True)
    observation, _ = env.reset(seed=0)
    target = observation[2:].copy()
    assert np.allclose(np.abs(target), 0.6) and np.allclose(observation[:2], 0.0)
    observation, reward, terminated, _, _ = env.step(_act(0, 1.0, done=1))  # only looks
    assert not terminated and reward == 0.0
    np.testing.assert_array_equal(observation, [0, 0, 0, 0])
    # Remembering the cue solves it in three steps: along x, along y, signal.
    env.step(_act(0, float(target[0])))
    env.step(_act(1, float(target[1])))
    _, reward, terminated, _, info = env.step(_act(0, 0.0, done=1))
    assert terminated and info["is_success"] and reward > 0
    assert env.spec.max_episode_steps == 20


def test_memory_task_hides_the_target_from_a_memoryless_policy():
    """After the first step, what the agent sees depends only on its actions: the same actions
    give the same observations whatever the target, so a memoryless policy succeeds for one
    target zone of four at most."""
    actions = [_act(0, 0.5), _act(0, 0.2), _act(1, -0.6), _act(1, 0.1)]
    seen, targets = [], set()
    for seed in range(12):
        env = MemoryMixedAction2D()
        first, _ = env.reset(seed=seed)
        targets.add(tuple(first[2:]))
        seen.append([env.step(a)[0] for a in actions])
    assert len(targets) == 4
    for run in seen[1:]:
        np.testing.assert_array_equal(np.array(run), np.array(seen[0]))


MOVE_COMMIT_IDS = [
    "reinforceable/MoveThenCommit1D-v0",
    "reinforceable/MoveThenCommit2D-v0",
    "reinforceable/MemoryMoveThenCommit1D-v0",
    "reinforceable/MemoryMoveThenCommit2D-v0",
]


@pytest.mark.parametrize("env_id", MOVE_COMMIT_IDS)
def test_move_then_commit_passes_the_checker_and_pays_only_a_stop_on_target(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    observation, _ = env.reset(seed=3)
    inner = env.unwrapped
    dims = inner.dims
    memory = inner.cue == "first"
    if memory:  # the first step only looks: free, and the target disappears from view after
        assert np.any(observation[dims:] != 0)
        observation, reward, *_ = env.step({"step": np.ones(dims, np.float32), "stop": 0})
        assert reward == 0.0 and np.all(observation[dims:] == 0)
        np.testing.assert_allclose(observation[:dims], inner._position)
    start = inner._position.copy()
    # A step towards the target costs 0.01 and moves at most max_step per axis.
    direction = np.sign(inner._target - inner._position).astype(np.float32)
    _, reward, terminated, _, _ = env.step({"step": direction, "stop": 0})
    assert reward == -0.01 and not terminated
    assert np.all(np.abs(inner._position - start) <= 0.5 + 1e-9)
    # Stopping away from the target ends the episode with nothing.
    inner._position = inner._target + 0.3
    _, reward, terminated, _, info = env.step({"step": direction, "stop": 1})
    assert terminated and reward == 0.0 and info["is_success"] is False
    env.reset(seed=4)
    if memory:
        env.step({"step": np.zeros(dims, np.float32), "stop": 1})  # looking: not a stop
    inner._position = inner._target + 0.05  # within the radius: +1, and the step is not taken
    _, reward, terminated, _, info = env.step({"step": np.ones(dims, np.float32), "stop": 1})
    assert terminated and reward == 1.0 and info["is_success"] is True
    np.testing.assert_allclose(inner._position, inner._target + 0.05)


def test_memory_move_then_commit_draws_its_targets_from_the_set():
    env = gym.make("reinforceable/MemoryMoveThenCommit2D-v0")
    targets = {tuple(round(float(x), 3) for x in env.reset(seed=s)[0][2:]) for s in range(40)}
    assert targets == {(0.6, 0.6), (0.6, -0.6), (-0.6, 0.6), (-0.6, -0.6)}
    with pytest.raises(ValueError, match=r"`targets` must be \[K, dims=1\]"):
        gym.make("reinforceable/MoveThenCommit1D-v0", targets=[[0.1, 0.2]])
