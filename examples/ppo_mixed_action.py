"""PPO with a hybrid action: choose an axis and when to stop (discrete), and how far to move
(continuous), in the MixedAction2D arena.

Each step the policy picks `axis` (x or y) and `done` (signal arrival) with `DenseCategorical`
heads and the signed `move` along that axis with a bounded `DenseNormal` head, all from one Keras
model; `rf.Joint` makes them one action distribution, so PPO's ratio and entropy cover the whole
hybrid action. An episode succeeds when the agent signals `done` inside the target zone. The script
prints progress, and ends with the success rate of the deterministic policy over `--eval-episodes`
episodes (a random policy succeeds in about 3% of them).

    python examples/ppo_mixed_action.py --total-steps 1000000
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.agents import RecurrentPPOAgent
from reinforceable.commands.presets import get_preset
from reinforceable.training import LearningCurve, ProgressBar

rf.training.configure_threads(inter_op=1, intra_op=1)

ENV_ID = "reinforceable/MixedAction2D-v0"


@dataclasses.dataclass(frozen=True)
class Args:
    total_steps: int = 1_000_000
    """Environment steps to train for, over all environments."""
    num_envs: int = 16
    """Training environments."""
    eval_episodes: int = 1000
    """Episodes in the final evaluation, with deterministic actions."""
    seed: int = 0
    """Seed of the weights, the environments and the sampling."""
    run_dir: str = "runs/ppo_mixed_action"
    """Checkpoints, progress.csv, the learning curve and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.num_envs <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps, --num-envs and --eval-episodes must be positive")


def make_policy(env: rf.GymEnv) -> keras.Model:
    """One torso, three heads: {"axis": Categorical, "done": Categorical, "move": Normal}."""
    observation = keras.Input(env.observation_space.shape, name="observation")
    x = observation
    for units in (64, 64):
        x = keras.layers.Dense(units, activation="tanh")(x)
    move_bounds = [float(env.action_space["move"].low[0]), float(env.action_space["move"].high[0])]
    action = {
        "axis": rf.DenseCategorical(2, name="axis")(x),
        "done": rf.DenseCategorical(2, name="done")(x),
        "move": rf.DenseNormal((1,), output_bounds=move_bounds, name="move")(x),
    }
    critic = observation
    for units in (64, 64):
        critic = keras.layers.Dense(units, activation="tanh")(critic)
    value = keras.layers.Reshape(())(keras.layers.Dense(1, name="value")(critic))
    return keras.Model(observation, {"action": action, "value": value}, name="hybrid_policy")


def evaluate(agent: RecurrentPPOAgent, episodes: int, seed: int) -> dict[str, float]:
    env = rf.GymEnv(ENV_ID, num_envs=10, seed=seed)
    statistics = rf.driver.EpisodeStatistics(window=episodes)
    driver = rf.Driver(agent.eval_policy, env, [statistics, rf.driver.SuccessRate()], seed=seed)
    driver.run(episodes=episodes)
    env.close()
    return driver.metrics()


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv(ENV_ID, num_envs=args.num_envs, seed=args.seed)
    # The preset `ppo-mixed-action`'s settings (`python -m reinforceable presets`), with the
    # model built by hand here; `rf.networks.actor_critic(env)` builds a similar one.
    config = get_preset("ppo-mixed-action").make_config(args.seed)
    agent = RecurrentPPOAgent(make_policy(env), env, config)
    before = evaluate(agent, args.eval_episodes, args.seed + 1)["success_rate"]
    print(f"untrained policy: success {before:.1%}")
    run_dir = pathlib.Path(args.run_dir)
    curve = LearningCurve(title="PPO, MixedAction2D (hybrid action)")
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), curve],
        run_dir=run_dir,
        seed=args.seed,
        resume=args.resume,
    )
    agent.save(run_dir / "agent")
    final = evaluate(agent, args.eval_episodes, args.seed + 2)
    print(f"learning curve: {curve.path}")
    print(
        f"result: success {final['success_rate']:.1%} of {args.eval_episodes} evaluation episodes "
        f"(untrained {before:.1%}), mean return {final['episode_return']:.2f}"
    )
    env.close()
    return final["success_rate"]


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
