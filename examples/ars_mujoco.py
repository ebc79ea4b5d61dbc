"""Augmented Random Search on a MuJoCo task (InvertedPendulum-v5 by default; any gymnasium
MuJoCo id with a Box action works).

A linear policy on whitened observations (ARS V2-t, Mania et al., 2018). Each iteration runs the
2N perturbed policies at once, one per environment of a single vector env, for one episode each.
The script prints progress, evaluates the unperturbed policy and ends with its mean return.

    pip install -e ".[mujoco]"
    python examples/ars_mujoco.py
    python examples/ars_mujoco.py --env-id HalfCheetah-v5 --total-steps 2000000 \\
        --num-directions 32 --top-directions 4 --step-size 0.02 --noise 0.03 \\
        --statistics-every-step true
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf
from reinforceable.agents import ARSAgent, ARSConfig
from reinforceable.training import Evaluation, LearningCurve, ProgressBar

# A linear policy is cheap: one thread per pool leaves the other core to the simulator.
rf.training.configure_threads(inter_op=1, intra_op=1)


@dataclasses.dataclass(frozen=True)
class Args:
    env_id: str = "InvertedPendulum-v5"
    """A gymnasium MuJoCo id."""
    total_steps: int = 100_000
    """Environment steps to train for (every step the environments take)."""
    num_directions: int = 8
    """N, random directions per iteration (2N environments)."""
    top_directions: int = 4
    """b, the best directions used in the update."""
    step_size: float = 0.1
    """α (the paper's HalfCheetah setting is 0.02)."""
    noise: float = 0.05
    """ν, the scale of the perturbations (HalfCheetah: 0.03)."""
    statistics_every_step: bool = False
    """Update the whitening statistics at every step (HalfCheetah), not after each iteration."""
    alive_bonus_offset: float = 0.0
    """Added to each training reward (-1 removes Hopper's or Walker2d's survival bonus)."""
    eval_episodes: int = 10
    """Episodes of the final evaluation."""
    seed: int = 0
    """Seed of the directions and the environments."""
    run_dir: str = "runs/ars_mujoco"
    """Checkpoints, progress.csv and the learning curve."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps and --eval-episodes must be positive")


def main(args: Args) -> float:
    config = ARSConfig(
        num_directions=args.num_directions,
        top_directions=args.top_directions,
        step_size=args.step_size,
        noise=args.noise,
        statistics_every_step=args.statistics_every_step,
        alive_bonus_offset=args.alive_bonus_offset,
        seed=args.seed,
    )
    env = rf.GymEnv(args.env_id, num_envs=2 * args.num_directions, seed=args.seed)
    eval_env = rf.GymEnv(args.env_id, num_envs=min(args.eval_episodes, 10), seed=args.seed + 1)
    agent = ARSAgent(env, config)
    curve = LearningCurve(title=f"ARS, {args.env_id}")
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), curve],
        run_dir=pathlib.Path(args.run_dir),
        resume=args.resume,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    agent.save(pathlib.Path(args.run_dir) / "agent")
    evaluation = Evaluation(eval_env, episodes=args.eval_episodes)
    final = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    steps = int(agent.env_steps.numpy())
    print(f"training: {wall:.1f} s, {steps:,} env steps, {steps / wall:,.0f} env steps/s")
    print(f"learning curve: {curve.path}")
    print(f"result: evaluation return {final:.1f} over {args.eval_episodes} episodes")
    env.close()
    eval_env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
