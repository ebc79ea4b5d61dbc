"""SAC or TD3 with hindsight experience replay on FetchReach-v4 (gymnasium-robotics).

The Fetch arm must bring its gripper within 5 cm of a goal drawn anew each episode, and the
reward is -1 at every step where it is not there: a random policy almost never sees a 0, so
the critics learn nothing from the rewards as collected. Hindsight replay
(`hindsight="future"`) stores whole episodes and, when sampling, gives 4 in 5 transitions a goal
the arm actually reached later in the same episode, with the reward from the task's own
`compute_reward`; the observations (`observation`, `achieved_goal`, `desired_goal`) are each
normalised with running statistics (`normalize_observations=True`). The settings are the
presets `sac-her-fetchreach` and `td3-her-fetchreach` (the RL Zoo's for FetchReach). The script
prints the success rate of the deterministic policy as it trains and ends with the final one.

Measured (`python benchmarks/her_fetch_reach.py`, `media/her_fetch_reach.md`): see the presets.
Needs the `robotics` extra: `pip install -e ".[robotics]"`.

    python examples/her_fetch_reach.py                 # SAC, 10k steps, a few minutes
    python examples/her_fetch_reach.py --algo td3
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.commands.presets import get_preset
from reinforceable.training import Evaluation, ProgressBar

rf.training.configure_threads(inter_op=2, intra_op=2)
ENV_ID = "FetchReach-v4"


@dataclasses.dataclass(frozen=True)
class Args:
    algo: str = "sac"
    """sac or td3 (the preset `<algo>-her-fetchreach`)."""
    total_steps: int = 10_000
    """Environment steps to train for."""
    strategy: str = "future"
    """The hindsight goals: future, final or episode (none: no hindsight replay)."""
    eval_every: int = 125
    """Iterations (8 steps each) between evaluations."""
    eval_episodes: int = 20
    """Episodes per evaluation, with the deterministic policy."""
    seed: int = 0
    """Seed of the weights, the environment and the sampling."""
    run_dir: str = "runs/her_fetch_reach"
    """Checkpoints, progress.csv and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps and --eval-episodes must be positive")
        if self.algo not in ("sac", "td3"):
            raise ValueError(f"--algo must be sac or td3; got {self.algo!r}")
        if self.strategy not in ("future", "final", "episode", "none"):
            raise ValueError(
                f"--strategy must be future, final, episode or none; got {self.strategy!r}"
            )


def main(args: Args) -> float:
    preset = get_preset(f"{args.algo}-her-fetchreach")
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv(ENV_ID, num_envs=preset.num_envs, seed=args.seed,
                    infos={"is_success": "bool"})  # fmt: skip
    eval_env = rf.GymEnv(ENV_ID, num_envs=5, seed=args.seed + 10_000,
                         infos={"is_success": "bool"})  # fmt: skip
    hindsight = None if args.strategy == "none" else args.strategy
    config = preset.make_config(args.seed, {"hindsight": hindsight})
    agent_class = rf.agents.SACAgent if args.algo == "sac" else rf.agents.TD3Agent
    agent = agent_class(preset.make_network(env.spec), env, config)
    evaluation = Evaluation(eval_env, every=args.eval_every, episodes=args.eval_episodes)
    run_dir = pathlib.Path(args.run_dir)
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(print_every=args.eval_every), evaluation],
        run_dir=run_dir,
        resume=args.resume,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    final = evaluation.evaluate_policy(agent.eval_policy)
    print(f"training: {wall:.1f} s, {args.total_steps / wall:,.0f} env steps/s")
    print(
        f"result: success rate {final['eval/success_rate']:.0%}, evaluation return "
        f"{final['eval/episode_return']:.1f} over {args.eval_episodes} episodes (deterministic "
        f"policy, {int(agent.env_steps.numpy()):,} training steps)"
    )
    env.close()
    eval_env.close()
    return final["eval/success_rate"]


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
