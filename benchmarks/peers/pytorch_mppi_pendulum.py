"""Peer run (executed with the peer environment's python from ../shared/peers/setup.sh):
pytorch-mppi on Pendulum-v1 from gymnasium's own random initial states, one episode per reset
seed, with the same dynamics and cost as `../shared/peers/mppi_pendulum_latency.py` (which
measures latency and the swing-up from hanging).

Usage: python pytorch_mppi_pendulum.py K H NOISE_SIGMA FIRST_SEED LAST_SEED
Prints one line of key=value figures: mean_return, and return_<seed> for each seed.
"""

import math
import sys

import gymnasium as gym
import numpy as np
import torch
from pytorch_mppi import MPPI

torch.set_num_threads(2)
K, H, SIGMA = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
FIRST, LAST = int(sys.argv[4]), int(sys.argv[5])
g, m, length, dt, max_speed, max_torque = 10.0, 1.0, 1.0, 0.05, 8.0, 2.0


def dynamics(state, u):
    th, thdot = state[:, 0:1], state[:, 1:2]
    u = torch.clamp(u, -max_torque, max_torque)
    newthdot = thdot + (3 * g / (2 * length) * torch.sin(th) + 3.0 / (m * length**2) * u) * dt
    newthdot = torch.clamp(newthdot, -max_speed, max_speed)
    return torch.cat((th + newthdot * dt, newthdot), dim=1)


def running_cost(state, action):
    th, thdot = state[:, 0], state[:, 1]
    normalized = ((th + math.pi) % (2 * math.pi)) - math.pi
    return normalized**2 + 0.1 * thdot**2 + 0.001 * action[:, 0] ** 2


returns = {}
for seed in range(FIRST, LAST + 1):
    torch.manual_seed(seed)
    ctrl = MPPI(
        dynamics, running_cost, 2, torch.tensor([[SIGMA]], dtype=torch.double),
        num_samples=K, horizon=H, lambda_=1.0,
        u_min=torch.tensor([-2.0], dtype=torch.double),
        u_max=torch.tensor([2.0], dtype=torch.double), device="cpu",
    )  # fmt: skip
    env = gym.make("Pendulum-v1")
    env.reset(seed=seed)
    total = 0.0
    for _ in range(200):
        action = ctrl.command(torch.tensor(env.unwrapped.state.copy(), dtype=torch.double))
        _, reward, _, _, _ = env.step(action.numpy().reshape(1))
        total += reward
    returns[seed] = total
figures = " ".join(f"return_{seed}={value:.1f}" for seed, value in returns.items())
print(f"pytorch-mppi K={K} H={H} mean_return={np.mean(list(returns.values())):.1f} {figures}")
