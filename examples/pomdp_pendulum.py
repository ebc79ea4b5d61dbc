"""Swing-up from a noisy angle alone: MPPI on an EKF, UKF or particle filter's belief, against
MPPI that sees the true state.

The task is the TF Pendulum model stepped in TF ops (`rf.TFEnv`), made partially
observed by `rf.models.PartiallyObserved`: the sensor reports only the angle θ (as a multi-turn
encoder: not wrapped), with Gaussian noise of σ = `--angle-std`, and the dynamics are disturbed by
small process noise. The angular velocity is never measured. Every episode starts hanging at rest,
the hardest start. `rf.estimation.FilteredPolicy` runs filter and planner in the Driver's
`tf.function` loop: update the belief with the angle, plan from its mean, predict it through the
action. The reference runs the same planner on the same noisy dynamics with the full, noiseless
state.

The planner corrects its warm start with LQR feedback (`MPPIConfig.feedback`, on by default
here): estimates jump from step to step, and plain MPPI follows them with about half the LQR gain,
too little to hold the pole up against σ = 0.1 rad of angle noise (`media/estimation.md`).
`--start upright` measures the balancing alone.

    python examples/pomdp_pendulum.py
    python examples/pomdp_pendulum.py --estimators ukf pf --angle-std 0.2 --plan-from samples
    python examples/pomdp_pendulum.py --feedback=false --start upright
"""

from __future__ import annotations

import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import numpy as np

from reinforceable.estimation import (
    ExtendedKalmanFilter,
    FilteredPolicy,
    ParticleFilter,
    UnscentedKalmanFilter,
)
from reinforceable.planning import MPPI, MPPIConfig

rf.training.configure_threads(inter_op=2, intra_op=2)

STARTS = {"hanging": [np.pi, 0.0], "upright": [0.0, 0.0]}
ESTIMATORS = ("true_state", "ekf", "ukf", "pf")


@dataclasses.dataclass(frozen=True)
class Args:
    estimators: tuple[str, ...] = ESTIMATORS
    """Which controllers to run: true_state, ekf, ukf, pf."""
    angle_std: float = 0.1
    """σ of the angle sensor (rad)."""
    angle_process_std: float = 0.01
    """σ of the process noise on θ per step (rad)."""
    speed_process_std: float = 0.03
    """σ of the process noise on θ̇ per step (rad/s)."""
    num_particles: int = 1000
    """Particles of the particle filter."""
    plan_from: str = "mean"
    """mean: plan from the belief's mean; samples: average each plan's cost over samples."""
    num_samples: int = 1000
    """K of MPPI."""
    horizon: int = 30
    """H of MPPI."""
    feedback: bool = True
    """MPPIConfig.feedback: correct the warm start with LQR gains (every controller)."""
    start: str = "hanging"
    """hanging: swing up and balance; upright: balance only."""
    episodes: int = 20
    """Episodes per controller, run at once (200 steps each)."""
    seed: int = 0
    """Seed of the noise and the sampling."""

    def __post_init__(self):
        unknown = set(self.estimators) - set(ESTIMATORS)
        if unknown:
            raise ValueError(f"--estimators must be among {ESTIMATORS}; received {unknown}")
        if min(self.angle_std, self.angle_process_std, self.speed_process_std) <= 0:
            raise ValueError("the noise standard deviations must be positive")
        if self.episodes <= 0:
            raise ValueError("--episodes must be positive")
        if self.start not in STARTS:
            raise ValueError(f"--start must be one of {tuple(STARTS)}; received {self.start!r}")


def make_task(args: Args, observed: bool) -> rf.models.Model:
    """The noisy pendulum; `observed=False` for the partial, noisy angle sensor."""
    process = np.diag([args.angle_process_std**2, args.speed_process_std**2])
    if not observed:
        return rf.models.PartiallyObserved(
            rf.models.Pendulum(), observe=[0], observation_noise=[[args.angle_std**2]],
            process_noise=process,
        )  # fmt: skip
    return rf.models.PartiallyObserved(rf.models.Pendulum(), process_noise=process)


def make_policy(name: str, task, args: Args):
    config = MPPIConfig(args.num_samples, args.horizon, feedback=args.feedback)
    planner = MPPI(rf.models.Pendulum(), config)
    if name == "true_state":
        return planner
    # The belief at the start: the start, give or take (the angle's first reading settles it).
    prior = {"initial_mean": STARTS[args.start], "initial_covariance": np.diag([0.5**2, 0.5**2])}
    estimator = {
        "ekf": lambda: ExtendedKalmanFilter(task, **prior),
        "ukf": lambda: UnscentedKalmanFilter(task, **prior),
        "pf": lambda: ParticleFilter(task, args.num_particles, **prior),
    }[name]()
    return FilteredPolicy(estimator, planner, plan_from=args.plan_from)


def run(name: str, args: Args) -> tuple[float, float]:
    task = make_task(args, observed=name == "true_state")
    env = rf.TFEnv(
        task, args.episodes, 200, initial_state=STARTS[args.start], seed=args.seed, dtype="float64"
    )
    driver = rf.Driver(make_policy(name, task, args), env, seed=args.seed)
    driver.run(env.num_envs)  # compile
    driver.reset(seed=args.seed)
    start = time.perf_counter()
    trajectory = driver.run(200 * env.num_envs)
    wall = time.perf_counter() - start
    return float(trajectory.reward.numpy().sum(0).mean()), 200 / wall


def main(args: Args) -> dict[str, float]:
    results = {}
    for name in args.estimators:
        result, rate = run(name, args)
        results[name] = result
        print(
            f"{name:>10}: mean return {result:8.1f} over {args.episodes} episodes "
            f"({rate:.0f} control steps/s for {args.episodes} pendulums)",
            flush=True,
        )
    if "true_state" in results:
        reference = results["true_state"]
        for name, value in results.items():
            if name != "true_state":
                print(f"{name}: {value / reference:.2f}x the true-state return")
    filtered = [(v, k) for k, v in results.items() if k != "true_state"]
    best = max(filtered) if filtered else None
    if best is not None and "true_state" in results:
        print(f"result: mean return {best[0]:.1f} with {best[1]} "
              f"(true state: {results['true_state']:.1f})")  # fmt: skip
    else:
        name, value = next(iter(results.items()))
        print(f"result: mean return {value:.1f} with {name}")
    return results


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
