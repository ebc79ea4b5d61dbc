"""The algorithms' defaults and the presets from the command line, over 5 seeds: does `python -m
reinforceable train ALGO --env ID [--preset NAME]` learn on every seed?

Each run is `python -m reinforceable train ALGO --env ID --preset P --seed S --steps N` in a run
directory of its own; its final line gives the final agent's mean deterministic evaluation
return (10 episodes, or the preset's number), the line before it the best agent's on the same
episodes. A task is `algo:env:steps:bar[:preset]` (preset `default`,
the algorithm's untuned defaults, when left out). Default tasks (`--suite defaults`): `ppo` on
CartPole-v1 (100k steps; solved at 475) and `sac` on Pendulum-v1 (20k; -200 is the usual bar).
`--suite masked`: the velocity-masked tasks with their presets:
recurrent PPO on CartPoleNoVel (100k, 475), on PendulumNoVel (300k, -300) and on
MountainCarContinuousNoVel (500k, 90), and recurrent SAC on PendulumNoVel (50k, -300). Runs go
`--jobs` (2) at a time; writes `media/cli_defaults.md` (or `media/cli_masked.md`).

    python benchmarks/cli_defaults.py
    python benchmarks/cli_defaults.py --suite masked
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

SUITES = {
    "defaults": ("ppo:CartPole-v1:100000:475", "sac:Pendulum-v1:20000:-200"),
    "masked": (
        "ppo:reinforceable/CartPoleNoVel-v1:100000:475:ppo-cartpole-novel",
        "ppo:reinforceable/PendulumNoVel-v1:300000:-300:ppo-pendulum-novel",
        "rsac:reinforceable/PendulumNoVel-v1:50000:-300:rsac-pendulum-novel",
        "ppo:reinforceable/MountainCarContinuousNoVel-v0:500000:90:ppo-mountaincar-novel",
    ),
}
MEDIA = {"defaults": "cli_defaults.md", "masked": "cli_masked.md"}


def parse_task(text: str) -> tuple[str, str, int, float, str]:
    """`algo:env:steps:bar[:preset]` (an env id may hold a `/`, never a `:`)."""
    parts = text.split(":")
    if len(parts) not in (4, 5):
        raise SystemExit(f"--tasks: expected algo:env:steps:bar[:preset]; received {text!r}")
    algo, env_id, steps, bar = parts[:4]
    return algo, env_id, int(steps), float(bar), parts[4] if len(parts) == 5 else "default"


def run(algo: str, env_id: str, steps: int, seed: int, preset: str = "default"):
    """The final agent's evaluation return and the best agent's on the same episodes."""
    with tempfile.TemporaryDirectory() as run_dir:
        command = [sys.executable, "-m", "reinforceable", "train", algo, "--env", env_id,
                   "--preset", preset, "--seed", str(seed), "--steps", str(steps),
                   "--run-dir", run_dir]  # fmt: skip
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    final = float(re.search(r"result: evaluation return ([-\d.]+)", output).group(1))
    best = re.search(r"best agent: .*; ([-\d.]+) \+- [\d.]+ on the final", output)
    return final, float(best.group(1)) if best else float("nan")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="defaults")
    parser.add_argument("--tasks", nargs="+", help="algo:env:steps:bar[:preset] (not the suite's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    tasks = [parse_task(t) for t in (args.tasks or SUITES[args.suite])]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {
            pool.submit(run, algo, env_id, steps, seed, preset): (algo, env_id, seed)
            for algo, env_id, steps, _, preset in tasks
            for seed in args.seeds
        }
        for future in concurrent.futures.as_completed(futures):
            results[futures[future]] = future.result()
            print(futures[future], results[futures[future]], flush=True)
    rows = [
        f"| command (seeds {args.seeds}) | steps | return per seed | seeds at the bar "
        "| best agent per seed | best agents at the bar |",
        "|---|---|---|---|---|---|",
    ]
    for algo, env_id, steps, bar, preset in tasks:
        returns, bests = zip(*(results[algo, env_id, s] for s in args.seeds), strict=True)
        rows.append(
            f"| `train {algo} --env {env_id} --preset {preset}` | {steps:,} | "
            f"{', '.join(f'{r:.1f}' for r in returns)} | "
            f"{sum(r >= bar for r in returns)} of {len(returns)} (>= {bar:g}) | "
            f"{', '.join(f'{r:.1f}' for r in bests)} | {sum(r >= bar for r in bests)} of "
            f"{len(bests)} |"
        )
    table = "\n".join(rows)
    name = MEDIA[args.suite] if not args.tasks else "cli_tasks.md"
    what = "defaults" if args.suite == "defaults" and not args.tasks else "presets"
    write_report(
        name,
        f"The algorithms' {what} from the command line, every seed",
        "cli_defaults.py" + ("" if args.suite == "defaults" else f" --suite {args.suite}"),
        "Each run: `python -m reinforceable train ALGO --env ID --preset P --seed S --steps N`, "
        "the mean return of its final deterministic evaluation, and that of its best agent "
        "(kept by the evaluations during training) on the same episodes; runs "
        f"{args.jobs} at a time.",
        table,
    )


if __name__ == "__main__":
    main()
