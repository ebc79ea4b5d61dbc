"""Trajectory optimisation benchmarks: LQR against Riccati, the iLQR swing-up against MPPI,
the TVLG dynamics fit, and guided policy search on the point mass.

* `lqr`: `planning.lqr` on random controllable systems (n = 4, m = 2, float64) over a long
  horizon: the largest difference between its first gains and the infinite-horizon gains of
  scipy's `solve_discrete_are`. Target: <= 1e-6.
* `swing_up`: `examples/ilqr_pendulum.py`: iLQR (8 batched restarts, 100 steps) swings the
  Pendulum model up from hanging at rest; its feedback controller runs on the task in the Driver,
  next to MPPI (K = 1000, H = 30) on the same episode. Reported: the final angle, both returns
  (the task's reward), and the wall-clock (iLQR: the solve after tracing, plus the episode; MPPI:
  the episode after compiling). Seeds 0-2 (the restarts' torque sequences, MPPI's sampling).
  Target: the upright state is reached; cost and wall-clock reported against MPPI.
* `tvlg`: `dynamics.fit_tvlg` on a noisy linear system (n = 4, m = 2, noise σ = 0.01, random
  actions and starts): the relative error of [A B] at the worst of 10 steps, against the number
  of trajectories, without a prior (it needs n + m + 1 = 7) and, below that, with a `GMMPrior`
  fitted on 100 earlier trajectories. Target: within 2% with enough samples.
* `gps`: `examples/gps_pointmass.py`: MDGPS trains an MLP from 4 conditions in 8 iterations; the
  success rate from 100 random starts it never trained on (final distance < 0.1). Seeds 0-2.
  Target: >= 90%.

Writes `media/ilqr.md`.

    python benchmarks/ilqr.py                 # about 5 min
    python benchmarks/ilqr.py --tasks lqr tvlg
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _examples import figure, run_example, write_report

TASKS = ("lqr", "swing_up", "tvlg", "gps")


def lqr_against_riccati(systems: int) -> list[str]:
    import scipy.linalg

    from reinforceable.planning import AffineDynamics, QuadraticCost, lqr

    n, m, horizon = 4, 2, 500
    worst = 0.0
    for seed in range(systems):
        rng = np.random.default_rng(seed)
        A, B = rng.normal(size=(n, n)) * 0.6, rng.normal(size=(n, m))
        L = rng.normal(size=(n, n))
        Q, R = L @ L.T + 0.1 * np.eye(n), np.diag(rng.uniform(0.1, 2.0, m))
        P = scipy.linalg.solve_discrete_are(A, B, Q, R)
        riccati = -np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
        dynamics = AffineDynamics(np.broadcast_to(np.concatenate([A, B], 1), (horizon, n, n + m)),
                                  np.zeros((horizon, n)))  # fmt: skip
        cost = QuadraticCost(
            np.broadcast_to(scipy.linalg.block_diag(2 * Q, 2 * R), (horizon, n + m, n + m)),
            np.zeros((horizon, n + m)), np.zeros(horizon), 2 * Q, np.zeros(n), 0.0,
        )  # fmt: skip
        gains = lqr(dynamics, cost).controller.gains.numpy()
        worst = max(worst, np.abs(gains[0] - riccati).max())
    print(f"LQR vs Riccati: worst gain difference {worst:.2e}", flush=True)
    return [
        f"| LQR gains (T = {horizon}, first step) vs scipy's discrete Riccati solution, "
        f"{systems} random systems, n = 4, m = 2: largest difference (target <= 1e-6) | "
        f"{worst:.1e} | | |",
    ]


def swing_up(seeds: list[int]) -> list[str]:
    rows = []
    for seed in seeds:
        output = run_example("ilqr_pendulum.py", f"--seed={seed}", run_dir=False)
        upright = figure(r"final \|θ\| ([\d.]+) rad", output)
        solve = figure(r"restarts in ([\d.]+) s", output)
        ilqr_return = figure(r"iLQR feedback controller on the task: return ([-\d.]+)", output)
        ilqr_episode = figure(r"return [-\d.]+ \(([\d.]+) s to run the episode\)", output)
        mppi_return = figure(r"MPPI \(K=1000, H=30\) on the task: return ([-\d.]+)", output)
        mppi_seconds = figure(r"MPPI.*\(([\d.]+) s to run the episode\)", output)
        print(f"swing-up seed {seed}: iLQR {ilqr_return} ({solve} s), MPPI {mppi_return} "
              f"({mppi_seconds} s), |θ_T| {upright}", flush=True)  # fmt: skip
        rows.append(
            f"| Pendulum swing-up from hanging, 100 steps, seed {seed}: iLQR (8 restarts) return "
            f"and final \\|θ\\|; MPPI (K = 1000, H = 30) on the same episode | {ilqr_return:.1f}, "
            f"\\|θ_T\\| = {upright:.4f} rad | MPPI {mppi_return:.1f} | cost "
            f"{ilqr_return / mppi_return:.2f}x MPPI's |"
        )
        rows.append(
            f"| ... wall-clock, seed {seed}: iLQR solve + episode; MPPI episode | "
            f"{solve:.2f} + {ilqr_episode:.2f} s | MPPI {mppi_seconds:.2f} s | "
            f"{(solve + ilqr_episode) / mppi_seconds:.1f}x MPPI's |"
        )
    return rows


def tvlg(counts: list[int]) -> list[str]:
    from reinforceable.dynamics import GMMPrior, fit_tvlg

    n, m, steps, noise = 4, 2, 10, 0.01
    rng = np.random.default_rng(0)
    A = np.eye(n) + 0.1 * rng.normal(size=(n, n))
    B = rng.normal(size=(n, m))
    truth = np.concatenate([A, B], 1)

    def sample(count, seed):
        r = np.random.default_rng(seed)
        states = np.zeros((count, steps + 1, n))
        states[:, 0] = r.normal(size=(count, n))
        actions = r.normal(size=(count, steps, m))
        for t in range(steps):
            states[:, t + 1] = (states[:, t] @ A.T + actions[:, t] @ B.T
                                + noise * r.normal(size=(count, n)))  # fmt: skip
        return states, actions

    def error(fit):
        return max(np.linalg.norm(F - truth) / np.linalg.norm(truth) for F in fit.matrix)

    prior = GMMPrior(components=4).update(*sample(100, seed=1))
    rows = []
    for count in counts:
        data = sample(count, seed=100 + count)
        plain = f"{error(fit_tvlg(*data)):.2%}" if count >= n + m + 1 else "refused (needs 7)"
        with_prior = error(fit_tvlg(*data, prior=prior))
        print(f"TVLG N={count}: plain {plain}, with prior {with_prior:.2%}", flush=True)
        rows.append(
            f"| TVLG fit of a noisy linear system (n = 4, m = 2), {count} trajectories: relative "
            f"error of [A B], worst step, without / with the GMM prior (target <= 2%) | "
            f"{plain} / {with_prior:.2%} | | |"
        )
    return rows


def gps(seeds: list[int]) -> list[str]:
    rows = []
    for seed in seeds:
        output = run_example("gps_pointmass.py", f"--seed={seed}", run_dir=False)
        rate = figure(r"success rate (\d+)%", output)
        median = figure(r"median final distance ([\d.]+)", output)
        seconds = figure(r"trained in ([\d.]+) s", output)
        print(f"GPS seed {seed}: success {rate}%, median distance {median}, {seconds} s",
              flush=True)  # fmt: skip
        rows.append(
            f"| MDGPS on the point mass, seed {seed}: success rate from 100 unseen random starts "
            f"(final distance < 0.1; target >= 90%), training time | {rate:.0f}% "
            f"(median distance {median:.4f}), {seconds:.1f} s | | |"
        )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--counts", type=int, nargs="+", default=[3, 7, 10, 20, 50, 200])
    args = parser.parse_args(argv)
    rows = []
    if "lqr" in args.tasks:
        rows += lqr_against_riccati(args.systems)
    if "swing_up" in args.tasks:
        rows += swing_up(args.seeds)
    if "tvlg" in args.tasks:
        rows += tvlg(args.counts)
    if "gps" in args.tasks:
        rows += gps(args.seeds)
    table = "\n".join(["| task | reinforceable | reference | ratio |", "|---|---|---|---|", *rows])
    write_report("ilqr.md", "Trajectory optimisation and guided policy search", "ilqr.py",
                 "MPPI is this library's, in the same run.", table)  # fmt: skip


if __name__ == "__main__":
    main()
