"""RayRunners on a local Ray of 2 CPUs: the same trajectories as local runners, asynchronous
off-policy training through a killed runner, errors that name the runner, and a clean end."""

import os
import signal
import time

import numpy as np
import pytest
import tensorflow as tf

from reinforceable._nest import leaf_paths
from reinforceable.distributed import LocalRunners, RayRunners, RunnerError
from reinforceable.envs.vector import EnvError
from reinforceable.training import Callback
from tests.distributed.helpers import NOVEL, broken_factory, failing_env, ppo_agent, sac_agent

pytestmark = pytest.mark.usefixtures("local_ray")


def assert_same(expected, received):
    tf.nest.assert_same_structure(expected, received)
    for path, want, got in zip(
        leaf_paths(expected), tf.nest.flatten(expected), tf.nest.flatten(received), strict=True
    ):
        np.testing.assert_array_equal(got, want, err_msg=f"trajectory{path}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_ray_runners_reproduce_local_runners_bit_for_bit():
    """Same seeds and acting state: every leaf of every runner's chunk is equal (actions,
    log-probs, values, recorded GRU states, scaled-reward returns), before and after an update;
    the runners are two processes, and closing them ends those processes."""
    agent = ppo_agent()
    local, remote = LocalRunners(2, NOVEL, 4), RayRunners(2, NOVEL, 4)
    local.start(agent.blueprint(), agent.collection, seed=3)
    remote.start(agent.blueprint(), agent.collection, seed=3)
    pids = [where["pid"] for where in remote.placement()]
    assert len(set(pids)) == 2 and os.getpid() not in pids
    try:
        for _ in range(2):
            state = agent.acting_state()
            expected, received = local.sample(state), remote.sample(state)
            for want, got in zip(expected, received, strict=True):
                assert got.runner == want.runner and got.version == want.version
                assert_same(want.trajectory, got.trajectory)
                np.testing.assert_array_equal(got.episodes, want.episodes)
            for chunk in expected:
                agent.observe(chunk.trajectory)
            agent.update()
        assert received[0].trajectory.sequence_states["actor_rnn"][0].shape == (4, 4, 8)
    finally:
        local.close()
        remote.close()
    deadline = time.monotonic() + 30
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_alive, pids))


class KillRunner(Callback):
    """SIGKILLs runner 0's process after the `at`-th iteration."""

    def __init__(self, at: int):
        self.at, self.pid = at, None

    def on_iteration_end(self, trainer, logs):
        if logs["iteration"] == self.at:
            self.pid = trainer.runners.runners.placement()[0]["pid"]
            os.kill(self.pid, signal.SIGKILL)


def test_asynchronous_sac_goes_on_through_a_killed_runner():
    """Two runners sample without waiting for the learner; one is killed midway: Ray restarts
    it, its chunk in flight is lost (a warning, `charts/runner_restarts`), and the run ends at
    its budget with the replay filled from both."""
    agent = sac_agent()
    kill = KillRunner(at=3)
    with pytest.warns(RuntimeWarning, match=r"runner 0 died .*chunk in flight is lost"):
        history = agent.fit(480, runners=RayRunners(2, "Pendulum-v1", 2), callbacks=[kill])
    assert int(agent.env_steps.numpy()) >= 480
    assert history[-1]["charts/runner_restarts"] == 1.0
    assert {row["charts/chunks"] for row in history} <= {1.0, 2.0}
    assert max(row["charts/policy_lag"] for row in history) >= 1.0  # it did not wait
    assert not _alive(kill.pid)


def test_an_env_error_on_a_ray_runner_names_the_runner_and_the_env_index():
    agent = ppo_agent(env=failing_env(None)(4, 0))
    message = r"runner 0: environment 3 raised ValueError in step\(\): the simulator diverged"
    with pytest.raises(EnvError, match=message):
        agent.fit(1024, runners=RayRunners(1, failing_env(fail_at=5), 4))


def test_a_failing_env_factory_on_a_ray_runner_names_it_with_the_traceback():
    agent = ppo_agent()
    with pytest.raises(RunnerError, match=r"(?s)runner 0 could not start.*OSError: no simulator"):
        agent.fit(1024, runners=RayRunners(1, broken_factory, 4))


def test_resources_the_cluster_lacks_raise_before_any_runner_starts(local_ray):
    agent = ppo_agent()
    before = len(local_ray.util.list_named_actors(all_namespaces=True))
    with pytest.raises(ValueError, match=r"3 runners of \{'CPU': 1\} need 3 CPU; the Ray clu"):
        agent.fit(1024, runners=RayRunners(3, NOVEL, 4))
    with pytest.raises(ValueError, match=r"need 2 GPU; the Ray cluster has 0"):
        agent.fit(1024, runners=RayRunners(2, NOVEL, 4, {"CPU": 1, "GPU": 1}))
    assert len(local_ray.util.list_named_actors(all_namespaces=True)) == before
