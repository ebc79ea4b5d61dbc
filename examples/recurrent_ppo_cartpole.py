"""Recurrent PPO on CartPole without velocities: a policy that must remember to balance.

The observation is the cart position and the pole angle only (`reinforceable/CartPoleNoVel-v1`),
so a memoryless policy cannot tell which way the pole is moving; a GRU policy can. The agent uses
the RL Zoo hyperparameters of sb3-contrib's RecurrentPPO for this task (8 environments, 32 steps
each per rollout, 20 epochs, γ = 0.98, λ = 0.8, learning rate and clip range decayed linearly from
1e-3 and 0.2): the preset `ppo-cartpole-novel` (`python -m reinforceable presets`). The script
prints progress, evaluates the deterministic policy, saves the agent and
a learning-curve PNG in `--run-dir`, and ends with the evaluation return (500 is the maximum).

    python examples/recurrent_ppo_cartpole.py --total-steps 100000
    python examples/recurrent_ppo_cartpole.py --runners 2     # rollouts in 2 Ray actors
    python examples/recurrent_ppo_cartpole.py --runners 16 --address auto  # a Ray cluster

For a cluster, run `RAY_worker_niceness=0 ray start --head` on one machine and
`RAY_worker_niceness=0 ray start --address=<head>:6379` on the others (each with
`pip install "reinforceable[distributed]"`), then the script on the head.

Run it again with the same `--run-dir` to resume from the last checkpoint.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.agents import RecurrentPPOAgent
from reinforceable.commands.presets import get_preset
from reinforceable.networks import actor_critic
from reinforceable.training import Evaluation, LearningCurve, ProgressBar, TensorBoard

# Two-core machines run small models faster with one thread per op and one op at a time.
rf.training.configure_threads(inter_op=1, intra_op=1)
PRESET = get_preset("ppo-cartpole-novel")


@dataclasses.dataclass(frozen=True)
class Args:
    total_steps: int = 100_000
    """Environment steps to train for, over all environments."""
    num_envs: int = 8
    """Training environments."""
    cell: str = "gru"
    """Recurrent cell of the actor and the critic: gru or lstm."""
    units: int = 64
    """Units of each recurrent layer."""
    eval_every: int = 50
    """Iterations between evaluations (one iteration is 32 steps of every environment)."""
    eval_episodes: int = 20
    """Episodes per evaluation, with deterministic actions."""
    runners: int = 0
    """Collect in this many runners (Ray actors; 0: in this process)."""
    backend: str = "ray"
    """Where the runners run: ray, or local (in this process, one after the other)."""
    address: str = ""
    """Ray cluster to join (auto: the one `ray start` made on this machine; empty: a local Ray)."""
    seed: int = 0
    """Seed of the weights, the environments and the sampling."""
    run_dir: str = "runs/recurrent_ppo_cartpole"
    """Checkpoints, progress.csv, TensorBoard logs, the learning curve and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in run_dir, if any."""
    checkpoint_every: int = 10
    """Iterations between checkpoints."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.num_envs <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps, --num-envs and --eval-episodes must be positive")


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", num_envs=args.num_envs, seed=args.seed)
    eval_env = rf.GymEnv("reinforceable/CartPoleNoVel-v1", num_envs=4, seed=args.seed + 10_000)
    # The preset (`python -m reinforceable presets`): sb3-contrib's RL Zoo settings and layout
    # (the recurrent layer first, then a dense layer, for actor and critic).
    model = actor_critic(env, **{**PRESET.network, "recurrent": args.cell, "units": args.units})
    agent = RecurrentPPOAgent(model, env, PRESET.make_config(args.seed))
    run_dir = pathlib.Path(args.run_dir)
    evaluation = Evaluation(eval_env, every=args.eval_every, episodes=args.eval_episodes)
    curve = LearningCurve(title="Recurrent PPO, CartPole without velocities")
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), TensorBoard(), curve, evaluation],
        run_dir=run_dir,
        resume=args.resume,
        runners=rf.distributed.make_runners(
            args.runners,
            "reinforceable/CartPoleNoVel-v1",
            args.num_envs,
            args.backend,
            args.address,
        ),
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    final = evaluation.evaluate_policy(agent.eval_policy)
    print(f"training: {wall:.1f} s, {args.total_steps / wall:,.0f} env steps/s")
    print(f"saved agent: {run_dir / 'agent'}")
    print(f"learning curve: {curve.path}")
    print(
        f"result: evaluation return {final['eval/episode_return']:.1f} over "
        f"{args.eval_episodes} episodes (deterministic policy, "
        f"{int(agent.env_steps.numpy()):,} training steps)"
    )
    env.close()
    eval_env.close()
    return final["eval/episode_return"]


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
