"""Recurrent SAC on PendulumNoVel-v1 (Pendulum without its angular velocity), 50k env steps.

The observation is the angle's cosine and sine only, so the velocity must be inferred from
consecutive observations. The actor is a GRU followed by an MLP and a tanh-squashed Gaussian head
(`rf.networks.sac_actor(env, recurrent="gru")`); the agent adds recurrent twin critics (one GRU
torso, two heads), their targets and a learned temperature, and learns from replayed sequences of
16 steps whose first 8 only refresh the recurrent states (stored state and burn-in, R2D2). The
script prints progress, evaluates the deterministic policy on 10 episodes, saves the agent and a
learning curve in `--run-dir`, and ends with the evaluation return (about -150 is solved; a
random policy gets about -1200). Its settings are the preset `rsac-pendulum-novel`, so `python
-m reinforceable train rsac --env reinforceable/PendulumNoVel-v1` trains the same agent.

    python examples/recurrent_sac_pendulum.py --total-steps 50000
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.agents import RecurrentSACAgent
from reinforceable.commands.presets import get_preset
from reinforceable.training import Evaluation, LearningCurve, ProgressBar

# Two threads per pool: the updates (32 sequences of 16 steps) are compute-bound.
rf.training.configure_threads(inter_op=2, intra_op=2)
PRESET = get_preset("rsac-pendulum-novel")


@dataclasses.dataclass(frozen=True)
class Args:
    env_id: str = "reinforceable/PendulumNoVel-v1"
    """The task (any flat-Box observation, e.g. reinforceable/MountainCarContinuousNoVel-v0)."""
    total_steps: int = 50_000
    """Environment steps to train for."""
    learning_rate: float = 1e-3
    """Adam learning rate of the actor, the critics and the temperature (RL Zoo: 1e-3)."""
    sequence_length: int = 16
    """Steps per replayed sequence."""
    burn_in: int = 8
    """Steps at each sequence's start that only refresh the recurrent states."""
    eval_every: int = 50
    """Iterations (64 steps each) between evaluations."""
    eval_episodes: int = 10
    """Episodes per evaluation, with deterministic actions."""
    seed: int = 0
    """Seed of the weights, the environment and the sampling."""
    run_dir: str = "runs/recurrent_sac_pendulum"
    """Checkpoints, progress.csv, the learning curve and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps and --eval-episodes must be positive")


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv(args.env_id, num_envs=1, seed=args.seed)
    eval_env = rf.GymEnv(args.env_id, num_envs=5, seed=args.seed + 10_000)
    # The preset `rsac-pendulum-novel` (`python -m reinforceable presets`), with the arguments.
    changes = {"learning_rate": args.learning_rate, "sequence_length": args.sequence_length,
               "burn_in": args.burn_in}  # fmt: skip
    config = PRESET.make_config(args.seed, changes)
    agent = RecurrentSACAgent(PRESET.make_network(env.spec), env, config)
    evaluation = Evaluation(eval_env, every=args.eval_every, episodes=args.eval_episodes)
    curve = LearningCurve(title=f"Recurrent SAC, {args.env_id}")
    run_dir = pathlib.Path(args.run_dir)
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), curve, evaluation],
        run_dir=run_dir,
        resume=args.resume,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    final = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    print(f"training: {wall:.1f} s, {args.total_steps / wall:,.0f} env steps/s")
    print(f"learning curve: {curve.path}")
    print(
        f"result: evaluation return {final:.1f} over {args.eval_episodes} episodes "
        f"(deterministic policy, {int(agent.env_steps.numpy()):,} training steps)"
    )
    env.close()
    eval_env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
