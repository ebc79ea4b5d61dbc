"""Atari env-steps/s of recurrent PPO: reinforceable (CNN + GRU) against sb3-contrib CnnLstmPolicy.

Both train on the same game with the same number of environments, the same preprocessing (no-op
starts, frame skip 4, 84x84 grayscale, 4 stacked frames) and the RL Zoo Atari hyperparameters
(128 steps per rollout, batch 256, 4 epochs), for `--steps` env steps; the figure is env steps per
second of the whole training loop (rollouts and updates, first-call tracing included for ours).
Ours is `examples/recurrent_ppo_atari.py` with evaluation off, once per `--runs`: ale-py's C++
vector env (the default) or gymnasium's Python wrappers, with minibatches of 32-step sequences
replayed from recorded states (the example's default) or of whole 128-step rollouts (as the
peer); the peer is
`../shared/peers/sb3_recurrent_ppo_atari_fps.py`. Target: ours >= 4x the peer's.

Where our time goes, per backend: the environment alone (random actions through the same
`GymEnv`, measured in the same run by `atari_envs.py`), the rest of collection (the policy's
forward pass and the Driver; from the run's `charts/collect_fps`), and the updates (the rest of
the wall-clock).

    python benchmarks/ppo_atari_fps.py                       # Pong, 8 envs, 16384 steps
    python benchmarks/ppo_atari_fps.py --env-id ALE/Breakout-v5 --num-envs 8
"""

from __future__ import annotations

import argparse
import csv
import pathlib
import re
import subprocess
import sys
import tempfile

from _peers import run_peer
from atari_envs import measure

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEDIA = ROOT / "media"
ENV_ROWS = {"ale": "ale_gymenv", "gymnasium": "gymnasium_sync"}


def run_ours(env_id: str, num_envs: int, steps: int, run: str) -> dict:
    """Wall-clock, env-steps/s and seconds spent collecting of one training run
    (`run`: `backend:sequence_length[:cnn_dtype]`)."""
    backend, sequence_length, *dtype = run.split(":")
    with tempfile.TemporaryDirectory() as run_dir:
        command = [
            sys.executable,
            str(ROOT / "examples" / "recurrent_ppo_atari.py"),
            f"--env-id={env_id}",
            f"--num-envs={num_envs}",
            f"--total-steps={steps}",
            f"--backend={backend}",
            f"--sequence-length={sequence_length}",
            f"--cnn-dtype={dtype[0] if dtype else 'float32'}",
            "--eval-episodes=0",
            f"--run-dir={run_dir}",
        ]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        with open(pathlib.Path(run_dir) / "progress.csv") as file:
            rows = list(csv.DictReader(file))
    wall, rate = re.search(r"training: ([\d.]+) s, ([\d,]+) env steps/s", output).groups()
    per_iteration = float(rows[0]["env_steps"])
    collect = sum(per_iteration / float(row["charts/collect_fps"]) for row in rows)
    return {"wall_s": float(wall), "fps": float(rate.replace(",", "")), "collect_s": collect}


def describe(run: str) -> tuple[str, str]:
    """The backend of a `backend:sequence_length[:cnn_dtype]` run, and its words for a table."""
    backend, length, *dtype = run.split(":")
    cnn = f", CNN in {dtype[0]}" if dtype else ""
    return backend, f"{backend} envs, {length}-step sequences{cnn}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-id", default="ALE/Pong-v5")
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--steps", type=int, default=16384)
    parser.add_argument(
        "--runs",
        nargs="+",
        default=["ale:32", "ale:128", "gymnasium:32"],
        help="ours, as backend:sequence_length[:cnn_dtype] (128: whole rollouts, as sb3-contrib)",
    )
    args = parser.parse_args(argv)

    ours = {}
    for run in args.runs:
        ours[run] = run_ours(args.env_id, args.num_envs, args.steps, run)
        print(f"reinforceable, {run}: {ours[run]}", flush=True)
    peer = run_peer("sb3_recurrent_ppo_atari_fps.py", args.env_id, args.num_envs, args.steps)
    theirs = peer["env_steps_per_s"]
    print(f"sb3-contrib: {theirs:,.0f} env steps/s", flush=True)
    game = re.sub(r"^ALE/|-v\d+$", "", args.env_id)
    backends = {describe(run)[0] for run in ours}  # the env rates are measured once each
    raw = {b: measure(ENV_ROWS[b], game, args.num_envs, 2, 4.0) for b in sorted(backends)}
    rows = ["| | env steps/s | ours / peer |", "|---|---|---|"]
    for run, result in ours.items():
        rows.append(
            f"| reinforceable (Nature CNN + GRU 256), {describe(run)[1]} | {result['fps']:,.0f} | "
            f"{result['fps'] / theirs:.2f} |"
        )
    rows.append(
        f"| sb3-contrib RecurrentPPO CnnLstmPolicy (gymnasium envs, whole rollouts) | "
        f"{theirs:,.0f} | |"
    )
    split = [
        "| ours, seconds per 1,000 env steps | environment | policy + Driver | updates | all |",
        "|---|---|---|---|---|",
    ]
    for run, result in ours.items():
        backend, label = describe(run)
        scale = 1000 / args.steps
        env_s = 1000 / raw[backend]
        collect_s = result["collect_s"] * scale
        split.append(
            f"| {label} (envs alone: {raw[backend]:,.0f} "
            f"env-steps/s) | {env_s:.2f} | "
            f"{collect_s - env_s:.2f} | {(result['wall_s'] - result['collect_s']) * scale:.2f} | "
            f"{result['wall_s'] * scale:.2f} |"
        )
    table = "\n".join(rows) + "\n\n" + "\n".join(split)
    title = f"{args.env_id}, {args.num_envs} envs, {args.steps:,} steps"
    print(f"\n{title}\n\n{table}")
    MEDIA.mkdir(exist_ok=True)
    (MEDIA / "ppo_atari_fps.md").write_text(
        f"# Recurrent PPO on Atari: env steps/s, {title}\n\n"
        "Measured by `python benchmarks/ppo_atari_fps.py` on a 2-core CPU machine; all rows in "
        "the same run, whole training loop (rollouts and updates, tracing included). Target: "
        "ours >= 4x the peer. The split: the environment alone with random actions (same "
        "GymEnv, same run), the rest of collection (policy forward pass and Driver), the "
        "updates (the rest of the wall-clock).\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
