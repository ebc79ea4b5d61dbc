"""SAC on Pendulum-v1: swing the pendulum up and hold it, from 20k environment steps.

The actor is an MLP with a tanh-squashed Gaussian head (`rf.networks.sac_actor`); the agent adds
twin critics, target critics and a learned temperature. The script prints progress, evaluates
the deterministic policy on 10 episodes, saves the agent and a learning curve in `--run-dir`, and
ends with the evaluation return (about -150 is solved; a random policy gets about -1200).

    python examples/sac_pendulum.py --total-steps 20000
    python examples/sac_pendulum.py --runners 2 --replay ray   # Ray runners fill a Ray replay
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.agents import SACAgent
from reinforceable.commands.presets import get_preset
from reinforceable.training import Evaluation, LearningCurve, ProgressBar

# Two threads per pool: the updates (256x256 MLPs, batch 256) are compute-bound, and run
# about 1.7x faster than with one thread on 2 cores.
rf.training.configure_threads(inter_op=2, intra_op=2)
PRESET = get_preset("sac-pendulum")


@dataclasses.dataclass(frozen=True)
class Args:
    total_steps: int = 20_000
    """Environment steps to train for."""
    learning_rate: float = 1e-3
    """Adam learning rate of the actor, the critics and the temperature (RL Zoo: 1e-3)."""
    eval_every: int = 50
    """Iterations (64 steps each) between evaluations."""
    eval_episodes: int = 10
    """Episodes per evaluation, with deterministic actions."""
    runners: int = 0
    """Collect in this many runners (Ray actors; 0: in this process)."""
    backend: str = "ray"
    """Where the runners run: ray, or local (in this process, one after the other)."""
    replay: str = ""
    """A replay of its own that the runners fill (Ape-X): ray (a Ray actor) or local; empty: in
    the learner. Needs --runners."""
    address: str = ""
    """Ray cluster to join (auto: the one `ray start` made on this machine; empty: a local Ray)."""
    seed: int = 0
    """Seed of the weights, the environment and the sampling."""
    run_dir: str = "runs/sac_pendulum"
    """Checkpoints, progress.csv, the learning curve and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps and --eval-episodes must be positive")
        if self.replay and not self.runners:
            raise ValueError("--replay needs --runners (the runners fill it)")


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv("Pendulum-v1", num_envs=1, seed=args.seed)
    eval_env = rf.GymEnv("Pendulum-v1", num_envs=5, seed=args.seed + 10_000)
    # The preset `sac-pendulum` (`python -m reinforceable presets`), with --learning-rate.
    config = PRESET.make_config(args.seed, {"learning_rate": args.learning_rate})
    agent = SACAgent(PRESET.make_network(env.spec), env, config)
    evaluation = Evaluation(eval_env, every=args.eval_every, episodes=args.eval_episodes)
    curve = LearningCurve(title="SAC, Pendulum-v1")
    run_dir = pathlib.Path(args.run_dir)
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), curve, evaluation],
        run_dir=run_dir,
        resume=args.resume,
        runners=rf.distributed.make_runners(
            args.runners, "Pendulum-v1", args.runners, args.backend, args.address
        ),
        replay=rf.distributed.replay.make_replay(args.replay, args.address),
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
