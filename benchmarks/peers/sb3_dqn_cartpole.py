"""Peer run (executed with the peer environment's python from ../shared/peers/setup.sh):
Stable-Baselines3 DQN on CartPole-v1 with the RL Zoo's hyperparameters, then 20 deterministic
evaluation episodes.

Usage: python sb3_dqn_cartpole.py STEPS SEED
Prints one line of key=value figures: wall_s, eval_mean_return.
"""

import sys
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN

torch.set_num_threads(1)
steps, seed = int(sys.argv[1]), int(sys.argv[2])

# rl-baselines3-zoo hyperparams/dqn.yml, CartPole-v1 (n_timesteps 5e4)
model = DQN(
    "MlpPolicy",
    gym.make("CartPole-v1"),
    learning_rate=2.3e-3,
    batch_size=64,
    buffer_size=100_000,
    learning_starts=1000,
    gamma=0.99,
    target_update_interval=10,
    train_freq=256,
    gradient_steps=128,
    exploration_fraction=0.16,
    exploration_final_eps=0.04,
    policy_kwargs={"net_arch": [256, 256]},
    seed=seed,
    verbose=0,
    device="cpu",
)


def evaluate() -> float:
    env = gym.make("CartPole-v1")
    returns = []
    for episode in range(20):
        observation, _ = env.reset(seed=seed + 1000 + episode)
        done, total = False, 0.0
        while not done:
            action, _ = model.predict(observation, deterministic=True)
            observation, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


start = time.time()
model.learn(total_timesteps=steps)
wall = time.time() - start
print(f"wall_s={wall:.1f} eval_mean_return={evaluate():.1f}", flush=True)
