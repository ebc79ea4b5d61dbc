"""Runs the project's examples as a user would, and reads figures from what they print."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEDIA = ROOT / "media"


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


def write_report(name: str, title: str, script: str, note: str, table: str) -> None:
    """Prints `table` and writes it to `media/<name>` under `# title`, with the command that
    measured it (`python benchmarks/<script>`) and `note` on what ran in the same run."""
    print(table, flush=True)
    MEDIA.mkdir(exist_ok=True)
    (MEDIA / name).write_text(
        f"# {title}\n\nMeasured by `python benchmarks/{script}` on a 2-core CPU machine; "
        f"{note}\n\n{table}\n"
    )
