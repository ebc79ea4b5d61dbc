"""Analytic-gradient policy search: learn Pendulum's swing-up through its differentiable model.

The policy (an MLP with a tanh-squashed Gaussian head) acts in `rf.models.Pendulum`, a pure-TF
copy of gymnasium's Pendulum-v1 dynamics and reward. Each iteration backpropagates the return of
a batch of model rollouts through the dynamics into the policy (SHAC: short windows, a learned
terminal value, rollouts that carry on across iterations). No real environment step is taken
during training; the script then evaluates the deterministic policy on the real gymnasium
Pendulum-v1 and ends with its mean return (about -150 is solved; random is about -1200).

With `--observation angle`, the model shows the policy the angle's cosine and sine only
(`rf.models.PartiallyObserved`): the policy is then a GRU (`rf.networks.sac_actor(...,
recurrent="gru")`) that infers the velocity, back-propagated through time along the rollouts,
and it is evaluated on the matching real task, `reinforceable/PendulumNoVel-v1`.

    python examples/policy_search_pendulum.py
    python examples/policy_search_pendulum.py --observation angle --total-steps 2000000
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras
import tensorflow as tf

from reinforceable.agents import AnalyticPolicySearch, AnalyticPolicySearchConfig
from reinforceable.training import Evaluation, LearningCurve, ProgressBar

rf.training.configure_threads(inter_op=2, intra_op=2)


@dataclasses.dataclass(frozen=True)
class Args:
    total_steps: int = 5_000_000
    """Model steps to train for (no real environment step is used)."""
    horizon: int = 32
    """Steps per backpropagation window."""
    num_rollouts: int = 64
    """Model rollouts in parallel."""
    observation: str = "full"
    """"full" (cos, sin, velocity: an MLP policy) or "angle" (cos, sin: a recurrent policy)."""
    learning_rate: float = 1e-3
    """Adam learning rate of the policy and the value function."""
    eval_episodes: int = 100
    """Episodes of the final evaluation on the real Pendulum-v1."""
    seed: int = 0
    """Seed of the weights, the model's initial states and the evaluation."""
    run_dir: str = "runs/policy_search_pendulum"
    """Checkpoints, progress.csv, the learning curve and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps and --eval-episodes must be positive")
        if self.observation not in ("full", "angle"):
            raise ValueError(f"--observation must be full or angle; received {self.observation}")


def pendulum_policy(hidden=(64, 64)) -> keras.Model:
    observation = keras.Input((3,), name="observation")
    x = observation
    for units in hidden:
        x = keras.layers.Dense(units, activation="tanh")(x)
    head = rf.DenseNormal(1, output_bounds=[-2.0, 2.0], hard_bounds=True, initial_scale=0.5)
    return keras.Model(observation, head(x), name="pendulum_policy")


def angle_only(state):
    """The pendulum's observation without its velocity: `[cos θ, sin θ]`."""
    return tf.stack([tf.cos(state[..., 0]), tf.sin(state[..., 0])], -1)


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    config = AnalyticPolicySearchConfig(
        horizon=args.horizon,
        episode_length=200,
        num_rollouts=args.num_rollouts,
        learning_rate=args.learning_rate,
        terminal_value=True,
        seed=args.seed,
    )
    if args.observation == "full":
        eval_env = rf.GymEnv("Pendulum-v1", num_envs=10, seed=args.seed + 10_000)
        model, policy = rf.models.Pendulum(), pendulum_policy()
    else:
        eval_env = rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=10, seed=args.seed + 10_000)
        model = rf.models.PartiallyObserved(rf.models.Pendulum(), observe=angle_only)
        policy = rf.networks.sac_actor(
            eval_env, hidden=(64, 64), activation="tanh", recurrent="gru", units=64, embedding=64
        )
    agent = AnalyticPolicySearch(policy, model, config, env=eval_env)
    run_dir = pathlib.Path(args.run_dir)
    curve = LearningCurve(title="Analytic policy search, Pendulum model")
    start = time.perf_counter()
    agent.fit(
        args.total_steps, callbacks=[ProgressBar(), curve], run_dir=run_dir, resume=args.resume
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    evaluation = Evaluation(eval_env, episodes=args.eval_episodes)
    final = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    print(f"training: {wall:.1f} s for {args.total_steps:,} model steps")
    print(f"learning curve: {curve.path}")
    print(
        f"result: evaluation return {final:.1f} over {args.eval_episodes} episodes of the real "
        f"{eval_env.spec.env_id} (deterministic policy)"
    )
    eval_env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
