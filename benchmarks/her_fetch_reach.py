"""FetchReach-v4 with hindsight replay: SAC and TD3, ours from the command line and
Stable-Baselines3's in the same run.

Ours: `python -m reinforceable train sac|td3 --env FetchReach-v4` (presets `sac-her-fetchreach`,
`td3-her-fetchreach`: the RL Zoo's FetchReach settings, future goals with 4 per transition and
normalised observations); the figure is the success rate of the evaluation at the end of
training (`eval/success_rate`, the last row of `progress.csv`, 20 deterministic episodes). The
peer: `benchmarks/peers/sb3_her_fetch_reach.py` (SB3's SAC or TD3 with its HerReplayBuffer and
VecNormalize, the same settings, 20 deterministic episodes), in a peer environment of its own
(gymnasium-robotics needs mujoco < 3.12). Target (issue 38): >= 95% success at <= 10k env
steps, for SAC + HER and TD3 + HER (the RL Zoo trains 20k). Writes `media/her_fetch_reach.md`.

    python benchmarks/her_fetch_reach.py                 # seeds 0 1 2, 10k steps
    python benchmarks/her_fetch_reach.py --seeds 0 --no-peer
"""

from __future__ import annotations

import argparse
import pathlib
import statistics

from _examples import last_success_rate, train_cli, write_report
from _peers import run_peer

PEER = str(pathlib.Path(__file__).resolve().parent / "peers" / "sb3_her_fetch_reach.py")


def ours(algo: str, steps: int, seed: int) -> dict[str, float]:
    """The final evaluation's success rate and the training wall-clock of one run."""
    run = train_cli(algo, "FetchReach-v4", steps, seed)
    return {"success_rate": last_success_rate(run["rows"]), "wall_s": run["wall_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--algos", nargs="+", default=["sac", "td3"])
    parser.add_argument("--no-peer", action="store_true", help="ours only")
    parser.add_argument("--report", default="her_fetch_reach.md", help="the file in media/")
    args = parser.parse_args()
    rows: dict[str, dict] = {}
    for seed in args.seeds:
        for algo in args.algos:
            runs = [(f"ours, {algo.upper()} + HER", False)]
            if not args.no_peer:
                runs.append((f"SB3, {algo.upper()} + HER", True))
            for name, peer in runs:
                if peer:
                    result = run_peer(PEER, args.steps, seed, algo, robotics=True)
                else:
                    result = ours(algo, args.steps, seed)
                rows.setdefault(name, {})[seed] = result
                print(name, seed, result, flush=True)
    lines = [
        "| run | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | wall-clock (s) |",
        "|---|" + "---|" * (len(args.seeds) + 2),
    ]
    for name, per_seed in rows.items():
        rates = [per_seed[s]["success_rate"] for s in args.seeds]
        wall = statistics.mean(per_seed[s]["wall_s"] for s in args.seeds)
        cells = " | ".join(f"{r:.0%}" for r in rates)
        lines.append(f"| {name} | {cells} | {statistics.mean(rates):.0%} | {wall:.0f} |")
    write_report(
        args.report,
        f"SAC and TD3 with hindsight replay on FetchReach-v4, {args.steps:,} env steps",
        f"her_fetch_reach.py --seeds {' '.join(map(str, args.seeds))} --steps {args.steps}",
        "success rate of 20 deterministic episodes after training; ours and SB3's one after the "
        "other per seed and algorithm, with the same settings (the RL Zoo's for FetchReach).",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
