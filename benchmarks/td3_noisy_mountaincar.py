"""TD3 on MountainCarContinuous-v0 exploring with noisy layers and no action noise, beside the
same agent with Gaussian action noise, same run.

Ours: `python -m reinforceable train td3 --env MountainCarContinuous-v0 --preset
td3-noisy-mountaincar` (the actor's hidden layers and output head are `NoisyDense` ones whose
noise each environment draws at its episode starts, no action noise, normalised observations);
beside it the same command with `--set exploration=gaussian exploration_std=0.5
network.noisy=false` (plain layers, Gaussian action noise of half a half-range per step,
everything else alike). The figure is the final agent's deterministic return over the command
line's 10 evaluation episodes. Target (issue 38): >= 90 on 5 of 5 seeds at <= 50k env steps.
Writes `media/td3_noisy_mountaincar.md`.

    python benchmarks/td3_noisy_mountaincar.py              # seeds 0-4, 50k steps, both kinds
    python benchmarks/td3_noisy_mountaincar.py --seeds 0 --kinds noisy --jobs 1
"""

from __future__ import annotations

import argparse
import statistics

from _examples import run_grid, train_cli, write_report

ENV = "MountainCarContinuous-v0"
SOLVED = 90.0


def run(kind: str, steps: int, seed: int, gaussian_std: float) -> dict:
    """One run's final deterministic return and training wall-clock."""
    args = ["--preset", "td3-noisy-mountaincar", "--threads", "1"]
    if kind == "gaussian":
        args += ["--set", "exploration=gaussian", f"exploration_std={gaussian_std}",
                 "network.noisy=false"]  # fmt: skip
    result = train_cli("td3", ENV, steps, seed, *args)
    return {"return": result["final_return"], "wall_s": result["wall_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--kinds", nargs="+", default=["noisy", "gaussian"],
                        choices=["noisy", "gaussian"])  # fmt: skip
    parser.add_argument("--gaussian-std", type=float, default=0.5)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (1 thread each)")
    parser.add_argument("--report", default="td3_noisy_mountaincar.md", help="the file in media/")
    args = parser.parse_args()
    results = run_grid(lambda kind, seed: run(kind, args.steps, seed, args.gaussian_std),
                       args.kinds, args.seeds, args.jobs)  # fmt: skip
    names = {
        "noisy": "TD3, NoisyDense layers and head, no action noise (the preset)",
        "gaussian": f"TD3, plain layers, Gaussian action noise {args.gaussian_std}",
    }
    lines = [
        "| run | " + " | ".join(f"seed {s}" for s in args.seeds)
        + f" | mean | seeds >= {SOLVED:.0f} | wall-clock per run (s) |",
        "|---|" + "---|" * (len(args.seeds) + 3),
    ]  # fmt: skip
    for kind in args.kinds:
        returns = [results[kind][s]["return"] for s in args.seeds]
        wall = statistics.mean(results[kind][s]["wall_s"] for s in args.seeds)
        solved = sum(r >= SOLVED for r in returns)
        cells = " | ".join(f"{r:.1f}" for r in returns)
        lines.append(f"| {names[kind]} | {cells} | {statistics.mean(returns):.1f} | "
                     f"{solved} of {len(returns)} | {wall:.0f} |")  # fmt: skip
    write_report(
        args.report,
        f"TD3 on {ENV} at {args.steps:,} env steps: noisy layers against Gaussian action noise",
        f"td3_noisy_mountaincar.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}",
        f"the final agent's deterministic return over 10 episodes, from the command line; "
        f"{args.jobs} runs at a time, all in the same run.",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
