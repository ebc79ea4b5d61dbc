"""Peer run (executed with the peer environment's python from ../shared/peers/setup.sh):
sb3-contrib RecurrentPPO on a velocity-masked classic-control task with the RL Zoo's ppo_lstm
hyperparameters for PendulumNoVel-v1 (4 envs, n_steps 1024, gSDE, LSTM 64, observations
normalised), then 10 deterministic evaluation episodes.

Usage: python sb3_contrib_recurrent_ppo_novel.py STEPS SEED
Prints one line of key=value figures: wall_s, env_steps_per_s, eval_mean_return.
"""

import sys
import time

import numpy as np
import torch
from _pendulum_novel import make_pendulum_novel
from sb3_contrib import RecurrentPPO
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecNormalize
from torch import nn

torch.set_num_threads(1)
steps, seed = int(sys.argv[1]), int(sys.argv[2])


env = VecNormalize(
    make_vec_env(make_pendulum_novel, n_envs=4, seed=seed), norm_obs=True, norm_reward=False
)
model = RecurrentPPO(
    "MlpLstmPolicy",
    env,
    n_steps=1024,
    gae_lambda=0.95,
    gamma=0.9,
    n_epochs=10,
    ent_coef=0.0,
    learning_rate=1e-3,
    clip_range=0.2,
    use_sde=True,
    sde_sample_freq=4,
    policy_kwargs=dict(
        ortho_init=False,
        activation_fn=nn.ReLU,
        lstm_hidden_size=64,
        enable_critic_lstm=True,
        net_arch=dict(pi=[64], vf=[64]),
    ),
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
    state, starts, done, total = None, np.ones((4,), bool), False, 0.0
    while not done:
        action, state = model.predict(
            observation, state=state, episode_start=starts, deterministic=True
        )
        observation, reward, dones, _ = env.step(action)
        total += float(env.get_original_reward()[0])
        starts = dones
        done = bool(dones[0])
    returns.append(total)
print(
    f"sb3-contrib RecurrentPPO PendulumNoVel steps={steps} wall_s={wall:.1f} "
    f"env_steps_per_s={steps / wall:.0f} eval_mean_return={np.mean(returns):.1f}"
)
