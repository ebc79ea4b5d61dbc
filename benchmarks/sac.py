"""SAC on Pendulum-v1: reinforceable against Stable-Baselines3 SAC, side by side.

Both train for `--steps` env steps (20k) on each seed with the RL Zoo settings (learning rate
1e-3, buffer 1M, batch 256, 256x256 networks, one gradient update per env step after 100 warm-up
steps) and are evaluated on deterministic episodes. Ours is `examples/sac_pendulum.py`, which
collects 64 steps between bursts of 64 updates; SB3 alternates one step and one update. Runs
alternate (ours, then the peer, per seed). The wall-clock per 1k gradient updates is the whole
training loop's time divided by its updates (environment steps included, for both).

Targets: mean evaluation return >= -200 over the seeds; our wall-clock per update <= 0.5x SB3's.
Writes `media/sac_pendulum.md`.

    python benchmarks/sac.py                   # 3 seeds, about 20 min
"""

from __future__ import annotations

import argparse
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

from _peers import run_peer

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEDIA = ROOT / "media"
WARMUP = 100


def run_ours(steps: int, seed: int) -> dict:
    with tempfile.TemporaryDirectory() as run_dir:
        command = [
            sys.executable,
            str(ROOT / "examples" / "sac_pendulum.py"),
            f"--total-steps={steps}",
            f"--seed={seed}",
            f"--run-dir={run_dir}",
            "--eval-every=100000",
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    wall = float(re.search(r"training: ([\d.]+) s", output).group(1))
    result = float(re.search(r"evaluation return ([-\d.]+)", output).group(1))
    return {"wall_s": wall, "eval_mean_return": result}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    updates = args.steps - WARMUP
    ours, peer = {}, {}
    for seed in args.seeds:
        ours[seed] = run_ours(args.steps, seed)
        print(f"reinforceable seed {seed}: {ours[seed]}", flush=True)
        peer[seed] = run_peer("sb3_sac_pendulum.py", args.steps, seed)
        print(f"SB3 seed {seed}: {peer[seed]}", flush=True)

    def mean(results, key):
        return statistics.mean(r[key] for r in results.values())

    per_k = [1000 * mean(r, "wall_s") / updates for r in (ours, peer)]
    returns = [mean(r, "eval_mean_return") for r in (ours, peer)]
    per_seed = [
        ", ".join(f"{r[s]['eval_mean_return']:.1f}" for s in args.seeds) for r in (ours, peer)
    ]
    table = "\n".join(
        [
            "| | reinforceable | SB3 SAC | ratio (ours / peer) |",
            "|---|---|---|---|",
            f"| wall-clock per run (s) | {mean(ours, 'wall_s'):.1f} | {mean(peer, 'wall_s'):.1f} | "
            f"{mean(ours, 'wall_s') / mean(peer, 'wall_s'):.2f} |",
            f"| wall-clock per 1k gradient updates (s) | {per_k[0]:.2f} | {per_k[1]:.2f} | "
            f"{per_k[0] / per_k[1]:.2f} |",
            f"| mean evaluation return | {returns[0]:.1f} | {returns[1]:.1f} | |",
            f"| evaluation return per seed | {per_seed[0]} | {per_seed[1]} | |",
        ]
    )
    print(table)
    MEDIA.mkdir(exist_ok=True)
    (MEDIA / "sac_pendulum.md").write_text(
        f"# SAC, Pendulum-v1, {args.steps:,} steps, seeds {args.seeds}\n\n"
        "Measured by `python benchmarks/sac.py` on a 2-core CPU machine; both libraries in the "
        "same run.\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
