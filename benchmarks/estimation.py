"""State-estimation benchmarks: agreement with TFP, filter throughput against TFP and filterpy,
NEES consistency, and the noisy-angle pendulum swing-up.

* `tfp`: `KalmanFilter` against TFP's `LinearGaussianStateSpaceModel.forward_filter` on random
  stable systems in float64: the largest differences of the filtered means, covariances and
  log-likelihoods. Target: <= 1e-5.
* `throughput`: 64 batched random 4-state systems (2 observations) over T = 1000 steps, the
  systems of `../shared/peers/kf_peer.py`, which measures TFP's `forward_filter` (in
  `tf.function`) and filterpy in the same run. filterpy comes from the peer environment of
  `../shared/peers/setup.sh`. Target: faster than both.
* `nees`: the average normalised estimation error squared of the KF and the UKF on a linear
  tracking task (100 independent runs of 100 steps): for each step, the average over the runs
  must lie in the two-sided 95% χ² band (so about 95% of the steps should). Target: the KF's and
  the UKF's averages lie in the band.
* `pendulum`: `examples/pomdp_pendulum.py`: swing-up from hanging with a noisy angle only, MPPI
  (K = 1000, H = 30, `feedback=True`) on the belief of an EKF, a UKF and a particle filter,
  against MPPI with the true state (the better of with and without feedback), for angle noise
  σ = 0.02, 0.05 and 0.1 rad (the issue names no level; the example's default is 0.1). Target:
  MPPI + UKF within 15% of the true-state return. Then balancing alone from upright at
  σ = 0.1, with and without feedback, which is where plain MPPI loses the pole.

Writes `media/estimation.md`.

    python benchmarks/estimation.py                  # everything, about 15 min
    python benchmarks/estimation.py --tasks tfp throughput
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from _examples import figure, run_example, write_report
from _peers import PEERS, peer_python

ROOT = pathlib.Path(__file__).resolve().parents[1]
TASKS = ("tfp", "throughput", "nees", "pendulum")


def tfp_agreement(systems: int) -> list[str]:
    import tensorflow as tf
    import tensorflow_probability as tfp

    from reinforceable.estimation import KalmanFilter

    tfd = tfp.distributions
    worst = np.zeros(3)
    for seed in range(systems):
        rng = np.random.default_rng(seed)
        n, m, steps = 4, 2, 200
        a = np.linalg.qr(rng.normal(size=(n, n)))[0] * rng.uniform(0.5, 0.99)
        c = rng.normal(size=(m, n))
        lq, lr, l0 = (rng.normal(size=(d, d)) * 0.5 for d in (n, m, n))
        q, r = lq @ lq.T + 0.01 * np.eye(n), lr @ lr.T + 0.1 * np.eye(m)
        cov0 = l0 @ l0.T + np.eye(n)
        mean0 = rng.normal(size=n)
        ys = rng.normal(size=(8, steps, m)) * 3
        reference = tfd.LinearGaussianStateSpaceModel(
            num_timesteps=steps,
            transition_matrix=tf.linalg.LinearOperatorFullMatrix(a),
            transition_noise=tfd.MultivariateNormalTriL(scale_tril=np.linalg.cholesky(q)),
            observation_matrix=tf.linalg.LinearOperatorFullMatrix(c),
            observation_noise=tfd.MultivariateNormalTriL(scale_tril=np.linalg.cholesky(r)),
            initial_state_prior=tfd.MultivariateNormalTriL(mean0, np.linalg.cholesky(cov0)),
        ).forward_filter(ys)
        ours = KalmanFilter(a, c, q, r, initial_mean=mean0, initial_covariance=cov0,
                            dtype=tf.float64).filter(ys)  # fmt: skip
        pairs = [
            (ours.means, reference.filtered_means),
            (ours.covariances, reference.filtered_covs),
            (ours.log_likelihoods, reference.log_likelihoods),
        ]
        worst = np.maximum(worst, [np.abs(np.asarray(x) - np.asarray(y)).max() for x, y in pairs])
    print(f"TFP agreement over {systems} systems: {worst}", flush=True)
    return [
        f"| KalmanFilter vs TFP forward_filter, {systems} random systems x 8 sequences x 200 "
        f"steps, float64: largest difference of means / covariances / log-likelihoods "
        f"(target <= 1e-5) | {worst[0]:.1e} / {worst[1]:.1e} / {worst[2]:.1e} | | |"
    ]


def _peer_times() -> dict[str, float]:
    """Runs `kf_peer.py` with this python (for TFP) and filterpy from the peer environment."""
    locate = "import filterpy, os; print(os.path.dirname(os.path.dirname(filterpy.__file__)))"
    site = subprocess.run(
        [peer_python(), "-c", locate], capture_output=True, text=True, check=True
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as directory:
        # Only filterpy itself goes on the path: numpy, scipy and TF stay this environment's.
        os.symlink(pathlib.Path(site) / "filterpy", pathlib.Path(directory) / "filterpy")
        env = dict(os.environ, PYTHONPATH=directory)
        output = subprocess.run(
            [sys.executable, str(PEERS / "kf_peer.py")], capture_output=True, text=True,
            check=True, env=env,
        ).stdout  # fmt: skip
    print(output, flush=True)
    times = {"tfp": figure(r"TFP forward_filter.*: ([\d.]+) s", output)}
    if "filterpy not installed" not in output:
        times["filterpy"] = figure(r"filterpy batch_filter.*: ([\d.]+) s", output)
    return times


def throughput(repeats: int) -> list[str]:
    import tensorflow as tf

    from reinforceable.estimation import KalmanFilter

    # The systems of ../shared/peers/kf_peer.py.
    rng = np.random.default_rng(0)
    b, steps, n, m = 64, 1000, 4, 2
    a = np.stack([np.linalg.qr(rng.normal(size=(n, n)))[0] * 0.95 for _ in range(b)])
    c = rng.normal(size=(b, m, n))
    q, r = 0.1 * np.eye(n), 0.5 * np.eye(m)
    ys = rng.normal(size=(b, steps, m))
    rows = []
    ours = {}
    for dtype in (tf.float64, tf.float32):
        for jit in (True, False):
            kf = KalmanFilter(a, c, q, r, dtype=dtype)
            kf.filter(ys, jit_compile=jit).means.numpy()  # compile
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                kf.filter(ys, jit_compile=jit).means.numpy()
                times.append(time.perf_counter() - start)
            ours[(dtype.name, jit)] = float(np.median(times))
            print(f"ours {dtype.name} jit={jit}: {ours[(dtype.name, jit)]:.4f} s", flush=True)
    peers = _peer_times()
    best = ours[("float64", True)]
    for (dtype, jit), seconds in ours.items():
        label = f"KalmanFilter.filter ({dtype}, {'XLA' if jit else 'no XLA'})"
        ratios = ", ".join(f"{seconds / v:.2f}x {k}" for k, v in peers.items())
        rows.append(f"| {label}, 64 systems x 1000 steps | {seconds:.4f} s | | {ratios} |")
    tfp_seconds = peers["tfp"]
    rows.append(f"| TFP forward_filter (tf.function), the same systems | | {tfp_seconds:.4f} s | |")
    if "filterpy" in peers:
        rows.append(f"| filterpy KalmanFilter.batch_filter, the same systems | | "
                    f"{peers['filterpy']:.3f} s | |")  # fmt: skip
    print(f"throughput: ours (float64, XLA) {best:.4f} s; peers {peers}", flush=True)
    return rows


def nees(runs: int, steps: int) -> list[str]:
    import scipy.stats
    import tensorflow as tf

    import reinforceable as rf
    from reinforceable.estimation import KalmanFilter, UnscentedKalmanFilter

    sys.path.insert(0, str(ROOT / "examples"))
    from kalman_tracking import constant_velocity, simulate

    a, c, q, r = constant_velocity(0.1, 1.0, 2.0)
    truth, measurements = simulate(a, c, q, r, runs, steps, seed=1)
    # simulate() draws x_0 ~ N(0, diag(100, 100, 9, 9)): the filters' prior.
    prior = {"initial_mean": np.zeros(4), "initial_covariance": np.diag([100.0, 100, 9, 9])}
    task = rf.models.PartiallyObserved(
        rf.models.LinearSystem(a, np.zeros((4, 1))), observe=[0, 1], observation_noise=r,
        process_noise=q,
    )  # fmt: skip
    filters = {
        "KF": KalmanFilter(a, c, q, r, dtype=tf.float64, **prior),
        "UKF": UnscentedKalmanFilter(task, dtype=tf.float64, **prior),
    }
    low, high = scipy.stats.chi2.ppf([0.025, 0.975], 4 * runs) / runs
    rows = []
    for name, estimator in filters.items():
        result = estimator.filter(measurements)
        values = rf.estimation.nees(truth, result.means, result.covariances)
        per_step = values.mean(0)
        inside = np.mean((per_step >= low) & (per_step <= high))
        print(f"NEES {name}: mean {values.mean():.3f}, {inside:.0%} of steps in band", flush=True)
        rows.append(
            f"| NEES of the {name}, constant-velocity tracking, {runs} runs x {steps} steps: "
            f"average over all (n = 4), and the share of steps whose {runs}-run average lies in "
            f"the 95% χ² band [{low:.2f}, {high:.2f}] (expected about 95%) | {values.mean():.3f}, "
            f"{inside:.0%} | | |"
        )
    return rows


def _pendulum_returns(episodes: int, *flags: str) -> dict[str, tuple[float, float]]:
    """`{controller: (mean return, control steps/s)}` from one run of the example."""
    output = run_example("pomdp_pendulum.py", f"--episodes={episodes}", *flags, run_dir=False)
    found = re.findall(r"(\w+): mean return\s+([-\d.]+).*\(([\d.]+) control", output)
    return {name: (float(value), float(rate)) for name, value, rate in found}


def pendulum(episodes: int, angle_stds: list[float]) -> list[str]:
    """The swing-up for each angle noise, every controller with `MPPIConfig.feedback`; the
    reference is the better of MPPI with the true state with and without feedback. Then, at
    σ = 0.1, balancing alone (starting upright) with and without feedback."""
    rows = []
    labels = {"true_state": "MPPI with the true state", "ekf": "MPPI + EKF",
              "ukf": "MPPI + UKF", "pf": "MPPI + particle filter (1000)"}  # fmt: skip
    for std in angle_stds:
        values = _pendulum_returns(episodes, f"--angle-std={std}")
        plain = _pendulum_returns(
            episodes, f"--angle-std={std}", "--estimators", "true_state", "--feedback=false"
        )["true_state"]
        reference = max(values["true_state"][0], plain[0])
        task = f"Noisy-angle pendulum, σ = {std} rad, swing-up from hanging, {episodes} episodes"
        rows.append(
            f"| {task}: MPPI with the true state, no feedback | {plain[0]:.1f} | | "
            f"({plain[1]:.0f} steps/s) |"
        )
        for name, label in labels.items():
            value, rate = values[name]
            ratio = "" if name == "true_state" else f"{value / reference:.2f}x"
            rows.append(
                f"| {task}: {label}, feedback | {value:.1f} | | {ratio} ({rate:.0f} steps/s) |"
            )
        print(f"pendulum, angle σ = {std}: {values}, plain true state {plain}", flush=True)
    for feedback in ("true", "false"):
        values = _pendulum_returns(
            episodes, "--angle-std=0.1", "--start=upright", "--estimators", "true_state", "ukf",
            f"--feedback={feedback}",
        )  # fmt: skip
        for name in ("true_state", "ukf"):
            value, rate = values[name]
            rows.append(
                f"| Noisy-angle pendulum, σ = 0.1 rad, balancing from upright, {episodes} "
                f"episodes: {labels[name]}, feedback={feedback} | {value:.1f} | | "
                f"({rate:.0f} steps/s) |"
            )
        print(f"pendulum upright, feedback={feedback}: {values}", flush=True)
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--systems", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--episodes", type=int, default=60)
    parser.add_argument("--angle-stds", type=float, nargs="+", default=[0.02, 0.05, 0.1])
    args = parser.parse_args(argv)
    rows = []
    if "tfp" in args.tasks:
        rows += tfp_agreement(args.systems)
    if "throughput" in args.tasks:
        rows += throughput(args.repeats)
    if "nees" in args.tasks:
        rows += nees(args.runs, args.steps)
    if "pendulum" in args.tasks:
        rows += pendulum(args.episodes, args.angle_stds)
    table = "\n".join(["| task | reinforceable | peer | ratio |", "|---|---|---|---|", *rows])
    write_report(
        "estimation.md", "State estimation", "estimation.py", "the peers in the same run.", table
    )


if __name__ == "__main__":
    main()
