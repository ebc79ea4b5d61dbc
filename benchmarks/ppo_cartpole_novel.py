"""Recurrent PPO on CartPole without velocities: reinforceable against sb3-contrib RecurrentPPO.

Both train for `--steps` env steps (100k) with the RL Zoo hyperparameters (8 envs, 32 steps per
rollout, batch 256, 20 epochs, γ 0.98, λ 0.8, learning rate and clip range decayed linearly
from 1e-3 and 0.2) on each seed, and are evaluated on 20 episodes with deterministic actions.
Runs alternate (ours, then the peer, per seed) so that machine noise hits both alike. Wall-clock
is the training loop alone for both (no imports, no evaluation).

Ours is `examples/recurrent_ppo_cartpole.py` (a GRU policy); the peer is
`../shared/peers/sb3_recurrent_ppo_novel.py` (its default MlpLstmPolicy). Targets: mean
evaluation return >= 475 over the seeds, each seed >= 450, and our wall-clock <= 1/3 of the
peer's. Writes the learning curves to `media/ppo_cartpole_novel.png` and the table to
`media/ppo_cartpole_novel.md`.

    python benchmarks/ppo_cartpole_novel.py                 # 3 seeds, about 30 min
    python benchmarks/ppo_cartpole_novel.py --seeds 0 --skip-peer
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

from _peers import run_peer

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEDIA = ROOT / "media"


def run_ours(steps: int, seed: int, run_dir: pathlib.Path) -> dict:
    command = [
        sys.executable,
        str(ROOT / "examples" / "recurrent_ppo_cartpole.py"),
        f"--total-steps={steps}",
        f"--seed={seed}",
        f"--run-dir={run_dir}",
        "--eval-episodes=20",
        "--resume=false",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    wall = float(re.search(r"training: ([\d.]+) s", output).group(1))
    result = float(re.search(r"evaluation return ([-\d.]+)", output).group(1))
    with (run_dir / "progress.csv").open(newline="") as file:
        curve = [
            (float(row["env_steps"]), float(row["charts/episode_return"]))
            for row in csv.DictReader(file)
            if row["charts/episode_return"] not in ("", "nan")
        ]
    return {
        "wall_s": wall,
        "env_steps_per_s": steps / wall,
        "eval_mean_return": result,
        "curve": curve,
    }


def plot(curves: dict[int, list], peer_returns: list[float], path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 4))
    for seed, curve in curves.items():
        steps, returns = zip(*curve, strict=True)
        axes.plot(steps, returns, label=f"reinforceable GRU, seed {seed} (training return)")
    if peer_returns:
        axes.axhline(
            statistics.mean(peer_returns),
            color="gray",
            linestyle="--",
            label="sb3-contrib RecurrentPPO, final evaluation (mean of seeds)",
        )
    axes.set_xlabel("environment steps")
    axes.set_ylabel("episode return (last 100 episodes)")
    axes.set_title("Recurrent PPO, CartPole without velocities")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _report(name: str, seed: int, result: dict) -> None:
    print(
        f"{name} seed {seed}: {result['wall_s']:.1f} s, eval {result['eval_mean_return']:.1f}",
        flush=True,
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-peer", action="store_true")
    args = parser.parse_args(argv)

    ours, peer = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            ours[seed] = run_ours(args.steps, seed, pathlib.Path(tmp) / f"seed_{seed}")
            _report("reinforceable", seed, ours[seed])
            if not args.skip_peer:
                peer[seed] = run_peer("sb3_recurrent_ppo_novel.py", args.steps, seed)
                _report("sb3-contrib", seed, peer[seed])

    rows = [
        "| | "
        + " | ".join(["reinforceable", "sb3-contrib RecurrentPPO", "ratio (ours / peer)"])
        + " |",
        "|---|---|---|---|",
    ]

    def row(name, key, fmt):
        mine = statistics.mean(r[key] for r in ours.values())
        cells = [format(mine, fmt)]
        if peer:
            theirs = statistics.mean(r[key] for r in peer.values())
            cells += [format(theirs, fmt), f"{mine / theirs:.2f}"]
        else:
            cells += ["-", "-"]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")

    row("wall-clock per run (s)", "wall_s", ".1f")
    row("env steps/s", "env_steps_per_s", ",.0f")
    row("mean evaluation return", "eval_mean_return", ".1f")
    per_seed = ", ".join(f"{ours[s]['eval_mean_return']:.1f}" for s in args.seeds)
    peer_seed = ", ".join(f"{peer[s]['eval_mean_return']:.1f}" for s in args.seeds) if peer else "-"
    rows.append(f"| evaluation return per seed | {per_seed} | {peer_seed} | |")
    table = "\n".join(rows)
    print(table)

    MEDIA.mkdir(exist_ok=True)
    plot(
        {s: r["curve"] for s, r in ours.items()},
        [r["eval_mean_return"] for r in peer.values()],
        MEDIA / "ppo_cartpole_novel.png",
    )
    (MEDIA / "ppo_cartpole_novel.md").write_text(
        "# Recurrent PPO, CartPole without velocities, "
        f"{args.steps:,} steps, seeds {args.seeds}\n\n"
        "Measured by `python benchmarks/ppo_cartpole_novel.py` on a 2-core CPU machine; "
        "both libraries in the same run.\n\n"
        + table
        + "\n\n![learning curves](ppo_cartpole_novel.png)\n"
    )


if __name__ == "__main__":
    main()
