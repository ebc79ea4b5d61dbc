"""MuJoCo's harmless `settotalmass` deprecation line (gymnasium's HalfCheetah XML, MuJoCo 3.17
and 4) stays off the terminal, in this process and in asynchronous workers; others pass."""

import os
import subprocess
import sys

import pytest

mujoco = pytest.importorskip("mujoco")
# The line came with MuJoCo 3.17; the `robotics` extra pins an older MuJoCo, which never prints it.
PRINTS_IT = tuple(int(part) for part in mujoco.__version__.split(".")[:2]) >= (3, 17)

CODE = """
import reinforceable as rf
rf.GymEnv("HalfCheetah-v5", 2, seed=0).close()
workers = rf.GymEnv("HalfCheetah-v5", 2, seed=0, asynchronous=True)
workers.reset()
workers.close()
import mujoco
handler = mujoco.get_mju_user_warning()  # ours, unless the logs were asked for
if handler is not None:
    handler("a warning of another kind")
"""


@pytest.mark.parametrize("logs", [False, True])
def test_the_settotalmass_line_is_dropped_and_other_warnings_pass(logs):
    if logs and not PRINTS_IT:
        pytest.skip(f"MuJoCo {mujoco.__version__} prints no 'settotalmass' line to bring back")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REINFORCEABLE_")}
    if logs:
        env["REINFORCEABLE_MUJOCO_LOGS"] = "1"
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stderr.count("'settotalmass' is deprecated")
    # Asked for, MuJoCo's own lines come back: one per HalfCheetah made (2 here, 2 in the
    # workers, and the one AsyncVectorEnv makes here to read the spaces).
    assert (lines >= 4) if logs else (lines == 0), done.stderr
    if not logs:
        assert "WARNING: a warning of another kind" in done.stderr
