"""Runs the project's examples as a user would, and reads figures from what they print."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_example(script: str, *args: str, run_dir: bool = True) -> str:
    """Runs `examples/<script>` with `args` (and a throwaway `--run-dir`); returns its stdout."""
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, str(ROOT / "examples" / script), *args]
        if run_dir:
            command.append(f"--run-dir={directory}")
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout


def figure(pattern: str, output: str) -> float:
    """The number captured by the first group of `pattern` in `output`."""
    return float(re.search(pattern, output).group(1))
