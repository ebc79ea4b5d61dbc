"""Chosen gymnasium infos in `Timestep.info`: gathered like gymnasium's vector envs, in NumPy and
in the graph, counted by `SuccessRate`, and refused when malformed."""

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

import reinforceable as rf
from reinforceable.driver import SuccessRate
from reinforceable.driver.trajectory import concatenate, pad_rows
from reinforceable.envs import EnvError
from reinforceable.envs.sync_vector import LeanSyncVectorEnv


class _Task(gym.Env):
    """Episodes of 3 steps with reward 0; `cost` is the step's count (not reported at reset);
    the last step reports `is_success` = (action == 1), as a float, as some envs do."""

    observation_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def __init__(self, cost_shape=()):
        self.t = 0
        self.cost_shape = cost_shape

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self.t += 1
        info = {"cost": np.full(self.cost_shape, float(self.t))}
        terminated = self.t >= 3
        if terminated:
            info["is_success"] = float(action == 1)
        return np.zeros(1, np.float32), 0.0, terminated, False, info


INFOS = {"is_success": "bool", "cost": tf.float32}


def _envs(num_envs=3):
    return [_Task] * num_envs


@pytest.mark.parametrize("kind", ["lean", "gymnasium", "async"])
def test_infos_follow_the_steps_and_resets(kind):
    if kind == "gymnasium":
        vector = gym.vector.SyncVectorEnv(_envs())
        env = rf.GymEnv(vector, infos=INFOS)
    else:
        env = rf.GymEnv(_envs(), asynchronous=kind == "async", infos=INFOS)
    assert set(env.info_spec) == {"is_success", "cost"}
    first = env.reset(seed=0)
    np.testing.assert_array_equal(first.info["cost"], [0.0, 0.0, 0.0])  # not reported: zeros
    costs, successes = [], []
    for action in ([1, 0, 1], [1, 0, 1], [1, 0, 0], [0, 0, 0], [0, 1, 0]):
        timestep = env.step(np.array(action, np.int32))
        costs.append(timestep.info["cost"].tolist())
        successes.append(timestep.info["is_success"].tolist())
        assert timestep.info["is_success"].dtype == np.bool_
    # steps 1, 2, 3 (the last: is_success = action == 1), then the reset step (no infos), then 1
    assert costs == [[1.0] * 3, [2.0] * 3, [3.0] * 3, [0.0] * 3, [1.0] * 3]
    assert successes[2] == [True, False, False] and not any(
        any(row) for row in successes[:2] + successes[3:]
    )
    env.close()


def test_graph_infos_match_the_numpy_calls():
    numpy_env = rf.GymEnv(_envs(), infos=INFOS)
    graph_env = rf.GymEnv(_envs(), infos=INFOS)
    numpy_env.reset(seed=0)
    graph_env.reset(seed=0)
    for action in ([1, 0, 1], [1, 0, 1], [1, 1, 0], [0, 0, 0]):
        expected = numpy_env.step(np.array(action, np.int32))
        got = tf.function(graph_env.tf_step)(tf.constant(action, tf.int32))
        for key in INFOS:
            np.testing.assert_array_equal(got.info[key].numpy(), expected.info[key])
            assert got.info[key].shape == (3,)


def test_success_rate_reads_is_success_in_the_driver():
    """Reward is always 0, so only `is_success` can tell the successes: action 1 always."""

    class Always(rf.Policy):
        def step(self, timestep, state, seed):
            return rf.driver.PolicyStep(tf.ones_like(timestep.reward, tf.int32), state, {})

    env = rf.GymEnv(_envs(), infos=INFOS, seed=0)
    rate = SuccessRate()
    driver = rf.Driver(Always(), env, [rate])
    driver.run(24)  # two whole episodes per env (4 steps each)
    assert float(rate.result()) == 1.0
    without = SuccessRate()
    rf.Driver(Always(), rf.GymEnv(_envs(), seed=0), [without]).run(24)
    assert float(without.result()) == 0.0  # from the reward, which says nothing here


def test_trajectories_carry_the_infos_that_came_with_each_reward():
    """Row t's info is the one returned with row t's reward: `cost` counts the steps of each
    episode, `is_success` is set on its last step; an env without infos gives `{}`."""
    env = rf.GymEnv(_envs(2), infos=INFOS, seed=0)
    driver = rf.Driver(rf.RandomPolicy(env.spec.action_space), env)
    trajectory = driver.run(16)  # env steps: 8 rows of 2
    assert set(trajectory.info) == {"is_success", "cost"}
    assert trajectory.info["cost"].shape == (8, 2)
    assert trajectory.info["is_success"].dtype == tf.bool
    # Rows: steps 1, 2, 3 of an episode, then the reset row (its action ignored, no infos).
    np.testing.assert_array_equal(trajectory.info["cost"][:, 0], [1, 2, 3, 0, 1, 2, 3, 0])
    actions = trajectory.action.numpy()
    last = np.array([False, False, True, False] * 2)
    np.testing.assert_array_equal(
        trajectory.info["is_success"].numpy(), last[:, None] & (actions == 1)
    )
    # Trajectories of the same chunk go side by side and pad with their infos.
    joined = concatenate([trajectory, trajectory])
    assert joined.info["cost"].shape == (8, 4)
    assert pad_rows(trajectory, 10).info["cost"].shape == (10, 2)
    plain = rf.Driver(rf.RandomPolicy(env.spec.action_space), rf.GymEnv(_envs(2), seed=0)).run(8)
    assert plain.info == {}


def test_malformed_or_undeclarable_infos_are_refused():
    env = rf.GymEnv([lambda: _Task(cost_shape=(2,))] * 2, infos={"cost": "float32"})
    env.reset(seed=0)
    with pytest.raises(EnvError, match=r"environment 0 reported info\['cost'\].*step 1.*shape"):
        env.step(np.zeros(2, np.int32))
    with pytest.raises(TypeError, match="infos"):
        rf.GymEnv(_envs(), infos="is_success")
    with pytest.raises(TypeError, match=r"infos\['cost'\]"):
        rf.GymEnv(_envs(), infos={"cost": "not a dtype"})
    with pytest.raises(ValueError, match="'_'"):
        rf.GymEnv(_envs(), infos=["_cost"])
    shaped = rf.GymEnv([lambda: _Task(cost_shape=(2,))] * 2,
                       infos={"cost": tf.TensorSpec([2], tf.float32)})  # fmt: skip
    shaped.reset(seed=0)
    assert shaped.step(np.zeros(2, np.int32)).info["cost"].shape == (2, 2)


def test_lean_infos_follow_gymnasium_masks():
    lean = LeanSyncVectorEnv(_envs(2), info_keys=["is_success"])
    reference = gym.vector.SyncVectorEnv(_envs(2))
    assert lean.reset(seed=0)[1] == {}
    reference.reset(seed=0)
    for _ in range(3):
        *_, infos = lean.step(np.array([1, 0]))
        *_, expected = reference.step(np.array([1, 0]))
    np.testing.assert_array_equal(infos["_is_success"], expected["_is_success"])
    assert list(infos["is_success"]) == list(expected["is_success"])
