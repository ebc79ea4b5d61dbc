"""Runs the peer scripts of `../shared/peers/` in their own virtual environment."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess

PEERS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "peers"
ROBOTICS_VENV = pathlib.Path.home() / ".cache" / "reinforceable-peers" / "robotics-venv"
"""A second peer environment for the Fetch tasks: gymnasium-robotics 1.4 needs mujoco < 3.12,
so it stays out of the shared one (whose mujoco the MuJoCo peers use)."""


def peer_python(robotics: bool = False) -> str:
    """The peer environment's python (built by `setup.sh` on first use, a few minutes); with
    `robotics`, the robotics one, with gymnasium-robotics added."""
    env = {**os.environ, "PEER_VENV": str(ROBOTICS_VENV)} if robotics else None
    result = subprocess.run(
        ["bash", str(PEERS / "setup.sh")], capture_output=True, text=True, check=True, env=env
    )
    python = result.stdout.strip().splitlines()[-1]
    if robotics:
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "gymnasium-robotics>=1.4,<1.5",
             "mujoco>=3.1,<3.12"],
            capture_output=True, check=True,
        )  # fmt: skip
    return python


def run_peer(script: str, *args, robotics: bool = False) -> dict[str, float]:
    """Runs a peer script (a name in `../shared/peers/`, or a path) and parses the `key=value`
    figures of its last line."""
    result = subprocess.run(
        [peer_python(robotics), str(PEERS / script), *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    line = result.stdout.strip().splitlines()[-1]
    return {key: float(value) for key, value in re.findall(r"(\w+)=([-\d.]+)", line)}
