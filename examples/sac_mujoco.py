"""SAC on a MuJoCo task (HalfCheetah-v5 by default; any gymnasium MuJoCo id works).

Standard SAC settings (Haarnoja et al., 2018): a 256x256 actor with a tanh-squashed Gaussian
head, 256x256 twin critics, learning rate 3e-4, batch 256, 10k warm-up steps of random actions,
one gradient update per environment step, the updates compiled with XLA (`jit_compile=True`:
about 1.2x more updates per second on a 2-core CPU). The script prints progress, evaluates the
deterministic policy and saves a learning curve in `--run-dir`. HalfCheetah needs about 1M steps
to run well (a return near 10,000); the default budget is a demonstration.

    pip install -e ".[mujoco]"
    python examples/sac_mujoco.py --env-id Hopper-v5 --total-steps 300000
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.agents import SACAgent, SACConfig
from reinforceable.training import Evaluation, LearningCurve, ProgressBar, TensorBoard

rf.training.configure_threads(inter_op=2, intra_op=2)


@dataclasses.dataclass(frozen=True)
class Args:
    env_id: str = "HalfCheetah-v5"
    """A gymnasium MuJoCo id."""
    total_steps: int = 100_000
    """Environment steps to train for."""
    warmup_steps: int = 10_000
    """Steps of random actions before learning starts."""
    eval_every: int = 100
    """Iterations (64 steps each) between evaluations."""
    eval_episodes: int = 5
    """Episodes per evaluation, with deterministic actions."""
    checkpoint_every: int = 100
    """Iterations between checkpoints (each holds the replay buffer: 1M transitions)."""
    seed: int = 0
    """Seed of the weights, the environment and the sampling."""
    run_dir: str = "runs/sac_mujoco"
    """Checkpoints, progress.csv, TensorBoard logs, the learning curve and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if min(self.total_steps, self.eval_episodes, self.checkpoint_every) <= 0:
            raise ValueError("--total-steps, --eval-episodes, --checkpoint-every must be positive")
        if self.warmup_steps < 0:
            raise ValueError("--warmup-steps must be >= 0")


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv(args.env_id, num_envs=1, seed=args.seed)
    eval_env = rf.GymEnv(args.env_id, num_envs=1, seed=args.seed + 10_000)
    config = SACConfig(warmup_steps=args.warmup_steps, seed=args.seed, jit_compile=True)
    agent = SACAgent(rf.networks.sac_actor(env), env, config)
    evaluation = Evaluation(eval_env, every=args.eval_every, episodes=args.eval_episodes)
    curve = LearningCurve(title=f"SAC, {args.env_id}")
    run_dir = pathlib.Path(args.run_dir)
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), TensorBoard(), curve, evaluation],
        run_dir=run_dir,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
        resume=args.resume,
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    final = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    print(f"training: {wall:.1f} s, {args.total_steps / wall:,.0f} env steps/s")
    print(f"learning curve: {curve.path}")
    print(
        f"result: evaluation return {final:.1f} over {args.eval_episodes} episodes after "
        f"{int(agent.env_steps.numpy()):,} steps"
    )
    env.close()
    eval_env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
