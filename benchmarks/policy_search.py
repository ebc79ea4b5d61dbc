"""Policy-search benchmarks: LQR convergence, Pendulum through its model, ARS on MuJoCo.

* `lqr`: analytic-gradient policy search on a discounted linear-quadratic system; relative error
  of the learned gain against the Riccati gain (`scipy.linalg.solve_discrete_are`). Target <= 1%.
* `pendulum`: `examples/policy_search_pendulum.py` (5M model steps, no real env step), then 100
  episodes on the real Pendulum-v1. Target: mean return >= -200; the wall-clock is reported.
* `ars_inverted_pendulum`: `examples/ars_mujoco.py` on InvertedPendulum-v5, 100k env steps per
  seed. Target: 1000.
* `ars_half_cheetah`: ARS V2-t (N = 32, b = 4, α = 0.02, ν = 0.03) on HalfCheetah-v5, ours
  (whitening statistics updated at every step, as the peer's VecNormalize does) against
  sb3-contrib ARS with the same settings and the same env-step budget (our count includes every
  step the environments take), 10 deterministic evaluation episodes each. Target:
  at least as good a return, and faster. The peer runs `benchmarks/peers/sb3_contrib_ars.py` in
  the peer environment of `../shared/peers/`.

Writes `media/policy_search.md`.

    python benchmarks/policy_search.py                        # everything, about 20 min
    python benchmarks/policy_search.py --tasks lqr pendulum
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import time

from _examples import figure, run_example, write_report
from _peers import run_peer

ROOT = pathlib.Path(__file__).resolve().parents[1]
TASKS = ("lqr", "pendulum", "ars_inverted_pendulum", "ars_half_cheetah")
HALF_CHEETAH = {"num_directions": 32, "top_directions": 4, "step_size": 0.02, "noise": 0.03}
# Ours folds observations into the whitening statistics at every step, as the peer's
# VecNormalize does.
HALF_CHEETAH_FLAGS = ("--statistics-every-step=true",)


def lqr(iterations: int) -> list[str]:
    import keras
    import numpy as np
    import scipy.linalg

    import reinforceable as rf
    from reinforceable.agents import AnalyticPolicySearch, AnalyticPolicySearchConfig
    from reinforceable.agents.policy_search import linear_gain

    keras.utils.set_random_seed(0)
    a, b = np.array([[1.0, 0.1], [0.0, 1.0]]), np.array([[0.005], [0.1]])
    q, r, gamma = np.eye(2), np.array([[0.1]]), 0.9
    p = scipy.linalg.solve_discrete_are(np.sqrt(gamma) * a, np.sqrt(gamma) * b, q, r)
    riccati = gamma * np.linalg.solve(r + gamma * b.T @ p @ b, b.T @ p @ a)
    observation = keras.Input((2,))
    policy = keras.Model(observation, rf.DenseNormal(1, initial_scale=0.1)(observation))
    config = AnalyticPolicySearchConfig(
        horizon=100, episode_length=100, num_rollouts=1024, learning_rate=0.1,
        max_grad_norm=None, discount=gamma, deterministic=True, seed=0,
    )  # fmt: skip
    agent = AnalyticPolicySearch(policy, rf.models.LinearSystem(a, b, q, r), config)
    start = time.perf_counter()
    for _ in range(iterations):
        agent.train()
    wall = time.perf_counter() - start
    gain = linear_gain(agent)
    error = np.linalg.norm(gain - riccati) / np.linalg.norm(riccati)
    print(f"LQR: gain {gain.ravel()}, Riccati {riccati.ravel()}, error {error:.4%}", flush=True)
    return [
        f"| LQR gain, relative error after {iterations} iterations (target <= 1%) | "
        f"{error:.2%} | | {wall:.1f} s |"
    ]


def pendulum() -> list[str]:
    output = run_example("policy_search_pendulum.py")
    wall = figure(r"training: ([\d.]+) s", output)
    result = figure(r"evaluation return ([-\d.]+)", output)
    print(f"Pendulum through the model: {result:.1f} ({wall:.1f} s)", flush=True)
    return [
        "| Pendulum-v1 (real env, 100 episodes) after 5M model steps (target >= -200) | "
        f"{result:.1f} | | {wall:.1f} s |"
    ]


def ars_inverted_pendulum(seeds: list[int]) -> list[str]:
    results = []
    for seed in seeds:
        output = run_example("ars_mujoco.py", f"--seed={seed}")
        results.append(
            (
                figure(r"evaluation return ([-\d.]+)", output),
                figure(r"training: ([\d.]+) s", output),
            )
        )
        print(f"ARS InvertedPendulum seed {seed}: {results[-1]}", flush=True)
    returns = ", ".join(f"{r:.0f}" for r, _ in results)
    wall = statistics.mean(w for _, w in results)
    return [
        f"| ARS InvertedPendulum-v5, 100k env steps, seeds {seeds} (target 1000) | {returns} | | "
        f"{wall:.1f} s |"
    ]


def ars_half_cheetah(steps: int, seeds: list[int]) -> list[str]:
    ours, peer = [], []
    for seed in seeds:
        output = run_example(
            "ars_mujoco.py",
            "--env-id=HalfCheetah-v5",
            f"--total-steps={steps}",
            *(f"--{k.replace('_', '-')}={v}" for k, v in HALF_CHEETAH.items()),
            *HALF_CHEETAH_FLAGS,
            f"--seed={seed}",
        )
        ours.append(
            (
                figure(r"evaluation return ([-\d.]+)", output),
                figure(r"training: ([\d.]+) s", output),
            )
        )
        print(f"ours HalfCheetah seed {seed}: {ours[-1]}", flush=True)
        result = run_peer(
            ROOT / "benchmarks" / "peers" / "sb3_contrib_ars.py", "HalfCheetah-v5", steps, seed,
            32, 4, 0.02, 0.03,
        )  # fmt: skip
        peer.append((result["eval_mean_return"], result["wall_s"]))
        print(f"sb3-contrib HalfCheetah seed {seed}: {peer[-1]}", flush=True)
    mean = lambda rows, i: statistics.mean(r[i] for r in rows)  # noqa: E731
    per_seed = [", ".join(f"{r[0]:.1f}" for r in rows) for rows in (ours, peer)]
    return [
        f"| ARS HalfCheetah-v5, {steps:,} env steps, seeds {seeds}: mean evaluation return | "
        f"{mean(ours, 0):.1f} | {mean(peer, 0):.1f} | |",
        f"| ARS HalfCheetah-v5: evaluation return per seed | {per_seed[0]} | {per_seed[1]} | |",
        f"| ARS HalfCheetah-v5: wall-clock per run | {mean(ours, 1):.1f} s | {mean(peer, 1):.1f} s "
        f"| ratio {mean(ours, 1) / mean(peer, 1):.2f} |",
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--lqr-iterations", type=int, default=450)
    parser.add_argument("--half-cheetah-steps", type=int, default=1_000_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--half-cheetah-seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    rows = []
    if "lqr" in args.tasks:
        rows += lqr(args.lqr_iterations)
    if "pendulum" in args.tasks:
        rows += pendulum()
    if "ars_inverted_pendulum" in args.tasks:
        rows += ars_inverted_pendulum(args.seeds)
    if "ars_half_cheetah" in args.tasks:
        rows += ars_half_cheetah(args.half_cheetah_steps, args.half_cheetah_seeds)
    table = "\n".join(["| task | reinforceable | sb3-contrib | time |", "|---|---|---|---|", *rows])
    write_report(
        "policy_search.md", "Policy search", "policy_search.py", "the peer in the same run.", table
    )


if __name__ == "__main__":
    main()
