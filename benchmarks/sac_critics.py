"""SAC's critic choices on Hopper-v5 at 100k env steps: plain SAC, CrossQ, DroQ and REDQ, from
the command line, same run.

Each row is `python -m reinforceable train sac --env Hopper-v5 --steps N --set ...` with the
standard SAC settings (256x256 networks, batch 256, 10k random warm-up steps, one update per
env step) and the row's changes:
* plain: none;
* crossq: `crossq=true learning_rate=0.001` (batch-renormalised critics, no target critics;
  the paper's critics are 2048 wide, ours keep 256 so a run fits a 2-core CPU);
* droq: `critic_dropout=0.01 utd_ratio=20` (DroQ's dropout with layer normalisation);
* redq: `n_critics=10 critic_subset=2 utd_ratio=10`.
The figure is the final agent's deterministic return over the command line's 10 evaluation
episodes. Target (issue 38): >= 2,500 for one of REDQ/DroQ or CrossQ at 100k; the REDQ paper
reports about 3,000 at 125k. DroQ and REDQ make 10-20 updates per env step, so on 2 cores they
take hours; `--variants plain crossq` is the quick pair. Writes `media/sac_critics.md`.

    python benchmarks/sac_critics.py --variants plain crossq --seeds 0     # about 30 minutes
    python benchmarks/sac_critics.py --variants droq redq --seeds 0 1 2 --jobs 1
"""

from __future__ import annotations

import argparse
import statistics

from _examples import run_grid, train_cli, write_report

ENV = "Hopper-v5"
STANDARD = ("warmup_steps=10000", "steps_per_iteration=64")
VARIANTS = {
    "plain": (),
    "crossq": ("crossq=true", "learning_rate=0.001"),
    "droq": ("critic_dropout=0.01", "utd_ratio=20"),
    "redq": ("n_critics=10", "critic_subset=2", "utd_ratio=10"),
}


def run(variant: str, steps: int, seed: int, threads: int) -> dict:
    """One run's final deterministic return and training wall-clock."""
    changes = ("--set", *STANDARD, *VARIANTS[variant])
    result = train_cli("sac", ENV, steps, seed, "--threads", str(threads), *changes)
    return {"return": result["final_return"], "wall_s": result["wall_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (1 thread each)")
    parser.add_argument("--report", default="sac_critics.md", help="the file in media/")
    args = parser.parse_args()
    threads = 1 if args.jobs > 1 else 2
    results = run_grid(lambda variant, seed: run(variant, args.steps, seed, threads),
                       args.variants, args.seeds, args.jobs)  # fmt: skip
    lines = [
        "| SAC | `--set` | " + " | ".join(f"seed {s}" for s in args.seeds)
        + " | mean | wall-clock per run (s) |",
        "|---|---|" + "---|" * (len(args.seeds) + 2),
    ]  # fmt: skip
    for variant in args.variants:
        returns = [results[variant][s]["return"] for s in args.seeds]
        wall = statistics.mean(results[variant][s]["wall_s"] for s in args.seeds)
        cells = " | ".join(f"{r:,.0f}" for r in returns)
        changes = " ".join(VARIANTS[variant]) or "(none)"
        lines.append(f"| {variant} | `{changes}` | {cells} | {statistics.mean(returns):,.0f} | "
                     f"{wall:,.0f} |")  # fmt: skip
    write_report(
        args.report,
        f"SAC's critic choices on {ENV} at {args.steps:,} env steps",
        f"sac_critics.py --variants {' '.join(args.variants)} "
        f"--seeds {' '.join(map(str, args.seeds))} --steps {args.steps}",
        f"the final agent's deterministic return over 10 episodes; every run from the command "
        f"line with `{' '.join(STANDARD)}` and the row's changes, {args.jobs} at a time.",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
