"""SAC with a hybrid action on MixedAction2D: discrete axis and done switch, continuous move.

The actor has two `DenseCategorical` heads and a tanh-squashed `DenseNormal` head
(`rf.networks.sac_actor`); the critics take the continuous move with a one-hot code of the
discrete choices, and the soft value sums exactly over the 4 discrete combinations. The discrete
and continuous parts have temperatures of their own. The script prints progress and ends with
the success rate of the deterministic policy (a random policy succeeds about 3% of the time).

    python examples/sac_mixed_action.py --total-steps 50000
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras

import reinforceable as rf
from reinforceable.agents import SACAgent, SACConfig
from reinforceable.training import LearningCurve, ProgressBar

# Two threads per pool: the updates (256x256 MLPs, batch 256) are compute-bound, and run
# about 1.7x faster than with one thread on 2 cores.
rf.training.configure_threads(inter_op=2, intra_op=2)

ENV_ID = "reinforceable/MixedAction2D-v0"


@dataclasses.dataclass(frozen=True)
class Args:
    total_steps: int = 50_000
    """Environment steps to train for, over all environments."""
    num_envs: int = 4
    """Training environments."""
    eval_episodes: int = 500
    """Episodes in the final evaluation, with deterministic actions."""
    seed: int = 0
    """Seed of the weights, the environments and the sampling."""
    run_dir: str = "runs/sac_mixed_action"
    """Checkpoints, progress.csv and the learning curve."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.num_envs <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps, --num-envs and --eval-episodes must be positive")


def evaluate(agent, episodes: int, seed: int) -> float:
    env = rf.GymEnv(ENV_ID, num_envs=10, seed=seed)
    driver = rf.Driver(agent.eval_policy, env, [rf.driver.SuccessRate()], seed=seed)
    driver.run(episodes=episodes)
    env.close()
    return driver.metrics()["success_rate"]


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv(ENV_ID, num_envs=args.num_envs, seed=args.seed)
    config = SACConfig(learning_rate=1e-3, steps_per_iteration=16, seed=args.seed)
    agent = SACAgent(rf.networks.sac_actor(env), env, config)
    before = evaluate(agent, args.eval_episodes, args.seed + 1)
    run_dir = pathlib.Path(args.run_dir)
    curve = LearningCurve(title="SAC, MixedAction2D (hybrid action)")
    agent.fit(args.total_steps, callbacks=[ProgressBar(), curve], run_dir=run_dir, seed=args.seed)
    final = evaluate(agent, args.eval_episodes, args.seed + 2)
    print(f"learning curve: {curve.path}")
    print(
        f"result: success {final:.1%} of {args.eval_episodes} evaluation episodes "
        f"(untrained {before:.1%})"
    )
    env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
