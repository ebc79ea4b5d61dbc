"""Pendulum swing-up with iLQR on the differentiable TF model, against MPPI on the same task.

iLQR optimises a whole trajectory of `--horizon` steps from hanging straight down at rest, with
control-limited DDP (the torque stays in [-2, 2]). The swing-up has local minima (pumping too
little, or turning the wrong way), so `--restarts` random initial torque sequences are solved at
once, batched, and the cheapest wins. It plans on `Pendulum.smooth_cost`, the task's cost with
`2 (1 - cos θ)` for the wrapped `θ²` (equal to second order at the top, but smooth at the bottom,
where the wrapped square has a kink). The trajectory's feedback controller then runs on the task
(`TFEnv(Pendulum)`, the model stepped in TF ops) in the Driver and is scored with the task's own
reward, next to MPPI (K = 1000, H = 30) on the same episode.

    python examples/ilqr_pendulum.py
    python examples/ilqr_pendulum.py --horizon 80 --restarts 16 --compare-mppi=false
"""

from __future__ import annotations

import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import numpy as np

from reinforceable.planning import ILQR, MPPI, ILQRConfig, MPPIConfig

rf.training.configure_threads(inter_op=2, intra_op=2)

HANGING = [np.pi, 0.0]


@dataclasses.dataclass(frozen=True)
class Args:
    horizon: int = 100
    """T, steps of the trajectory and of the episode (dt = 0.05 s)."""
    restarts: int = 8
    """Random initial torque sequences, solved at once; the cheapest result wins."""
    max_iterations: int = 300
    """iLQR iterations at most."""
    compare_mppi: bool = True
    """Also run MPPI (K = 1000, H = 30) on the same episode."""
    mppi_samples: int = 1000
    """K of MPPI."""
    seed: int = 0
    """Seed of the initial torque sequences and of MPPI's sampling."""

    def __post_init__(self):
        if min(self.horizon, self.restarts, self.max_iterations, self.mppi_samples) <= 0:
            raise ValueError("--horizon, --restarts, --max-iterations, --mppi-samples must be > 0")


def episode(policy, horizon: int, seed: int) -> tuple[float, float]:
    """The task's return of `policy` over one episode from hanging, and its wall-clock (the
    Driver is compiled on a first run, not timed)."""
    env = rf.TFEnv(rf.models.Pendulum(), 1, horizon, initial_state=HANGING, dtype="float64")
    driver = rf.Driver(policy, env, seed=seed)
    driver.run(1)  # compile
    driver.reset(seed=seed)
    start = time.perf_counter()
    trajectory = driver.run(horizon)
    wall = time.perf_counter() - start
    return float(trajectory.reward.numpy().sum()), wall


def main(args: Args) -> dict[str, float]:
    pendulum = rf.models.Pendulum()
    config = ILQRConfig(horizon=args.horizon, max_iterations=args.max_iterations,
                        nonconvex_cost="allow")  # fmt: skip
    planner = ILQR(pendulum, config, cost=pendulum.smooth_cost)
    rng = np.random.default_rng(args.seed)
    initial = np.clip(rng.normal(size=(args.horizon, args.restarts, 1)), -2.0, 2.0)
    starts = np.tile([HANGING], (args.restarts, 1))
    planner.solve(starts[:1], initial[:, :1])  # trace the solve once, untimed
    begin = time.perf_counter()
    result = planner.solve(starts, initial)
    solve_seconds = time.perf_counter() - begin
    costs = result.cost.numpy()
    best = int(np.argmin(costs))
    theta = result.states.numpy()[-1, best, 0]
    upright = abs((theta + np.pi) % (2 * np.pi) - np.pi)
    print(f"iLQR: {args.restarts} restarts in {solve_seconds:.2f} s; planning costs "
          f"{np.round(np.sort(costs), 1).tolist()}", flush=True)  # fmt: skip
    print(f"iLQR best: {int(result.iterations[best])} iterations, converged "
          f"{bool(result.converged[best])}, final |θ| {upright:.4f} rad", flush=True)  # fmt: skip
    ilqr_return, ilqr_wall = episode(planner.linear_gaussian_policy(result, index=best),
                                     args.horizon, args.seed)  # fmt: skip
    print(f"iLQR feedback controller on the task: return {ilqr_return:.1f} "
          f"({ilqr_wall:.2f} s to run the episode)", flush=True)  # fmt: skip
    results = {"ilqr_return": ilqr_return, "ilqr_seconds": solve_seconds + ilqr_wall,
               "ilqr_upright": upright}  # fmt: skip
    if args.compare_mppi:
        mppi = MPPI(pendulum, MPPIConfig(num_samples=args.mppi_samples, horizon=30))
        mppi_return, mppi_wall = episode(mppi, args.horizon, args.seed)
        print(f"MPPI (K={args.mppi_samples}, H=30) on the task: return {mppi_return:.1f} "
              f"({mppi_wall:.2f} s to run the episode)", flush=True)  # fmt: skip
        results.update(mppi_return=mppi_return, mppi_seconds=mppi_wall)
    print(
        f"result: swing-up return {ilqr_return:.1f} with iLQR"
        + (f" (MPPI: {results['mppi_return']:.1f})" if args.compare_mppi else "")
    )
    return results


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
