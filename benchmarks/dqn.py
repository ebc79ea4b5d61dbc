"""DQN on CartPole-v1: ours from the command line against Stable-Baselines3's DQN, same run.

Ours: `python -m reinforceable train dqn --env CartPole-v1 --preset dqn-cartpole --steps N`
(the RL Zoo's CartPole settings; the final agent's greedy return on the command line's final
evaluation). The peer: `benchmarks/peers/sb3_dqn_cartpole.py` (SB3 DQN, the RL Zoo's settings,
20 greedy episodes) at 50k steps (the RL Zoo's budget) and at N. Target: ours at 100k reaches
500 on every seed. Runs go one after the other on one core each; writes `media/dqn_cartpole.md`.

    python benchmarks/dqn.py                       # seeds 0 1 2, 100k steps, about 25 minutes
    python benchmarks/dqn.py --seeds 0 --steps 50000
    python benchmarks/dqn.py --seeds 3 4 5 6 --skip-peer --report dqn_cartpole_seeds.md
"""

from __future__ import annotations

import argparse
import pathlib
import statistics

from _examples import write_report
from _peers import run_peer
from cli_defaults import run

PEER = str(pathlib.Path(__file__).resolve().parent / "peers" / "sb3_dqn_cartpole.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--skip-peer", action="store_true", help="ours only")
    parser.add_argument("--report", default="dqn_cartpole.md", help="the file in media/")
    args = parser.parse_args()
    rows = {"ours": {}, "sb3_50k": {}, "sb3": {}}
    for seed in args.seeds:
        final, _ = run("dqn", "CartPole-v1", args.steps, seed, "dqn-cartpole")
        rows["ours"][seed] = final
        if not args.skip_peer:
            rows["sb3_50k"][seed] = run_peer(PEER, 50_000, seed)["eval_mean_return"]
            rows["sb3"][seed] = run_peer(PEER, args.steps, seed)["eval_mean_return"]
        print({name: values.get(seed) for name, values in rows.items()}, flush=True)

    def line(name: str, steps: int, values: dict[int, float]) -> str:
        cells = ", ".join(f"{values[s]:.1f}" for s in args.seeds)
        hits = sum(v >= 500 for v in values.values())
        return (f"| {name} | {steps:,} | {cells} | {statistics.mean(values.values()):.1f} | "
                f"{hits} of {len(values)} |")  # fmt: skip

    lines = [
        "| library | steps | greedy return per seed | mean | seeds at 500 |",
        "|---|---|---|---|---|",
        line("reinforceable `train dqn --preset dqn-cartpole`", args.steps, rows["ours"]),
    ]
    if not args.skip_peer:
        peer = "Stable-Baselines3 DQN (RL Zoo settings)"
        lines += [line(peer, 50_000, rows["sb3_50k"]), line(peer, args.steps, rows["sb3"])]
    table = "\n".join(lines)
    write_report(args.report, "DQN on CartPole-v1 against Stable-Baselines3", "dqn.py",
                 "every row in the same run, seeds " + " ".join(map(str, args.seeds)) + ".",
                 table)  # fmt: skip


if __name__ == "__main__":
    main()
