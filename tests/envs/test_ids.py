"""Gymnasium's `module:id` form: the module is imported, and registers the id, before lookup."""

import subprocess
import sys

import gymnasium as gym
import pytest

import reinforceable as rf
from reinforceable.distributed import LocalRunners
from reinforceable.envs.ids import registered_spec
from tests.distributed.helpers import ppo_agent

FULL_ID = "tests.envs.registers_on_import:TestOnImport/Counter-v0"


def test_registered_spec_imports_the_module_in_a_fresh_process():
    """In a process where the module was never imported, the id alone is unknown and the
    `module:id` form finds it (the test's own process may have imported it already)."""
    code = (
        "import gymnasium as gym\n"
        "from reinforceable.envs.ids import registered_spec\n"
        "assert 'TestOnImport/Counter-v0' not in gym.registry\n"
        f"print(registered_spec({FULL_ID!r}, 'test').id)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "TestOnImport/Counter-v0"


def test_unknown_modules_and_ids_are_named():
    with pytest.raises(ValueError, match=r"GymEnv: `env` = 'no_such_module_xyz:Foo-v0' names "
                       r"the module 'no_such_module_xyz'.*cannot be imported"):  # fmt: skip
        rf.GymEnv("no_such_module_xyz:Foo-v0", 1)
    with pytest.raises(ValueError, match=r"unknown environment id `env` = "
                       r"'tests.envs.registers_on_import:TestOnImport/Countr-v0' \(after "
                       r"importing 'tests.envs.registers_on_import'\)"):  # fmt: skip
        rf.GymEnv("tests.envs.registers_on_import:TestOnImport/Countr-v0", 1)
    assert registered_spec("CartPole-v1", "test").id == "CartPole-v1"


def test_gym_env_trains_and_runners_collect_with_a_module_id():
    env = rf.GymEnv(FULL_ID, 4, seed=0)
    assert env.spec.env_id == FULL_ID and isinstance(env.action_space, gym.spaces.Discrete)
    agent = ppo_agent(env=env)
    agent.fit(2 * agent.rollout_steps, env=env)
    history = agent.fit(4 * agent.rollout_steps, runners=LocalRunners(2, FULL_ID, 2))
    assert history[-1]["env_steps"] >= 4 * agent.rollout_steps
