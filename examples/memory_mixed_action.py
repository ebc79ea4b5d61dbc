"""A memory task with a hybrid action: recurrent PPO or recurrent SAC on MemoryMixedAction2D.

The target zone (one of four) is shown on the first step only; the agent must remember it, move
there (choose an axis and a continuous distance each step) and signal arrival (a discrete
switch). A memoryless policy cannot beat chance (25% success): `--memory false` trains one, as
the baseline. The script prints progress and ends with the success rate of the deterministic
policy over `--eval-episodes` episodes.

    python examples/memory_mixed_action.py --algo ppo --total-steps 300000
    python examples/memory_mixed_action.py --algo sac --total-steps 60000
    python examples/memory_mixed_action.py --algo ppo --memory false
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.agents import (
    PPOConfig,
    RecurrentPPOAgent,
    RecurrentSACAgent,
    RecurrentSACConfig,
    SACAgent,
    SACConfig,
)
from reinforceable.training import LearningCurve, ProgressBar

rf.training.configure_threads(inter_op=1, intra_op=1)

ENV_ID = "reinforceable/MemoryMixedAction2D-v0"


@dataclasses.dataclass(frozen=True)
class Args:
    algo: str = "ppo"
    """"ppo" (recurrent PPO) or "sac" (recurrent SAC)."""
    memory: bool = True
    """A GRU policy; false: the memoryless baseline (an MLP)."""
    total_steps: int | None = None
    """Environment steps to train for (by default 300k for PPO, 60k for SAC)."""
    eval_episodes: int = 1000
    """Episodes in the final evaluation, with deterministic actions."""
    seed: int = 0
    """Seed of the weights, the environments and the sampling."""
    run_dir: str = "runs/memory_mixed_action"
    """Checkpoints, progress.csv, the learning curve and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.algo not in ("ppo", "sac"):
            raise ValueError(f"--algo must be ppo or sac; received {self.algo!r}")
        if (self.total_steps is not None and self.total_steps < 1) or self.eval_episodes < 1:
            raise ValueError(
                "--total-steps and --eval-episodes must be at least 1; received "
                f"{self.total_steps} and {self.eval_episodes}"
            )


def make_agent(args: Args):
    """The agent and its training environments."""
    recurrent = "gru" if args.memory else None
    if args.algo == "ppo":
        env = rf.GymEnv(ENV_ID, num_envs=16, seed=args.seed)
        config = PPOConfig(
            num_steps=64,
            batch_size=256,
            sequence_length=16 if args.memory else None,
            num_epochs=10,
            learning_rate=rf.ops.LinearSchedule(1e-3),
            entropy_coef=0.01,
            normalize_advantages=True,  # as when media/recurrent_memory.md was measured
            seed=args.seed,
        )
        model = rf.networks.actor_critic(env, recurrent=recurrent, hard_bounds=True)
        return RecurrentPPOAgent(model, env, config), env
    env = rf.GymEnv(ENV_ID, num_envs=4, seed=args.seed)
    # The "done" switch ends the episode: an entropy bonus in the critics' target would pay for
    # merely staying alive (see SACConfig.backup_entropy), so it stays in the actor's objective.
    common = dict(
        backup_entropy=False,
        learning_rate=1e-3,
        steps_per_iteration=16,
        utd_ratio=0.5,
        warmup_steps=2000,
        seed=args.seed,
    )
    actor = rf.networks.sac_actor(env, recurrent=recurrent)
    if args.memory:
        config = RecurrentSACConfig(sequence_length=16, burn_in=8, overlap=8, **common)
        return RecurrentSACAgent(actor, env, config), env
    return SACAgent(actor, env, SACConfig(**common)), env


def evaluate(policy, episodes: int, seed: int) -> dict[str, float]:
    env = rf.GymEnv(ENV_ID, num_envs=10, seed=seed)
    statistics = rf.driver.EpisodeStatistics(window=episodes)
    driver = rf.Driver(policy, env, [statistics, rf.driver.SuccessRate()], seed=seed)
    driver.run(episodes=episodes)
    env.close()
    return driver.metrics()


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    agent, env = make_agent(args)
    steps = args.total_steps
    if steps is None:
        steps = 300_000 if args.algo == "ppo" else 60_000
    run_dir = pathlib.Path(args.run_dir)
    kind = "recurrent" if args.memory else "memoryless"
    curve = LearningCurve(title=f"{args.algo.upper()} ({kind}), MemoryMixedAction2D")
    start = time.perf_counter()
    agent.fit(
        steps, callbacks=[ProgressBar(), curve], run_dir=run_dir, seed=args.seed, resume=args.resume
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    final = evaluate(agent.eval_policy, args.eval_episodes, args.seed + 2)
    print(f"training: {wall:.1f} s, {steps / wall:,.0f} env steps/s")
    print(f"learning curve: {curve.path}")
    print(
        f"result: success {final['success_rate']:.1%} of {args.eval_episodes} evaluation episodes "
        f"({args.algo}, {kind}; chance 25%), mean return {final['episode_return']:.2f}"
    )
    env.close()
    return final["success_rate"]


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
