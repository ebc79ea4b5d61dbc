"""A local Ray of 2 CPUs for the distributed tests (skipped without Ray); the workers import
this repository's `tests` package through PYTHONPATH."""

import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def ray_environment() -> dict:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    return {"env_vars": {"PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}}


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        ray.shutdown()
    os.environ.setdefault("RAY_worker_niceness", "0")
    # A Ray of its own, even where another cluster's address is on record (the Cluster test's).
    ray.init(address="local", num_cpus=2, include_dashboard=False,
             runtime_env=ray_environment(), log_to_driver=False)  # fmt: skip
    yield ray
    ray.shutdown()
