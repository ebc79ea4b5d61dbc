"""TD3 on Pendulum-v1: ours from the command line against Stable-Baselines3's TD3, same run.

Ours: `python -m reinforceable train td3 --env Pendulum-v1 --preset td3-pendulum --steps N` (the
RL Zoo's TD3 settings for Pendulum: 10k random steps, then after every 200-step episode 200
gradient steps; 400x300 networks, γ 0.98, Gaussian noise 0.1); its final agent's deterministic
return over the command line's 10 final evaluation episodes, and its training wall-clock divided
by its gradient steps (`losses/updates` summed over `progress.csv`). The peer:
`benchmarks/peers/sb3_td3_pendulum.py` (SB3 TD3 with the same settings, 20 deterministic
episodes; wall-clock of `learn` over its gradient steps). Both use 2 threads, one run at a time,
ours then the peer's per seed. Targets (issue 38): mean return >= -170 and our wall-clock per
update <= 0.5x SB3's. Writes `media/td3_pendulum.md`.

    python benchmarks/td3.py                       # seeds 0 1 2, 20k steps, about 25 minutes
    python benchmarks/td3.py --seeds 0 --steps 20000
"""

from __future__ import annotations

import argparse
import pathlib
import statistics

from _examples import train_cli, write_report
from _peers import run_peer

PEER = str(pathlib.Path(__file__).resolve().parent / "peers" / "sb3_td3_pendulum.py")


def ours(steps: int, seed: int) -> dict[str, float]:
    """The final agent's return, the training wall-clock and the gradient steps of one run."""
    preset = ("--preset", "td3-pendulum", "--threads", "2")
    run = train_cli("td3", "Pendulum-v1", steps, seed, *preset)
    return {
        "eval_mean_return": run["final_return"],
        "wall_s": run["wall_s"],
        "updates": sum(float(row["losses/updates"]) for row in run["rows"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--report", default="td3_pendulum.md", help="the file in media/")
    args = parser.parse_args()
    rows = {"ours": {}, "sb3": {}}
    for seed in args.seeds:
        rows["ours"][seed] = ours(args.steps, seed)
        rows["sb3"][seed] = run_peer(PEER, args.steps, seed)
        print({name: values[seed] for name, values in rows.items()}, flush=True)

    def per_k(values: dict) -> float:
        return (
            1000
            * sum(v["wall_s"] for v in values.values())
            / sum(v["updates"] for v in values.values())
        )

    def line(name: str, values: dict) -> str:
        returns = [values[s]["eval_mean_return"] for s in args.seeds]
        return (f"| {name} | {args.steps:,} | {', '.join(f'{r:.1f}' for r in returns)} | "
                f"{statistics.mean(returns):.1f} | {per_k(values):.2f} s |")  # fmt: skip

    ratio = per_k(rows["ours"]) / per_k(rows["sb3"])
    table = "\n".join([
        "| library | steps | deterministic return per seed | mean | wall-clock per 1k updates |",
        "|---|---|---|---|---|",
        line("reinforceable `train td3 --preset td3-pendulum`", rows["ours"]),
        line("Stable-Baselines3 TD3 (RL Zoo settings)", rows["sb3"]),
        "",
        f"Wall-clock per update, ours against SB3's: {ratio:.2f}x (target <= 0.5x); "
        f"mean return target >= -170.",
    ])  # fmt: skip
    write_report(args.report, "TD3 on Pendulum-v1 against Stable-Baselines3", "td3.py",
                 "every row in the same run, seeds " + " ".join(map(str, args.seeds)) + ".",
                 table)  # fmt: skip


if __name__ == "__main__":
    main()
