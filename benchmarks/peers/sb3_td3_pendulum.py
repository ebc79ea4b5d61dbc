"""Peer run (executed with the peer environment's python from ../shared/peers/setup.sh):
Stable-Baselines3 TD3 on Pendulum-v1 with the RL Zoo's hyperparameters, then 20 deterministic
evaluation episodes.

Usage: python sb3_td3_pendulum.py STEPS SEED
Prints one line of key=value figures: wall_s, updates, eval_mean_return.
"""

import sys
import time

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import TD3
from stable_baselines3.common.noise import NormalActionNoise

torch.set_num_threads(2)
steps, seed = int(sys.argv[1]), int(sys.argv[2])
env = gym.make("Pendulum-v1")

# rl-baselines3-zoo hyperparams/td3.yml, Pendulum-v1 (n_timesteps 2e4): one gradient step per
# env step of each finished episode, after 10k random steps.
model = TD3(
    "MlpPolicy",
    env,
    learning_rate=1e-3,
    buffer_size=200_000,
    learning_starts=10_000,
    gamma=0.98,
    train_freq=(1, "episode"),
    gradient_steps=-1,
    action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
    policy_kwargs={"net_arch": [400, 300]},
    seed=seed,
    verbose=0,
    device="cpu",
)
start = time.time()
model.learn(total_timesteps=steps)
wall = time.time() - start
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
print(
    f"sb3 TD3 Pendulum-v1 steps={steps} wall_s={wall:.1f} updates={model._n_updates} "
    f"eval_mean_return={np.mean(returns):.1f}"
)
