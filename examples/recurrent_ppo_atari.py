"""Recurrent PPO on Atari (Pong by default): a CNN and a GRU, standard Atari preprocessing.

The games run in ale-py's C++ vector environment (`rf.envs.atari_env`), which does the standard
preprocessing in C++ threads: no-op starts, frame skip 4 with max-pooling, 84x84 grayscale, a
stack of the last 4 frames, rewards clipped to their sign (the settings of the RL Zoo and of
sb3-contrib's CnnLstmPolicy); `--backend gymnasium` uses gymnasium's Python wrappers instead.
The policy is the Nature CNN applied to every step (`rf.layers.FoldTime`), a GRU and a
categorical head; the critic shares the torso.
Hyperparameters are the RL Zoo's for Atari (128 steps per rollout, 4 epochs, clip 0.1, entropy
0.01, learning rate 2.5e-4); minibatches hold 32-step sequences, each replayed from the GRU
state recorded when it was collected (`--sequence-length 128`: whole rollouts, as sb3-contrib).

Pong needs about 10M steps to be won; the default budget is a short demonstration. The script
prints progress and ends with the evaluation return of the deterministic policy.

    pip install -e ".[atari]"
    python examples/recurrent_ppo_atari.py --total-steps 100000 --env-id ALE/Breakout-v5
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import reinforceable as rf  # noqa: I001 (first: TensorFlow then starts quietly)
import keras
import numpy as np

from reinforceable.agents import PPOConfig, RecurrentPPOAgent
from reinforceable.training import Evaluation, LearningCurve, ProgressBar, TensorBoard

# Convolutions train faster with two threads per op on two cores.
rf.training.configure_threads(inter_op=2, intra_op=2)


@dataclasses.dataclass(frozen=True)
class Args:
    env_id: str = "ALE/Pong-v5"
    """An ALE id (ale-py)."""
    total_steps: int = 100_000
    """Environment steps (agent steps, 4 frames each) over all environments."""
    num_envs: int = 8
    """Training environments."""
    num_steps: int = 128
    """Steps per environment in each rollout."""
    sequence_length: int = 32
    """Steps per replayed sequence in the updates, each from the GRU state recorded when it was
    collected (truncated back-propagation through time); must divide `num_steps`. Shorter
    sequences make more of them per minibatch and fewer sequential GRU steps."""
    units: int = 256
    """Units of the GRU."""
    cnn_dtype: str = "float32"
    """Keras dtype policy of the CNN's layers: "float32", or "mixed_bfloat16" (bfloat16
    arithmetic, float32 weights; about 1.45x faster minibatch steps on CPUs with AMX-BF16; the GRU
    and the heads stay float32)."""
    backend: str = "ale"
    """"ale" (ale-py's C++ vector env) or "gymnasium" (gymnasium's Python wrappers)."""
    asynchronous: bool = False
    """With the gymnasium backend, step the environments in worker processes."""
    eval_every: int = 25
    """Iterations between evaluations."""
    eval_episodes: int = 4
    """Episodes per evaluation; 0 turns evaluation off."""
    seed: int = 0
    """Seed of the weights, the environments and the sampling."""
    run_dir: str = "runs/recurrent_ppo_atari"
    """Checkpoints, progress.csv, TensorBoard logs and the learning curve."""
    resume: bool = True
    """Continue from the last checkpoint in `run_dir` when rerun (false: start afresh)."""

    def __post_init__(self):
        if self.cnn_dtype not in ("float32", "mixed_bfloat16"):
            raise ValueError(
                f"--cnn-dtype must be float32 or mixed_bfloat16; received {self.cnn_dtype!r}"
            )
        if min(self.total_steps, self.num_envs, self.num_steps) <= 0 or self.eval_episodes < 0:
            raise ValueError("budgets and counts must be positive (--eval-episodes may be 0)")


def make_env(args: Args, num_envs: int, seed: int) -> rf.GymEnv:
    """Preprocessed games: [4, 84, 84] uint8 frames, rewards clipped to their sign."""
    options = {"asynchronous": True} if args.asynchronous else {}
    return rf.envs.atari_env(args.env_id, num_envs, seed=seed, backend=args.backend, **options)


def make_policy(env: rf.GymEnv, units: int, cnn_dtype: str = "float32") -> keras.Model:
    frames = keras.Input((None, *env.observation_space.shape), dtype="uint8", name="observation")
    episode_start = keras.Input((None,), dtype="bool", name="episode_start")
    relu = {
        "activation": "relu",
        "kernel_initializer": keras.initializers.Orthogonal(np.sqrt(2)),
        "dtype": cnn_dtype,
    }
    nature_cnn = keras.Sequential(
        [
            keras.layers.Rescaling(1.0 / 255.0, dtype=cnn_dtype),
            keras.layers.Permute((2, 3, 1)),  # [4, 84, 84] -> [84, 84, 4], channels last
            keras.layers.Conv2D(32, 8, strides=4, **relu),
            keras.layers.Conv2D(64, 4, strides=2, **relu),
            keras.layers.Conv2D(64, 3, strides=1, **relu),
            keras.layers.Flatten(),
            keras.layers.Dense(512, **relu),
        ],
        name="nature_cnn",
    )
    features = rf.layers.FoldTime(nature_cnn)(frames)
    rnn = rf.StatefulRNN("gru", units, name="rnn")
    state = rnn.state_inputs()  # the GRU state goes in and out of the model explicitly
    hidden, final = rnn(features, reset_mask=episode_start, initial_state=state, return_state=True)
    action = rf.DenseCategorical(int(env.action_space.n), name="action")(hidden)
    value = keras.layers.Dense(1, name="value")(hidden)
    value = keras.layers.Reshape((-1,))(value)
    return keras.Model(
        {"observation": frames, "episode_start": episode_start, "state": {"rnn": state}},
        {"action": action, "value": value, "state": {"rnn": list(final)}},
        name="atari_policy",
    )


def make_agent(args: Args) -> RecurrentPPOAgent:
    keras.utils.set_random_seed(args.seed)
    env = make_env(args, args.num_envs, args.seed)
    config = PPOConfig(
        num_steps=args.num_steps,
        batch_size=2 * args.num_steps,
        sequence_length=args.sequence_length,
        num_epochs=4,
        learning_rate=rf.ops.LinearSchedule(2.5e-4),
        clip_range=0.1,
        entropy_coef=0.01,
        value_coef=0.5,
        normalize_advantages=True,  # the RL Zoo's (SB3's)
        seed=args.seed,
    )
    return RecurrentPPOAgent(make_policy(env, args.units, args.cnn_dtype), env, config)


def main(args: Args) -> float:
    agent = make_agent(args)
    callbacks = [ProgressBar(print_every=1), TensorBoard()]
    eval_env = None
    if args.eval_episodes:
        eval_env = make_env(args, 2, args.seed + 10_000)
        callbacks.append(Evaluation(eval_env, every=args.eval_every, episodes=args.eval_episodes))
    run_dir = pathlib.Path(args.run_dir)
    curve = LearningCurve(title=f"Recurrent PPO, {args.env_id}")
    start = time.perf_counter()
    history = agent.fit(
        args.total_steps,
        callbacks=[*callbacks, curve],
        run_dir=run_dir,
        seed=args.seed,
        resume=args.resume,
    )
    wall = time.perf_counter() - start
    steps = history[-1]["env_steps"] - history[0]["env_steps"] + agent.rollout_steps
    print(f"training: {wall:.1f} s, {steps / wall:,.0f} env steps/s")
    print(f"learning curve: {curve.path}")
    final = rf.training.final_metric(history, "eval/episode_return")
    print(
        f"result: evaluation return {final:.1f} over {args.eval_episodes} episodes after "
        f"{int(history[-1]['env_steps']):,} steps (training return "
        f"{rf.training.final_metric(history, 'charts/episode_return'):.1f})"
    )
    agent.env.close()
    if eval_env is not None:
        eval_env.close()
    return final


if __name__ == "__main__":
    main(rf.training.parse_args(Args, __doc__.split("\n\n")[0]))
