"""Peer run (executed with the robotics peer environment's python, `benchmarks/_peers.py`):
Stable-Baselines3 SAC or TD3 with its HerReplayBuffer on FetchReach-v4 with the RL Zoo's
FetchReach settings (future goals, 4 per transition, normalised observations, γ 0.95, 64x64),
then the success rate of 20 deterministic evaluation episodes.

Usage: python sb3_her_fetch_reach.py STEPS SEED ALGO   (ALGO: sac or td3)
Prints one line of key=value figures: wall_s, success_rate.
"""

import sys
import time

import gymnasium as gym
import gymnasium_robotics
import numpy as np
import torch
from stable_baselines3 import SAC, TD3, HerReplayBuffer
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

gym.register_envs(gymnasium_robotics)
torch.set_num_threads(2)
steps, seed, algo = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
env = VecNormalize(DummyVecEnv([lambda: gym.make("FetchReach-v4")]), norm_reward=False)
env.seed(seed)
extra = {}
if algo == "td3":
    extra["action_noise"] = NormalActionNoise(np.zeros(4), 0.1 * np.ones(4))
model = (SAC if algo == "sac" else TD3)(
    "MultiInputPolicy",
    env,
    learning_rate=1e-3,
    buffer_size=1_000_000,
    learning_starts=1000,
    batch_size=256,
    gamma=0.95,
    replay_buffer_class=HerReplayBuffer,
    replay_buffer_kwargs={"n_sampled_goal": 4, "goal_selection_strategy": "future"},
    policy_kwargs={"net_arch": [64, 64]},
    seed=seed,
    verbose=0,
    device="cpu",
    **extra,
)
start = time.time()
model.learn(total_timesteps=steps)
wall = time.time() - start
env.training = False
successes = []
for episode in range(20):
    env.seed(seed + 1000 + episode)
    observation = env.reset()
    done = False
    while not done:
        action, _ = model.predict(observation, deterministic=True)
        observation, _, dones, infos = env.step(action)
        done = bool(dones[0])
    successes.append(float(infos[0].get("is_success", 0.0)))
print(
    f"sb3 {algo.upper()} HER FetchReach-v4 steps={steps} wall_s={wall:.1f} "
    f"success_rate={np.mean(successes):.3f}"
)
