"""Peer run (executed with the peer environment's python from ../shared/peers/setup.sh):
sb3-contrib ARS with a linear policy on a MuJoCo task, observations normalised by VecNormalize
(the RL Zoo's setting), then 10 deterministic evaluation episodes.

Usage: python sb3_contrib_ars.py ENV_ID STEPS SEED N_DELTA N_TOP LEARNING_RATE DELTA_STD
Prints one line of key=value figures: wall_s, env_steps_per_s, eval_mean_return.
"""

import sys
import time

import numpy as np
import torch
from sb3_contrib import ARS
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize

torch.set_num_threads(1)
env_id, steps, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n_delta, n_top = int(sys.argv[4]), int(sys.argv[5])
learning_rate, delta_std = float(sys.argv[6]), float(sys.argv[7])

env = VecNormalize(make_vec_env(env_id, n_envs=1, seed=seed), norm_obs=True, norm_reward=False)
model = ARS(
    "LinearPolicy",
    env,
    n_delta=n_delta,
    n_top=n_top,
    learning_rate=learning_rate,
    delta_std=delta_std,
    seed=seed,
    verbose=0,
    device="cpu",
)
start = time.time()
model.learn(total_timesteps=steps)
wall = time.time() - start

env.training = False
returns = []
for episode in range(10):
    env.seed(10_000 + episode)
    observation = env.reset()
    done, total = False, 0.0
    while not done:
        action, _ = model.predict(observation, deterministic=True)
        observation, reward, dones, _ = env.step(action)
        total += float(env.get_original_reward()[0])
        done = bool(dones[0])
    returns.append(total)
print(
    f"sb3-contrib ARS {env_id} steps={steps} wall_s={wall:.1f} "
    f"env_steps_per_s={steps / wall:.0f} eval_mean_return={np.mean(returns):.1f}"
)
