"""A local Ray starts without Ray 2.60's start-up lines (token authentication, "Started a local
Ray instance"), unless REINFORCEABLE_RAY_LOGS=1 asks for them; other lines are kept."""

import os
import subprocess
import sys

import pytest

pytest.importorskip("ray")
pytestmark = pytest.mark.xdist_group("ray")

CODE = """
import sys
from reinforceable.distributed._ray import init_ray
ray, started = init_ray(None, {"num_cpus": 1})
assert started
sys.stderr.write("a line of the user's\\n")
ray.shutdown()
"""


@pytest.mark.parametrize("logs", [False, True])
def test_a_local_ray_starts_quietly_unless_asked(logs):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REINFORCEABLE_")}
    env.pop("RAY_ADDRESS", None)
    if logs:
        env["REINFORCEABLE_RAY_LOGS"] = "1"
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    # Ray warns of token authentication when it makes the token (the first start on a machine).
    assert logs or "Token authentication is enabled" not in done.stderr, done.stderr
    assert ("Started a local Ray instance" in done.stderr) == logs, done.stderr
    assert "a line of the user's" in done.stderr
