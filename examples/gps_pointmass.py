"""Guided policy search on a 2-D point mass: four local controllers teach one neural policy to
reach the goal from anywhere.

`rf.agents.MDGPSAgent` samples each condition's (each start's) linear-Gaussian controller through
the Driver, fits time-varying linear dynamics to the samples (with a Gaussian-mixture prior),
improves each controller within a KL step of the global policy, and trains the Keras policy (an
MLP) to match the controllers, weighted by their precision. The policy is then evaluated from
`--eval-episodes` random starts it never trained on (uniform in [-1, 1]², at rest): an episode
succeeds if the mass ends within `--success-radius` of the goal. Sampling and evaluation run in
`TFEnv`s, the point mass stepped in TF ops inside the Driver's loop.

Training runs on the shared Trainer: with `--run-dir`, it checkpoints every iteration and a rerun
with the same directory resumes where it stopped (also after `kill -9`).

    python examples/gps_pointmass.py
    python examples/gps_pointmass.py --iterations 4 --eval-episodes 20 --run-dir runs/gps
"""

from __future__ import annotations

import dataclasses
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras
import numpy as np
import tensorflow as tf

from reinforceable.agents import MDGPSAgent, MDGPSConfig

rf.training.configure_threads(inter_op=2, intra_op=2)

CONDITIONS = [[0.8, 0.8, 0.0, 0.0], [-0.8, 0.8, 0.0, 0.0], [0.8, -0.8, 0.0, 0.0],
              [-0.8, -0.8, 0.0, 0.0]]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Args:
    iterations: int = 8
    """GPS iterations."""
    horizon: int = 50
    """Steps per episode (dt = 0.1 s)."""
    samples_per_condition: int = 5
    """Trajectories per local controller and iteration."""
    units: int = 64
    """Width of the policy's two hidden layers."""
    eval_episodes: int = 100
    """Evaluation episodes from random starts."""
    success_radius: float = 0.1
    """An episode succeeds if the final distance to the goal is below this."""
    log_file: str = ""
    """Write the interim results (η, KL, costs, ...) as JSON lines to this file."""
    run_dir: str = ""
    """Checkpoints and progress.csv here (resumed from when rerun); none if empty."""
    seed: int = 0
    """Seed of the policy's weights, the sampling and the evaluation starts."""

    def __post_init__(self):
        if min(self.iterations, self.horizon, self.samples_per_condition, self.units) <= 0:
            raise ValueError(
                "--iterations, --horizon, --samples-per-condition, --units must be > 0"
            )
        if self.eval_episodes < 0 or not self.success_radius > 0:
            raise ValueError("--eval-episodes must be >= 0 and --success-radius > 0")


def evaluate(agent: MDGPSAgent, model, args: Args) -> tuple[float, float]:
    """Success rate and median final distance of the global policy from random starts."""
    starts = model.initial_state([args.eval_episodes], tf.constant([args.seed, 1]), tf.float64)
    env = rf.TFEnv(model, args.eval_episodes, args.horizon, initial_state=starts, dtype="float64")
    trajectory = rf.Driver(agent.eval_policy, env, seed=args.seed).run(
        args.horizon * args.eval_episodes
    )
    final = trajectory.next_timestep.observation.numpy()[:, :2] - model.goal
    distance = np.linalg.norm(final, axis=1)
    return float(np.mean(distance < args.success_radius)), float(np.median(distance))


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    model = rf.models.PointMass2D()
    policy = keras.Sequential([
        keras.Input((model.state_dim,)),
        keras.layers.Dense(args.units, activation="tanh"),
        keras.layers.Dense(args.units, activation="tanh"),
        keras.layers.Dense(model.action_dim),
    ])  # fmt: skip
    backend = rf.training.FileBackend(args.log_file) if args.log_file else None
    logger = rf.training.Logger(backend)
    config = MDGPSConfig(horizon=args.horizon, samples_per_condition=args.samples_per_condition,
                         seed=args.seed)  # fmt: skip
    agent = MDGPSAgent(model, policy, CONDITIONS, config, logger=logger)
    start = time.perf_counter()
    history = agent.fit(
        args.iterations * agent.rollout_steps,
        callbacks=[rf.training.ProgressBar(print_every=1)],
        run_dir=args.run_dir or None,
        checkpoint_every=1,
        seed=args.seed,
    )
    episodes = int(agent.iterations.numpy()) * len(CONDITIONS) * args.samples_per_condition
    print(f"trained in {time.perf_counter() - start:.1f} s ({episodes} episodes)")
    if history:
        print(f"last iteration: sample cost {history[-1]['charts/sample_cost']:.4f}, "
              f"policy loss {history[-1]['losses/policy_loss']:.6f}")  # fmt: skip
    logger.close()
    if not args.eval_episodes:
        return float("nan")
    rate, median = evaluate(agent, model, args)
    print(f"result: success rate {rate:.0%} over {args.eval_episodes} random starts "
          f"(median final distance {median:.4f})")  # fmt: skip
    return rate


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
