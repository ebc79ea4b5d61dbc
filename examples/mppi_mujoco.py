"""MPPI on a MuJoCo task with the simulator itself as the model (no learned model).

`rf.models.MujocoModel` rolls the env's own MuJoCo model forward with `mujoco.rollout` on
several threads; MPPI samples K control sequences of H steps from the env's current state each
step (time-correlated noise) and acts with the first control of the cost-weighted plan. The
script prints the episode's return and the control rate.

    pip install -e ".[mujoco]"
    python examples/mppi_mujoco.py                                  # InvertedPendulum-v5
    python examples/mppi_mujoco.py --env-id HalfCheetah-v5 --steps 200 --num-samples 256 \\
        --noise-scale 0.5 --temperature 0.1
"""

from __future__ import annotations

import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import tensorflow as tf

from reinforceable.planning import MPPI, MPPIConfig

rf.training.configure_threads(inter_op=1, intra_op=1)


@dataclasses.dataclass(frozen=True)
class Args:
    env_id: str = "InvertedPendulum-v5"
    """A gymnasium MuJoCo id with a built-in planning reward (InvertedPendulum, HalfCheetah)."""
    steps: int = 1000
    """Control steps to run (one episode of InvertedPendulum-v5 lasts at most 1000)."""
    num_samples: int = 128
    """K, sampled control sequences per step."""
    horizon: int = 20
    """H, steps per sequence."""
    noise_scale: float = 0.3
    """σ of the sampling noise."""
    temperature: float = 0.01
    """λ of the weights."""
    smoothing: float = 0.8
    """β of the time-correlated noise."""
    threads: int = 2
    """Threads of the MuJoCo rollouts."""
    seed: int = 0
    """Seed of the env and of the sampling."""

    def __post_init__(self):
        if self.steps <= 0:
            raise ValueError("--steps must be positive")


def main(args: Args) -> float:
    kwargs = {}
    if args.env_id.startswith("HalfCheetah"):
        kwargs["exclude_current_positions_from_observation"] = False  # the planner needs x
    model = rf.models.MujocoModel(args.env_id, num_threads=args.threads, **kwargs)
    config = MPPIConfig(
        num_samples=args.num_samples,
        horizon=args.horizon,
        noise_scale=args.noise_scale,
        temperature=args.temperature,
        smoothing=args.smoothing,
        bounds="clamp",
    )
    planner = MPPI(model, config, dtype=tf.float64)
    env = rf.GymEnv(args.env_id, num_envs=1, seed=args.seed, **kwargs)
    driver = rf.Driver(planner, env, seed=args.seed)
    start = time.perf_counter()
    trajectory = driver.run(args.steps)
    wall = time.perf_counter() - start
    ended = (trajectory.terminated | trajectory.truncated).numpy()[:, 0]
    first_end = int(ended.argmax()) + 1 if ended.any() else args.steps
    episode_return = float(trajectory.reward.numpy()[:first_end, 0].sum())
    print(f"control: {args.steps / wall:.1f} steps/s (K={args.num_samples}, H={args.horizon})")
    print(
        f"result: return {episode_return:.1f} over the first episode ({first_end} steps"
        f"{', ended early' if ended[:first_end].any() and first_end < args.steps else ''}) "
        f"on {args.env_id}"
    )
    env.close()
    return episode_return


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
