"""SAC with a hybrid action on MixedAction2D: discrete axis and done switch, continuous move.

The actor has two `DenseCategorical` heads and a tanh-squashed `DenseNormal` head
(`rf.networks.sac_actor`); the critics take the continuous move with a one-hot code of the
discrete choices, and the soft value sums exactly over the 4 discrete combinations. Each discrete
head and the continuous part have temperatures of their own. The script prints progress and ends
with the success rate of the deterministic policy (a random policy succeeds about 3% of the time).

`--action-mode continuous` is the baseline that peers without hybrid actions are left with: the
same SAC, on the same task, with every discrete part mapped onto a continuous one (a Discrete(2)
choice is the sign of one number in [-1, 1]; a Discrete(n) one the largest of n).

    python examples/sac_mixed_action.py --total-steps 50000
    python examples/sac_mixed_action.py --total-steps 50000 --action-mode continuous
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import gymnasium as gym
import keras
import numpy as np

from reinforceable.agents import SACAgent, SACConfig
from reinforceable.training import LearningCurve, ProgressBar

# Two threads per pool: the updates (256x256 MLPs, batch 256) are compute-bound, and run
# about 1.7x faster than with one thread on 2 cores.
rf.training.configure_threads(inter_op=2, intra_op=2)

ENV_ID = "reinforceable/MixedAction2D-v0"


class DiscreteAsContinuous(gym.ActionWrapper):
    """One `Box` for a `Dict` action of `Discrete` and `Box` parts (the mapped baseline).

    A `Discrete(2)` part becomes one number in [-1, 1] (1 where it is > 0); a `Discrete(n)` part
    n numbers (the largest wins); a `Box` part keeps its bounds.
    """

    def __init__(self, env: gym.Env):
        super().__init__(env)
        if not isinstance(env.action_space, gym.spaces.Dict):
            raise TypeError(
                f"DiscreteAsContinuous: the action space must be a Dict; "
                f"received {env.action_space}."
            )
        self._parts, low, high = [], [], []
        for name, space in env.action_space.spaces.items():
            if isinstance(space, gym.spaces.Discrete):
                width = 1 if space.n == 2 else int(space.n)
                low.append(-np.ones(width))
                high.append(np.ones(width))
            elif isinstance(space, gym.spaces.Box):
                width = int(np.prod(space.shape))
                low.append(space.low.reshape(-1))
                high.append(space.high.reshape(-1))
            else:
                raise TypeError(
                    f"DiscreteAsContinuous: part {name!r} is a {type(space).__name__}; "
                    "expected Discrete or Box."
                )
            self._parts.append((name, space, width))
        self.action_space = gym.spaces.Box(
            np.concatenate(low).astype(np.float32), np.concatenate(high).astype(np.float32)
        )

    def action(self, action):
        result, start = {}, 0
        for name, space, width in self._parts:
            part = np.asarray(action[start : start + width])
            start += width
            if isinstance(space, gym.spaces.Discrete):
                result[name] = int(part[0] > 0) if width == 1 else int(np.argmax(part))
            else:
                result[name] = part.reshape(space.shape).astype(space.dtype)
        return result


@dataclasses.dataclass(frozen=True)
class Args:
    total_steps: int = 50_000
    """Environment steps to train for, over all environments."""
    action_mode: str = "hybrid"
    """`hybrid` (discrete and continuous heads) or `continuous` (the mapped baseline)."""
    num_envs: int = 4
    """Training environments."""
    eval_episodes: int = 500
    """Episodes in the final evaluation, with deterministic actions."""
    seed: int = 0
    """Seed of the weights, the environments and the sampling."""
    run_dir: str = "runs/sac_mixed_action"
    """Checkpoints, progress.csv and the learning curve."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.num_envs <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps, --num-envs and --eval-episodes must be positive")
        if self.action_mode not in ("hybrid", "continuous"):
            raise ValueError(
                f"--action-mode must be 'hybrid' or 'continuous'; received {self.action_mode!r}"
            )


def make_env(action_mode: str, num_envs: int, seed: int) -> rf.GymEnv:
    if action_mode == "hybrid":
        return rf.GymEnv(ENV_ID, num_envs=num_envs, seed=seed)
    return rf.GymEnv([lambda: DiscreteAsContinuous(gym.make(ENV_ID))] * num_envs, seed=seed)


def evaluate(agent, args: Args, seed: int) -> float:
    env = make_env(args.action_mode, 10, seed)
    driver = rf.Driver(agent.eval_policy, env, [rf.driver.SuccessRate()], seed=seed)
    driver.run(episodes=args.eval_episodes)
    env.close()
    return driver.metrics()["success_rate"]


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = make_env(args.action_mode, args.num_envs, args.seed)
    # The "done" switch ends the episode, so an entropy bonus in the critics' target would make
    # never pressing it pay more than the task (the survival bias): keep it in the actor only.
    config = SACConfig(
        learning_rate=1e-3, steps_per_iteration=16, backup_entropy=False, seed=args.seed
    )
    agent = SACAgent(rf.networks.sac_actor(env), env, config)
    before = evaluate(agent, args, args.seed + 1)
    run_dir = pathlib.Path(args.run_dir)
    curve = LearningCurve(title=f"SAC, MixedAction2D ({args.action_mode} action)")
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), curve],
        run_dir=run_dir,
        resume=args.resume,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    final = evaluate(agent, args, args.seed + 2)
    print(f"training: {wall:.1f} s, {args.total_steps / wall:,.0f} env steps/s")
    print(f"learning curve: {curve.path}")
    print(
        f"result: success {final:.1%} of {args.eval_episodes} evaluation episodes "
        f"({args.action_mode} action; untrained {before:.1%})"
    )
    env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
