"""TD3 on MountainCarContinuous-v0, exploring through noisy layers instead of action noise.

The flag pays +100 once reached, and every step costs a little force, so an actor that explores
with small independent noise per step learns to stand still. Here the actor's hidden layers and
its output head are `rf.layers.NoisyDense` ones (`sac_actor(env, noisy=True)`) and the agent adds
no action noise (`exploration="none"`): each environment acts with weights perturbed by its own
noise, drawn at its episode starts and held for the episode, so its pushes are coherent in time,
the way gSDE's are. The noise scales stay fixed and the learner updates the means
(`noisy_learn_sigma=False`, parameter-space noise): TD3's actor loss would otherwise learn to
silence the noise before the flag is ever found. Observations are normalised (the car's
velocity is at most 0.07, which the noise would barely see otherwise). The settings are the
preset `td3-noisy-mountaincar`: 90.9-93.1 on seeds 0-4 at 50k steps (the same agent with
Gaussian action noise solved 1 of 5), `media/td3_noisy_mountaincar.md`.
`--exploration gaussian` runs the same agent with plain layers and Gaussian action noise
instead, for comparison. The script evaluates the deterministic policy (the layers' means) and
ends with its return (90 or more is solved).

    python examples/td3_noisy_mountaincar.py
    python examples/td3_noisy_mountaincar.py --exploration gaussian
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras

from reinforceable.agents import TD3Agent
from reinforceable.commands.presets import get_preset
from reinforceable.training import Evaluation, ProgressBar

rf.training.configure_threads(inter_op=1, intra_op=1)  # small networks: the env step dominates
PRESET = get_preset("td3-noisy-mountaincar")


@dataclasses.dataclass(frozen=True)
class Args:
    total_steps: int = PRESET.steps
    """Environment steps to train for (over the preset's 4 environments)."""
    exploration: str = "noisy"
    """noisy (the preset: NoisyDense layers, no action noise) or gaussian (plain layers and
    Gaussian action noise)."""
    action_std: float = 0.5
    """σ of the Gaussian action noise (with --exploration gaussian), in half-ranges."""
    eval_every: int = 10
    """Iterations (1,000 steps each) between evaluations."""
    eval_episodes: int = 10
    """Episodes per evaluation, with the deterministic policy."""
    seed: int = 0
    """Seed of the weights, the environment, the noise and the sampling."""
    run_dir: str = "runs/td3_noisy_mountaincar"
    """Checkpoints, progress.csv and the saved agent."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.total_steps <= 0 or self.eval_episodes <= 0:
            raise ValueError("--total-steps and --eval-episodes must be positive")
        if self.exploration not in ("noisy", "gaussian"):
            raise ValueError(f"--exploration must be noisy or gaussian; got {self.exploration!r}")


def main(args: Args) -> float:
    keras.utils.set_random_seed(args.seed)
    env = rf.GymEnv(PRESET.env_id, num_envs=PRESET.num_envs, seed=args.seed)
    eval_env = rf.GymEnv(PRESET.env_id, num_envs=5, seed=args.seed + 10_000)
    config_changes, network_changes = {}, {}
    if args.exploration == "gaussian":
        config_changes = {"exploration": "gaussian", "exploration_std": args.action_std}
        network_changes = {"noisy": False}
    model = PRESET.make_network(env.spec, network_changes)
    agent = TD3Agent(model, env, PRESET.make_config(args.seed, config_changes))
    evaluation = Evaluation(eval_env, every=args.eval_every, episodes=args.eval_episodes)
    run_dir = pathlib.Path(args.run_dir)
    start = time.perf_counter()
    agent.fit(
        args.total_steps,
        callbacks=[ProgressBar(), evaluation],
        run_dir=run_dir,
        resume=args.resume,
        seed=args.seed,
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    final = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    print(f"training: {wall:.1f} s, {args.total_steps / wall:,.0f} env steps/s")
    print(
        f"result: evaluation return {final:.1f} over {args.eval_episodes} episodes "
        f"(deterministic policy, {int(agent.env_steps.numpy()):,} training steps)"
    )
    env.close()
    eval_env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
