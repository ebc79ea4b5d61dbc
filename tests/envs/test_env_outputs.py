"""What environments return is checked at the boundary: errors name the env index, the step,
the field, and what was expected and received (issue 19)."""

import gymnasium as gym
import numpy as np
import pytest

from reinforceable.envs import EnvError, GymEnv, NonFiniteError
from reinforceable.envs._outputs import mismatch, step_mismatch
from tests.envs.helpers import MalformedEnv

ACTIONS = np.zeros(3, np.int32)
PARTS = gym.spaces.Tuple([gym.spaces.Discrete(2)] * 2)


def make(fault, at=1, asynchronous=False, **kwargs):
    """Three environments; the one at index 2 is faulty."""
    factories = [lambda: MalformedEnv(), lambda: MalformedEnv(), lambda: MalformedEnv(fault, at)]
    return GymEnv(factories, asynchronous=asynchronous, seed=0, **kwargs)


def run(env, steps):
    env.reset()
    for _ in range(steps):
        env.step(ACTIONS)


@pytest.mark.parametrize("asynchronous", [False, True])
@pytest.mark.parametrize(
    "fault, at, where, expected, received",
    [
        ("shape", 0, "reset", "shape (2,)", "shape (3,)"),
        ("shape", 1, "step", "shape (2,)", "shape (3,)"),
        ("strings", 1, "step", "dtype float32", "<U1"),
        ("arity", 0, "reset", "tuple (observation, info)", "array of shape (2,)"),
        ("arity", 1, "step", "(observation, reward, terminated, truncated, info)", "length 4"),
        ("reward_type", 1, "step", "reward: expected a real number", "str 'one'"),
    ],
)
def test_a_malformed_first_return_names_the_env_the_field_and_both_values(
    asynchronous, fault, at, where, expected, received
):
    env = make(fault, at, asynchronous)
    with pytest.raises(EnvError, match=f"environment 2 returned a malformed {where}") as info:
        run(env, 2)
    message = str(info.value)
    assert f"at step {at} of its episode" in message
    assert expected in message and received in message
    assert env.closed


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_shape_that_changes_mid_episode_is_traced_back_to_its_env(asynchronous):
    env = make("shape", at=4, asynchronous=asynchronous)
    env.reset()
    for _ in range(3):
        env.step(ACTIONS)  # the first step was checked in full and was fine
    with pytest.raises(EnvError, match="environment 2 returned a malformed") as info:
        env.step(ACTIONS)
    assert "at step 4" in str(info.value)
    assert "observation: expected shape (2,) and dtype float32, received shape (3,)" in str(
        info.value
    )


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_dead_async_worker_is_an_env_error_naming_its_index():
    env = make("die", at=2, asynchronous=True)
    env.reset()
    env.step(ACTIONS)
    with pytest.raises(EnvError, match="environment 2: its worker process died") as info:
        env.step(ACTIONS)
    assert "exit code -9" in str(info.value)
    assert env.closed


@pytest.mark.parametrize(
    "fault, field", [("nan_observation", "observation"), ("inf_reward", "reward")]
)
def test_non_finite_observations_and_rewards_name_the_env_and_the_step(fault, field):
    env = make(fault, at=3)
    with pytest.raises(NonFiniteError, match=f"environment 2 returned a non-finite {field}") as e:
        run(env, 5)
    assert "at step 3" in str(e.value)
    assert isinstance(e.value, EnvError) and isinstance(e.value, FloatingPointError)
    # Opting out lets them through.
    env = make(fault, at=3, check_finite=False)
    run(env, 5)


def test_a_closed_env_says_so():
    env = make("shape", at=1)
    with pytest.raises(EnvError):
        run(env, 1)
    with pytest.raises(RuntimeError, match="closed"):
        env.step(ACTIONS)
    assert isinstance(env.take_error(), RuntimeError)


def test_what_batches_without_harm_is_accepted():
    box = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    assert mismatch(box, np.array([5.0, -7.0], np.float64)) is None  # out of bounds, float64
    assert mismatch(box, [0.0, 1.0]) is None  # a list
    assert mismatch(gym.spaces.Discrete(3), np.int64(2)) is None
    assert step_mismatch(box, (np.zeros(2), 1, 0, np.bool_(True), {})) is None  # int flags


def test_nested_mismatches_name_the_field():
    space = gym.spaces.Dict({"pos": gym.spaces.Box(-1, 1, (2,)), "parts": PARTS})
    good = {"pos": np.zeros(2, np.float32), "parts": (0, 1)}
    assert mismatch(space, good) is None
    assert "observation['parts']: expected a tuple of 2" in mismatch(space, {**good, "parts": (0,)})
    assert "observation['parts'][1]: expected shape () and dtype int64, received dtype float64" in (
        mismatch(space, {**good, "parts": (0, 1.5)})
    )
    assert "expected a dict with keys ['parts', 'pos']" in mismatch(space, {"pos": good["pos"]})
