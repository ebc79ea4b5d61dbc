"""Atari env-steps/s of recurrent PPO: reinforceable (CNN + GRU) against sb3-contrib CnnLstmPolicy.

Both train on the same game with the same number of environments, the same preprocessing (no-op
starts, frame skip 4, 84x84 grayscale, 4 stacked frames) and the RL Zoo Atari hyperparameters
(128 steps per rollout, batch 256, 4 epochs), for `--steps` env steps; the figure is env steps per
second of the whole training loop (rollouts and updates, first-call tracing included for ours).
Ours is `examples/recurrent_ppo_atari.py` with evaluation off; the peer is
`../shared/peers/sb3_recurrent_ppo_atari_fps.py`. Target: ours >= 2x the peer's.

    python benchmarks/ppo_atari_fps.py                       # Pong, 8 envs, 16384 steps
    python benchmarks/ppo_atari_fps.py --env-id ALE/Breakout-v5 --num-envs 8
"""

from __future__ import annotations

import argparse
import pathlib
import re
import subprocess
import sys
import tempfile

from _peers import run_peer

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEDIA = ROOT / "media"


def run_ours(env_id: str, num_envs: int, steps: int, asynchronous: bool) -> float:
    with tempfile.TemporaryDirectory() as run_dir:
        command = [
            sys.executable,
            str(ROOT / "examples" / "recurrent_ppo_atari.py"),
            f"--env-id={env_id}",
            f"--num-envs={num_envs}",
            f"--total-steps={steps}",
            f"--asynchronous={asynchronous}",
            "--eval-episodes=0",
            f"--run-dir={run_dir}",
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return float(
        re.search(r"training: [\d.]+ s, ([\d,]+) env steps/s", output).group(1).replace(",", "")
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-id", default="ALE/Pong-v5")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=16384)
    parser.add_argument("--asynchronous", action="store_true", help="our envs in worker processes")
    args = parser.parse_args(argv)

    ours = run_ours(args.env_id, args.num_envs, args.steps, args.asynchronous)
    print(f"reinforceable: {ours:,.0f} env steps/s", flush=True)
    peer = run_peer("sb3_recurrent_ppo_atari_fps.py", args.env_id, args.num_envs, args.steps)
    theirs = peer["env_steps_per_s"]
    print(f"sb3-contrib: {theirs:,.0f} env steps/s", flush=True)
    table = "\n".join(
        [
            "| | env steps/s |",
            "|---|---|",
            f"| reinforceable (Nature CNN + GRU 256) | {ours:,.0f} |",
            f"| sb3-contrib RecurrentPPO CnnLstmPolicy | {theirs:,.0f} |",
            f"| ratio (ours / peer) | {ours / theirs:.2f} |",
        ]
    )
    title = f"{args.env_id}, {args.num_envs} envs, {args.steps:,} steps"
    print(f"\n{title}\n\n{table}")
    MEDIA.mkdir(exist_ok=True)
    (MEDIA / "ppo_atari_fps.md").write_text(
        f"# Recurrent PPO on Atari: env steps/s, {title}\n\n"
        "Measured by `python benchmarks/ppo_atari_fps.py` on a 2-core CPU machine; both "
        "libraries in the same run, whole training loop (rollouts and updates).\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
