"""Runs the project's examples and command line as a user would, and reads figures from what
they print and write."""

from __future__ import annotations

import concurrent.futures
import csv
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


def train_cli(algo: str, env_id: str, steps: int, seed: int, *args: str) -> dict:
    """Runs `python -m reinforceable train ALGO --env ENV_ID` for `steps` with `seed` (and
    `args`) in a throwaway run directory; returns `{"output": stdout, "rows": progress.csv's
    rows, "wall_s": the training wall-clock it printed, "final_return": its final evaluation's
    return}`."""
    with tempfile.TemporaryDirectory() as run_dir:
        command = [sys.executable, "-m", "reinforceable", "train", algo, "--env", env_id,
                   "--seed", str(seed), "--steps", str(steps), "--run-dir", run_dir,
                   *args]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        with open(pathlib.Path(run_dir) / "progress.csv") as file:
            rows = list(csv.DictReader(file))
    return {
        "output": output,
        "rows": rows,
        "wall_s": figure(r"training: ([\d.]+) s", output),
        "final_return": figure(r"result: evaluation return ([-\d.]+)", output),
    }


def run_grid(run, rows, seeds, jobs: int) -> dict:
    """`run(row, seed)` for every row and seed, `jobs` at a time, printing each result as it
    ends; returns `{row: {seed: result}}`."""
    results: dict = {row: {} for row in rows}
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(run, row, seed): (row, seed) for row in rows for seed in seeds}
        for future in concurrent.futures.as_completed(futures):
            row, seed = futures[future]
            results[row][seed] = future.result()
            print(row, seed, results[row][seed], flush=True)
    return results


def last_success_rate(rows: list[dict]) -> float:
    """The last `eval/success_rate` in progress.csv's `rows`."""
    return float([row for row in rows if row.get("eval/success_rate")][-1]["eval/success_rate"])


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
