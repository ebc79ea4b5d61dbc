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

# One pytest-xdist worker runs every test that starts Ray (`--dist loadgroup`).
pytestmark = [pytest.mark.usefixtures("local_ray"), pytest.mark.xdist_group("ray")]


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


def _restarted_pid(actor, old: int, timeout: float = 120.0) -> int:
    """Waits until Ray has restarted `actor` in a new process; returns its pid."""
    import ray

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid = ray.get(actor.where.remote())["pid"]
        except ray.exceptions.RayActorError:
            pid = old  # still restarting
        if pid != old:
            return pid
        time.sleep(0.5)
    raise AssertionError(f"the runner was not restarted within {timeout} s")


def test_a_runner_killed_with_a_request_in_flight_is_restarted_and_counted_once():
    """SIGKILL while runner 0 is asked for a chunk: the request fails, the warning says the
    chunk in flight is lost, polling goes on with runner 1 meanwhile, and runner 0's chunks come
    back from a new process; the outage counts as one restart."""
    agent = sac_agent()
    runners = RayRunners(2, "Pendulum-v1", 2)
    runners.start(agent.blueprint(), agent.collection, seed=0)
    try:
        runners.broadcast(agent.acting_state())
        before: list = []
        while not any(chunk.runner == 0 for chunk in before):
            before += runners.poll()
        old = runners.placement()[0]["pid"]
        os.kill(old, signal.SIGKILL)
        lost = r"runner 0 died \(\w+\); Ray restarts it, and its chunk in flight is lost"
        after: list = []
        old_process = next(chunk.process for chunk in before if chunk.runner == 0)
        deadline = time.monotonic() + 120
        with pytest.warns(RuntimeWarning, match=lost + r" \(restart 1\)"):
            while not any(c.runner == 0 and c.process != old_process for c in after):
                assert time.monotonic() < deadline, "runner 0 never came back"
                after += runners.poll()
        assert runners.restarts == 1
        assert any(chunk.runner == 1 for chunk in after)  # runner 1 went on meanwhile
        assert runners.placement()[0]["pid"] != old and not _alive(old)
    finally:
        runners.close()


class KillRunner(Callback):
    """SIGKILLs runner 0's process after the `at`-th iteration, between two of its requests,
    and waits until Ray has restarted it (and the new runner has collected once)."""

    def __init__(self, at: int):
        self.at, self.pid = at, None

    def on_iteration_end(self, trainer, logs):
        if logs["iteration"] != self.at:
            return
        import ray

        runners = trainer.runners.runners
        self.pid = runners.placement()[0]["pid"]  # after its request in flight has finished
        os.kill(self.pid, signal.SIGKILL)
        _restarted_pid(runners.actors[0], self.pid)
        ray.get(runners.actors[0].collect.remote(trainer.agent.acting_state()))  # traced


def test_asynchronous_sac_goes_on_through_a_runner_killed_between_chunks():
    """Two runners sample without waiting for the learner; runner 0 is killed between two
    requests: no request fails, yet its next chunk comes from a new process, which counts as a
    restart (a warning, `charts/runner_restarts`); the run ends at its budget."""
    agent = sac_agent()
    kill = KillRunner(at=2)
    again = r"runner 0 died between two chunks; Ray restarted it, and its environments began again"
    with pytest.warns(RuntimeWarning, match=again):
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


def test_runners_that_cannot_all_be_placed_raise_at_the_start_timeout_and_end():
    """A replay given a CPU leaves one of the 2 for 2 runners: instead of waiting forever for
    the second, `start` raises at `start_timeout`, naming what each runner needs and what is
    free, and kills the runner that did start."""
    from reinforceable.distributed import RayReplay

    runners = RayRunners(2, "Pendulum-v1", 2, start_timeout=20)
    message = (
        r"runner \d did not start within start_timeout=20 s\. Each runner needs \{'CPU': 1\}; "
        r"the Ray cluster has \{'CPU': 0\.0\} free of \{'CPU': 2\.0\}"
    )
    with pytest.raises(RunnerError, match=message):
        sac_agent().fit(256, runners=runners, replay=RayReplay(resources={"CPU": 1}))
    assert runners.actors == []


def test_ray_runners_make_envs_from_a_module_id():
    """`module:id`: each Ray worker imports the module, which registers the id, as gym.make."""
    import reinforceable as rf
    from tests.envs.test_ids import FULL_ID

    agent = ppo_agent(env=rf.GymEnv(FULL_ID, 4))
    history = agent.fit(2 * agent.rollout_steps, runners=RayRunners(1, FULL_ID, 4))
    assert history[-1]["env_steps"] == 2 * agent.rollout_steps
    with pytest.raises(ValueError, match=r"RayRunners: unknown environment id `env` = "
                       r"'tests.envs.registers_on_import:Nope-v0'"):  # fmt: skip
        RayRunners(1, "tests.envs.registers_on_import:Nope-v0", 4)
