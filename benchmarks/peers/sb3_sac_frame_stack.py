"""Peer run (executed with the peer environment's python from ../shared/peers/setup.sh):
Stable-Baselines3 SAC on Pendulum-v1 without its angular velocity, with the usual workaround
for partial observability, a stack of the last 4 observations (VecFrameStack), the RL Zoo's
Pendulum-v1 settings (learning rate 1e-3, otherwise SB3's defaults), then 10 deterministic
evaluation episodes.

Usage: python sb3_sac_frame_stack.py STEPS SEED
Prints one line of key=value figures: wall_s, env_steps_per_s, eval_mean_return.
"""

import sys
import time

import numpy as np
import torch
from _pendulum_novel import make_pendulum_novel
from stable_baselines3 import SAC
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecFrameStack

torch.set_num_threads(1)
steps, seed = int(sys.argv[1]), int(sys.argv[2])


env = VecFrameStack(make_vec_env(make_pendulum_novel, n_envs=1, seed=seed), n_stack=4)
model = SAC("MlpPolicy", env, learning_rate=1e-3, seed=seed, verbose=0, device="cpu")
start = time.time()
model.learn(total_timesteps=steps)
wall = time.time() - start

evaluation = VecFrameStack(make_vec_env(make_pendulum_novel, n_envs=1, seed=10_000), n_stack=4)
returns = []
for _ in range(10):
    observation, done, total = evaluation.reset(), False, 0.0
    while not done:
        action, _ = model.predict(observation, deterministic=True)
        observation, reward, dones, _ = evaluation.step(action)
        total += float(reward[0])
        done = bool(dones[0])
    returns.append(total)
print(
    f"SB3 SAC frame stack 4 PendulumNoVel steps={steps} wall_s={wall:.1f} "
    f"env_steps_per_s={steps / wall:.0f} eval_mean_return={np.mean(returns):.1f}"
)
