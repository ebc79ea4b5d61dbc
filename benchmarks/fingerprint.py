"""Fingerprints of short, seeded training runs: a hash of every learned weight after training.

A refactoring that does not change the arithmetic leaves each fingerprint bit-identical; run it
on both sides of a change with `before_after.py`:

    python benchmarks/before_after.py --base main~5 -- benchmarks/fingerprint.py

Each run uses one TF thread per pool (reductions in a fixed order) and the public API only
(`agent.fit`, `agent.saved_models()`, `agent.checkpoint_items()`), so that it runs on earlier
commits too. The runs: PPO on CartPole-v1 (4 envs, 4,096 steps), recurrent PPO (GRU) on
CartPole-v1 (2,048 steps), SAC on Pendulum-v1 (1,000 steps: 900 updates), recurrent SAC on
reinforceable/PendulumNoVel-v1 (600 steps), ARS on Pendulum-v1 (2 iterations).
"""

from __future__ import annotations

import argparse
import hashlib

import keras
import numpy as np
import tensorflow as tf

import reinforceable as rf
from reinforceable import agents

RUNS = ("ppo", "rppo", "sac", "rsac", "ars")


def _make(name: str, seed: int):
    if name in ("ppo", "rppo"):
        env = rf.GymEnv("CartPole-v1", num_envs=4, seed=seed)
        recurrent = "gru" if name == "rppo" else None
        model = rf.networks.actor_critic(env, recurrent=recurrent)
        length = 32 if recurrent else None
        config = agents.PPOConfig(num_steps=128, sequence_length=length, seed=seed)
        return agents.RecurrentPPOAgent(model, env, config), env, 4096 if name == "ppo" else 2048
    if name == "sac":
        env = rf.GymEnv("Pendulum-v1", num_envs=1, seed=seed)
        config = agents.SACConfig(steps_per_iteration=50, seed=seed)
        return agents.SACAgent(rf.networks.sac_actor(env), env, config), env, 1000
    if name == "rsac":
        env = rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=1, seed=seed)
        actor = rf.networks.sac_actor(env, recurrent="gru")
        config = agents.RecurrentSACConfig(steps_per_iteration=64, batch_size=8, seed=seed)
        return agents.RecurrentSACAgent(actor, env, config), env, 640
    env = rf.GymEnv("Pendulum-v1", num_envs=8, seed=seed)
    config = agents.ARSConfig(num_directions=4, top_directions=2, seed=seed)
    return agents.ARSAgent(env, config), env, 2 * 8 * 200


def fingerprint(name: str, seed: int) -> tuple[str, int]:
    keras.utils.set_random_seed(seed)
    agent, _, steps = _make(name, seed)
    agent.fit(steps, seed=seed)
    digest = hashlib.sha256()
    arrays = []
    for model_name, model in sorted(agent.saved_models().items()):
        arrays += [(f"{model_name}/{i}", w) for i, w in enumerate(model.get_weights())]
    for key, item in sorted(agent.checkpoint_items().items()):
        if isinstance(item, tf.Variable):
            arrays.append((key, item.numpy()))
        elif isinstance(item, keras.Model):
            arrays += [(f"{key}/{i}", w) for i, w in enumerate(item.get_weights())]
    for key, array in arrays:
        digest.update(key.encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16], int(agent.env_steps.numpy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", choices=RUNS, default=list(RUNS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rf.training.configure_threads(1, 1)
    rows = []
    for name in args.runs:
        digest, steps = fingerprint(name, args.seed)
        rows.append(f"| {name} | {args.seed} | {steps:,} | `{digest}` |")
        print(rows[-1], flush=True)
    print("\n| run | seed | env steps | sha256 of the weights (first 16) |\n|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
