"""MPPI on Pendulum-v1: plan with the differentiable TF Pendulum model, act on the real env.

The planner samples K control sequences of H steps per step, rolls them out through
`rf.models.Pendulum` inside the Driver's `tf.function`, and acts with the first control of the
cost-weighted plan. It runs on the same Driver, and the same code path, as a Keras policy; all
episodes are planned at once, batched. `--start hanging` starts every episode hanging straight
down at rest, the hardest start (a good swing-up under the torque limit scores about -350).

    python examples/mppi_pendulum.py
    python examples/mppi_pendulum.py --start hanging --bounds clamp
"""

from __future__ import annotations

import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import gymnasium as gym
import numpy as np

from reinforceable.planning import MPPI, MPPIConfig

rf.training.configure_threads(inter_op=2, intra_op=2)


class HangingStart(gym.Wrapper):
    """Every episode starts hanging straight down, at rest (θ = π, θ̇ = 0)."""

    def reset(self, **kwargs):
        _, info = self.env.reset(**kwargs)
        self.env.unwrapped.state = np.array([np.pi, 0.0])
        return self.env.unwrapped._get_obs(), info


@dataclasses.dataclass(frozen=True)
class Args:
    num_samples: int = 1000
    """K, sampled control sequences per step."""
    horizon: int = 30
    """H, steps per sequence."""
    temperature: float = 1.0
    """λ of the weights."""
    noise_scale: float = 1.0
    """σ of the sampling noise."""
    bounds: str = "squash"
    """How the torque bound is kept: squash, truncate or clamp."""
    start: str = "random"
    """random (gymnasium's own initial states) or hanging."""
    episodes: int = 20
    """Episodes, planned at once (reset seeds seed .. seed + episodes - 1)."""
    seed: int = 0
    """Seed of the first episode and of the sampling."""

    def __post_init__(self):
        if self.start not in ("random", "hanging"):
            raise ValueError(f"--start must be random or hanging; received {self.start!r}")
        if self.episodes <= 0:
            raise ValueError("--episodes must be positive")


def main(args: Args) -> float:
    config = MPPIConfig(
        num_samples=args.num_samples,
        horizon=args.horizon,
        temperature=args.temperature,
        noise_scale=args.noise_scale,
        bounds=args.bounds,
    )
    planner = MPPI(rf.models.Pendulum(), config)
    if args.start == "hanging":
        env = rf.GymEnv(
            [lambda: HangingStart(gym.make("Pendulum-v1"))] * args.episodes, seed=args.seed
        )
    else:
        env = rf.GymEnv("Pendulum-v1", num_envs=args.episodes, seed=args.seed)
    driver = rf.Driver(planner, env, seed=args.seed)
    driver.run(env.num_envs)  # compile
    driver.reset(seed=args.seed)
    start = time.perf_counter()
    trajectory = driver.run(200 * env.num_envs)  # one 200-step episode per environment
    wall = time.perf_counter() - start
    returns = trajectory.reward.numpy().sum(0)
    actions = trajectory.action.numpy()
    print(f"returns: {np.round(returns, 1).tolist()}")
    print(
        f"control: {200 / wall:,.0f} steps/s for {env.num_envs} pendulums at once; "
        f"actions within [{actions.min():.3f}, {actions.max():.3f}]"
    )
    print(
        f"result: mean return {returns.mean():.1f} over {env.num_envs} episodes "
        f"({args.start} start, K={args.num_samples}, H={args.horizon}, {args.bounds} bounds)"
    )
    env.close()
    return float(returns.mean())


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
