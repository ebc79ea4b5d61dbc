"""SAC benchmarks: Pendulum-v1 against Stable-Baselines3, InvertedPendulum-v5, and MixedAction2D
with hybrid heads against the same SAC with the discrete part mapped onto a continuous one.

* `pendulum`: both libraries train for `--pendulum-steps` env steps (20k) on each seed with the
  RL Zoo settings (learning rate 1e-3, buffer 1M, batch 256, 256x256 networks, one gradient
  update per env step after 100 warm-up steps) and are evaluated on deterministic episodes. Ours
  is `examples/sac_pendulum.py`, which collects 64 steps between bursts of 64 updates; SB3
  alternates one step and one update. Runs alternate (ours, then the peer, per seed). The
  wall-clock per 1k gradient updates is the whole training loop's time divided by its updates
  (environment steps included, for both). Targets: mean evaluation return >= -200; our
  wall-clock per update <= 0.5x SB3's. Writes `media/sac_pendulum.md`.
* `inverted_pendulum`: `examples/sac_mujoco.py --env-id InvertedPendulum-v5` for 30k steps
  (1k warm-up steps), then 10 deterministic episodes (1000 is the most). There is no peer script
  for this task in `../shared/peers/`. Target: >= 950. Writes `media/sac_inverted_pendulum.md`.
* `mixed_action`: `examples/sac_mixed_action.py` for 30k steps per seed, `--action-mode hybrid`
  against `--action-mode continuous`, success rate of the deterministic policy over 500 episodes.
  Target: >= 95%, and higher than the mapped baseline. Writes `media/sac_mixed_action.md`.

    python benchmarks/sac.py                                       # all three, about 1 hour
    python benchmarks/sac.py --tasks inverted_pendulum mixed_action
"""

from __future__ import annotations

import argparse
import statistics

from _examples import figure, run_example, write_report
from _peers import run_peer

WARMUP = 100
TASKS = ("pendulum", "inverted_pendulum", "mixed_action")


def write(name: str, title: str, table: str) -> None:
    write_report(name, title, "sac.py", "every column in the same run.", table)


def pendulum(steps: int, seeds: list[int]) -> None:
    ours, peer = {}, {}
    for seed in seeds:
        output = run_example(
            "sac_pendulum.py", f"--total-steps={steps}", f"--seed={seed}", "--eval-every=100000"
        )
        ours[seed] = {
            "wall_s": figure(r"training: ([\d.]+) s", output),
            "eval_mean_return": figure(r"evaluation return ([-\d.]+)", output),
        }
        print(f"reinforceable seed {seed}: {ours[seed]}", flush=True)
        peer[seed] = run_peer("sb3_sac_pendulum.py", steps, seed)
        print(f"SB3 seed {seed}: {peer[seed]}", flush=True)

    def mean(results, key):
        return statistics.mean(r[key] for r in results.values())

    updates = steps - WARMUP
    per_k = [1000 * mean(r, "wall_s") / updates for r in (ours, peer)]
    returns = [mean(r, "eval_mean_return") for r in (ours, peer)]
    per_seed = [", ".join(f"{r[s]['eval_mean_return']:.1f}" for s in seeds) for r in (ours, peer)]
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
    write("sac_pendulum.md", f"SAC, Pendulum-v1, {steps:,} steps, seeds {seeds}", table)


def inverted_pendulum(steps: int, seeds: list[int]) -> None:
    results = {}
    for seed in seeds:
        output = run_example(
            "sac_mujoco.py",
            "--env-id=InvertedPendulum-v5",
            f"--total-steps={steps}",
            "--warmup-steps=1000",
            "--eval-every=100000",
            "--eval-episodes=10",
            f"--seed={seed}",
        )
        results[seed] = {
            "wall_s": figure(r"training: ([\d.]+) s", output),
            "return": figure(r"evaluation return ([-\d.]+)", output),
        }
        print(f"reinforceable seed {seed}: {results[seed]}", flush=True)
    returns = [r["return"] for r in results.values()]
    table = "\n".join(
        [
            "| | reinforceable SAC |",
            "|---|---|",
            f"| mean evaluation return (10 episodes per seed, max 1000) | "
            f"{statistics.mean(returns):.1f} |",
            f"| evaluation return per seed | {', '.join(f'{x:.1f}' for x in returns)} |",
            f"| lowest seed | {min(returns):.1f} |",
            f"| wall-clock per run (s) | "
            f"{statistics.mean(r['wall_s'] for r in results.values()):.1f} |",
        ]
    )
    write(
        "sac_inverted_pendulum.md",
        f"SAC, InvertedPendulum-v5, {steps:,} steps, seeds {seeds}",
        table,
    )


def mixed_action(steps: int, seeds: list[int]) -> None:
    results = {"hybrid": {}, "continuous": {}}
    for seed in seeds:
        for mode in results:
            output = run_example(
                "sac_mixed_action.py",
                f"--total-steps={steps}",
                f"--action-mode={mode}",
                f"--seed={seed}",
            )
            results[mode][seed] = {
                "wall_s": figure(r"training: ([\d.]+) s", output),
                "success": figure(r"result: success ([\d.]+)%", output),
            }
            print(f"{mode} seed {seed}: {results[mode][seed]}", flush=True)

    def row(name, key, fmt):
        cells = [fmt(statistics.mean(r[key] for r in results[m].values())) for m in results]
        return f"| {name} | {' | '.join(cells)} |"

    per_seed = [", ".join(f"{r['success']:.1f}%" for r in results[m].values()) for m in results]
    table = "\n".join(
        [
            "| | hybrid heads (ours) | discrete mapped onto continuous (ours) |",
            "|---|---|---|",
            row(
                "mean success rate (500 deterministic episodes per seed)",
                "success",
                lambda x: f"{x:.1f}%",
            ),
            f"| success rate per seed | {per_seed[0]} | {per_seed[1]} |",
            row("wall-clock per run (s)", "wall_s", lambda x: f"{x:.1f}"),
        ]
    )
    write("sac_mixed_action.md", f"SAC, MixedAction2D, {steps:,} steps, seeds {seeds}", table)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--pendulum-steps", type=int, default=20_000)
    parser.add_argument("--inverted-pendulum-steps", type=int, default=30_000)
    parser.add_argument("--mixed-action-steps", type=int, default=30_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    if "pendulum" in args.tasks:
        pendulum(args.pendulum_steps, args.seeds)
    if "inverted_pendulum" in args.tasks:
        inverted_pendulum(args.inverted_pendulum_steps, args.seeds)
    if "mixed_action" in args.tasks:
        mixed_action(args.mixed_action_steps, args.seeds)


if __name__ == "__main__":
    main()
