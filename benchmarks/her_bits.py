"""Bit flipping with 15 bits (the HER paper's, continuous actions): TD3 with and without
hindsight replay, ours from the command line and Stable-Baselines3's in the same run.

Ours: `python -m reinforceable train td3 --env reinforceable/BitFlippingContinuous-v0 --preset
td3-her-bits` (hindsight "future" with 4 sampled goals), and the same with `--set hindsight=none`;
the figure is the evaluation success rate at the end of training (`eval/success_rate`, the last
row of `progress.csv`: 50 deterministic episodes, success when the state equals the goal at the
episode's last step). The peer: `benchmarks/peers/sb3_her_bits.py` (SB3's TD3 and its
HerReplayBuffer on SB3's BitFlippingEnv, whose episodes end at the first success: an easier
version), 100 deterministic episodes. Target (issue 38): >= 90% success at <= 50k steps with
hindsight, and near 0% without (HER paper, figure 1). Writes `media/her_bit_flipping.md`.

    python benchmarks/her_bits.py                    # seeds 0 1 2, 50k steps, about 1.5 hours
    python benchmarks/her_bits.py --seeds 0 --no-peer
"""

from __future__ import annotations

import argparse
import pathlib
import statistics

from _examples import last_success_rate, train_cli, write_report
from _peers import run_peer

PEER = str(pathlib.Path(__file__).resolve().parent / "peers" / "sb3_her_bits.py")
ENV = "reinforceable/BitFlippingContinuous-v0"


def ours(steps: int, seed: int, hindsight: str) -> dict[str, float]:
    """The final evaluation's success rate and the training wall-clock of one run."""
    preset = ("--preset", "td3-her-bits", "--set", f"hindsight={hindsight}")
    run = train_cli("td3", ENV, steps, seed, *preset)
    return {"success_rate": last_success_rate(run["rows"]), "wall_s": run["wall_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--no-peer", action="store_true", help="ours only")
    parser.add_argument("--report", default="her_bit_flipping.md", help="the file in media/")
    args = parser.parse_args()
    runs = {"ours, HER future": ("future", None), "ours, no HER": ("none", None)}
    if not args.no_peer:
        runs.update({"SB3, HER future": (None, "future"), "SB3, no HER": (None, "none")})
    rows = {name: {} for name in runs}
    for seed in args.seeds:
        for name, (hindsight, peer) in runs.items():
            if peer is None:
                rows[name][seed] = ours(args.steps, seed, hindsight)
            else:
                rows[name][seed] = run_peer(PEER, args.steps, seed, 15, peer)
            print(name, seed, rows[name][seed], flush=True)
    lines = [
        "| run | " + " | ".join(f"seed {s}" for s in args.seeds) + " | mean | wall-clock (s) |",
        "|---|" + "---|" * (len(args.seeds) + 2),
    ]
    for name, per_seed in rows.items():
        rates = [per_seed[s]["success_rate"] for s in args.seeds]
        wall = statistics.mean(per_seed[s]["wall_s"] for s in args.seeds)
        cells = " | ".join(f"{r:.0%}" for r in rates)
        lines.append(f"| {name} | {cells} | {statistics.mean(rates):.0%} | {wall:.0f} |")
    seeds = " ".join(map(str, args.seeds))
    write_report(
        args.report,
        f"TD3 with and without hindsight replay on 15-bit flipping, {args.steps:,} steps",
        f"her_bits.py --seeds {seeds} --steps {args.steps}",
        "success rate of deterministic episodes after training (ours 50, SB3 100); ours and "
        "SB3's one after the other per seed. SB3's task ends an episode at the first success "
        "(ours runs to the 15th step and counts the state there).",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
