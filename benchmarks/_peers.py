"""Runs the peer scripts of `../shared/peers/` in their own virtual environment."""

from __future__ import annotations

import pathlib
import re
import subprocess

PEERS = pathlib.Path(__file__).resolve().parents[2] / "shared" / "peers"


def peer_python() -> str:
    """The peer environment's python (built by `setup.sh` on first use, a few minutes)."""
    result = subprocess.run(
        ["bash", str(PEERS / "setup.sh")], capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1]


def run_peer(script: str, *args) -> dict[str, float]:
    """Runs a peer script (a name in `../shared/peers/`, or a path) and parses the `key=value`
    figures of its last line."""
    result = subprocess.run(
        [peer_python(), str(PEERS / script), *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    line = result.stdout.strip().splitlines()[-1]
    return {key: float(value) for key, value in re.findall(r"(\w+)=([-\d.]+)", line)}
