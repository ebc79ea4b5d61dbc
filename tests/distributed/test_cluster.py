"""Many machines, on one: a Ray `Cluster` of two nodes, with one runner placed on each."""

import os

import numpy as np
import pytest

from reinforceable.distributed import RayRunners
from tests.distributed.conftest import ray_environment
from tests.distributed.helpers import NOVEL, ppo_agent

pytestmark = pytest.mark.xdist_group("ray")  # with the other Ray tests, in one worker


@pytest.fixture
def two_nodes():
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    if ray.is_initialized():
        ray.shutdown()
    os.environ.setdefault("RAY_worker_niceness", "0")
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, runtime_env=ray_environment(), log_to_driver=False)
    yield ray
    ray.shutdown()
    cluster.shutdown()


def test_runners_are_placed_on_both_nodes_and_train_together(two_nodes):
    agent = ppo_agent()
    runners = RayRunners(2, NOVEL, num_envs_per_runner=4)
    runners.start(agent.blueprint(), agent.collection, seed=0)
    try:
        nodes = {where["node"] for where in runners.placement()}
        assert len(nodes) == 2
        assert nodes == {node["NodeID"] for node in two_nodes.nodes() if node["Alive"]}
        chunks = runners.sample(agent.acting_state())
        for chunk in chunks:
            agent.observe(chunk.trajectory)
        metrics = agent.update()
        assert np.isfinite(metrics["losses/loss"])
        assert int(agent.env_steps.numpy()) == 2 * 4 * 16
    finally:
        runners.close()
    with pytest.raises(ValueError, match=r"3 runners of \{'CPU': 1\} need 3 CPU; the Ray clu"):
        RayRunners(3, NOVEL, 4).start(agent.blueprint(), agent.collection)
