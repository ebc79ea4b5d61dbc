"""Peer run (executed with the peer environment's python from ../shared/peers/setup.sh):
Stable-Baselines3 TD3 with its HerReplayBuffer on SB3's own continuous BitFlippingEnv, then the
success rate of 100 deterministic evaluation episodes.

SB3's task ends an episode at success (ours runs every episode to `n_bits` steps and counts the
state at the end), which makes its version the easier one.

Usage: python sb3_her_bits.py STEPS SEED N_BITS STRATEGY   (STRATEGY "none": no HER)
Prints one line of key=value figures: wall_s, success_rate.
"""

import sys
import time

import numpy as np
import torch
from stable_baselines3 import TD3, HerReplayBuffer
from stable_baselines3.common.envs import BitFlippingEnv
from stable_baselines3.common.noise import NormalActionNoise

torch.set_num_threads(2)
steps, seed, n_bits, strategy = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
env = BitFlippingEnv(n_bits=n_bits, continuous=True, max_steps=n_bits)
replay = {}
if strategy != "none":
    replay = {
        "replay_buffer_class": HerReplayBuffer,
        "replay_buffer_kwargs": {"n_sampled_goal": 4, "goal_selection_strategy": strategy},
    }
# The settings of benchmarks/her_bits.py's runs of ours.
model = TD3(
    "MultiInputPolicy",
    env,
    learning_rate=1e-3,
    buffer_size=200_000,
    learning_starts=1000,
    batch_size=256,
    gamma=0.95,
    action_noise=NormalActionNoise(np.zeros(n_bits), 0.2 * np.ones(n_bits)),
    policy_kwargs={"net_arch": [256, 256]},
    seed=seed,
    verbose=0,
    device="cpu",
    **replay,
)
start = time.time()
model.learn(total_timesteps=steps)
wall = time.time() - start
successes = []
for episode in range(100):
    observation, _ = env.reset(seed=seed + 1000 + episode)
    done, info = False, {}
    while not done:
        action, _ = model.predict(observation, deterministic=True)
        observation, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    successes.append(float(info.get("is_success", False)))
print(
    f"sb3 TD3 HER={strategy} BitFlipping n_bits={n_bits} steps={steps} wall_s={wall:.1f} "
    f"success_rate={np.mean(successes):.3f}"
)
