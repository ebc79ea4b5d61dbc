"""The algorithms' defaults from the command line, over 5 seeds: does `python -m reinforceable
train ALGO --env ID` (with `--preset default`, no tuned settings) learn on every seed?

Each run is `python -m reinforceable train ALGO --env ID --preset default --seed S --steps N` in
a run directory of its own; its final line gives the mean return of 10 deterministic evaluation
episodes. Tasks: `ppo` on CartPole-v1 (100k steps; solved at 475) and `sac` on Pendulum-v1 (20k
steps; -200 is the usual bar). Runs go `--jobs` (2) at a time; writes `media/cli_defaults.md`.

    python benchmarks/cli_defaults.py
    python benchmarks/cli_defaults.py --tasks ppo:CartPole-v1:100000:475 --seeds 0 1
"""

from __future__ import annotations

import argparse
import concurrent.futures
import re
import subprocess
import sys
import tempfile

from _examples import write_report

TASKS = ("ppo:CartPole-v1:100000:475", "sac:Pendulum-v1:20000:-200")


def run(algo: str, env_id: str, steps: int, seed: int) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        command = [sys.executable, "-m", "reinforceable", "train", algo, "--env", env_id,
                   "--preset", "default", "--seed", str(seed), "--steps", str(steps),
                   "--run-dir", run_dir]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(re.search(r"result: evaluation return ([-\d.]+)", output).group(1))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), help="algo:env:steps:bar")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    tasks = [(a, e, int(n), float(bar)) for a, e, n, bar in (t.split(":") for t in args.tasks)]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            pool.submit(run, algo, env_id, steps, seed): (algo, env_id, seed)
            for algo, env_id, steps, _ in tasks
            for seed in args.seeds
        }
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
            print(futures[future], results[futures[future]], flush=True)
    rows = [
        f"| command (seeds {args.seeds}) | steps | return per seed | seeds at the bar |",
        "|---|---|---|---|",
    ]
    for algo, env_id, steps, bar in tasks:
        returns = [results[algo, env_id, s] for s in args.seeds]
        rows.append(
            f"| `train {algo} --env {env_id} --preset default` | {steps:,} | "
            f"{', '.join(f'{r:.1f}' for r in returns)} | "
            f"{sum(r >= bar for r in returns)} of {len(returns)} (>= {bar:g}) |"
        )
    table = "\n".join(rows)
    print(table)
    write_report(
        "cli_defaults.md",
        "The algorithms' defaults from the command line, every seed",
        "cli_defaults.py",
        "Each run: `python -m reinforceable train ALGO --env ID --preset default --seed S "
        "--steps N`, the mean return of its final 10 deterministic episodes; runs two at a time.",
        table,
    )


if __name__ == "__main__":
    main()
