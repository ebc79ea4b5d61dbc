"""Kalman filtering of a manoeuvring target in the plane: constant-velocity model, noisy positions.

A batch of targets moves with random accelerations (the process noise); a sensor reports each
target's position with noise. `rf.estimation.KalmanFilter` tracks position and velocity, online
and batched, in one compiled loop; the script prints how much closer the estimate is to the truth
than the raw measurements, how consistent the filter is (its NEES against the χ² band), and plots
one track (estimate, measurements and truth, with the filter's 2σ band) if matplotlib is
installed (`pip install -e ".[plot]"`).

    python examples/kalman_tracking.py
    python examples/kalman_tracking.py --measurement-std 5 --steps 500
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import numpy as np
import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class Args:
    targets: int = 64
    """Targets tracked at once (the batch)."""
    steps: int = 200
    """Time steps per track."""
    dt: float = 0.1
    """Seconds between measurements."""
    acceleration_std: float = 1.0
    """σ of the random acceleration (m/s²), the process noise."""
    measurement_std: float = 2.0
    """σ of the position measurements (m)."""
    seed: int = 0
    """Seed of the simulated tracks."""
    output: str = "runs/kalman_tracking.png"
    """Where the plot goes."""

    def __post_init__(self):
        if self.targets <= 0 or self.steps <= 1:
            raise ValueError("--targets must be positive and --steps at least 2")
        if min(self.dt, self.acceleration_std, self.measurement_std) <= 0:
            raise ValueError("--dt, --acceleration-std and --measurement-std must be positive")


def constant_velocity(dt: float, acceleration_std: float, measurement_std: float):
    """State [x, y, vx, vy]: A, C, and the process noise of a white acceleration (the
    discretised continuous white-noise-acceleration model) and the measurement noise."""
    eye = np.eye(2)
    a = np.block([[eye, dt * eye], [0 * eye, eye]])
    c = np.hstack([eye, 0 * eye])
    block = np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]]) * acceleration_std**2
    q = np.kron(block, eye)
    r = eye * measurement_std**2
    return a, c, q, r


def simulate(a, c, q, r, targets: int, steps: int, seed: int):
    rng = np.random.default_rng(seed)
    state = np.hstack([rng.normal(0, 10, (targets, 2)), rng.normal(0, 3, (targets, 2))])
    states, measurements = [], []
    for _ in range(steps):
        states.append(state)
        measurements.append(state @ c.T + rng.multivariate_normal(np.zeros(2), r, targets))
        state = state @ a.T + rng.multivariate_normal(np.zeros(4), q, targets)
    return np.stack(states, 1), np.stack(measurements, 1)


def plot(path: pathlib.Path, truth, measurements, means, covariances) -> str:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[plot]'): no plot"
    figure, (track, error) = plt.subplots(1, 2, figsize=(11, 4.5))
    track.plot(truth[:, 0], truth[:, 1], "k-", label="truth")
    track.plot(measurements[:, 0], measurements[:, 1], ".", color="tab:gray", ms=3,
               label="measurements")  # fmt: skip
    track.plot(means[:, 0], means[:, 1], "-", color="tab:blue", label="Kalman filter")
    track.set(xlabel="x (m)", ylabel="y (m)", title="one track")
    track.legend()
    time_axis = np.arange(len(truth))
    std = np.sqrt(covariances[:, 0, 0])
    error.plot(time_axis, measurements[:, 0] - truth[:, 0], ".", color="tab:gray", ms=3,
               label="measurement error")  # fmt: skip
    error.plot(time_axis, means[:, 0] - truth[:, 0], color="tab:blue", label="estimate error")
    error.fill_between(time_axis, -2 * std, 2 * std, color="tab:blue", alpha=0.2, label="±2σ")
    error.set(xlabel="step", ylabel="x error (m)", title="x: error and the filter's 2σ")
    error.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return f"plot: {path}"


def main(args: Args) -> float:
    a, c, q, r = constant_velocity(args.dt, args.acceleration_std, args.measurement_std)
    truth, measurements = simulate(a, c, q, r, args.targets, args.steps, args.seed)
    kf = rf.estimation.KalmanFilter(
        a, c, process_noise=q, observation_noise=r,
        initial_mean=np.zeros(4), initial_covariance=np.diag([100.0, 100.0, 9.0, 9.0]),
        dtype=tf.float64,
    )  # fmt: skip
    kf.filter(measurements)  # compile
    start = time.perf_counter()
    result = kf.filter(measurements)
    wall = time.perf_counter() - start
    means, covariances = result.means.numpy(), result.covariances.numpy()
    settled = slice(args.steps // 10, None)
    raw = np.sqrt(np.mean((measurements - truth[..., :2])[:, settled] ** 2))
    filtered = np.sqrt(np.mean((means[..., :2] - truth[..., :2])[:, settled] ** 2))
    speed = np.sqrt(np.mean((means[..., 2:] - truth[..., 2:])[:, settled] ** 2))
    nees = rf.estimation.nees(truth, means, covariances).mean()
    print(f"filtered {args.targets} tracks of {args.steps} steps in {wall * 1000:.1f} ms")
    print(f"position RMSE: measurements {raw:.2f} m, Kalman filter {filtered:.2f} m")
    print(f"velocity RMSE (never measured): {speed:.2f} m/s")
    print(f"NEES: {nees:.2f} (a consistent filter: 4, the state dimension)")
    print(f"log-likelihood of the measurements: {result.log_likelihoods.numpy().sum():.1f}")
    print(plot(pathlib.Path(args.output), truth[0], measurements[0], means[0], covariances[0]))
    print(f"result: position error {filtered / raw:.2f}x the raw measurements' error")
    return filtered / raw


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
