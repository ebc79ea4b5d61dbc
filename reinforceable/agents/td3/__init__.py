"""TD3 and DDPG: `TD3Agent`, `DDPGAgent`, their configs, their acting side and their losses."""

from reinforceable.agents.td3.actor import ExplorationNoise, TD3Actor
from reinforceable.agents.td3.agent import DDPGAgent, TD3Agent
from reinforceable.agents.td3.config import DDPGConfig, TD3Config
from reinforceable.agents.td3.losses import deterministic_policy_loss, smoothed_target_action

__all__ = [
    "DDPGAgent",
    "DDPGConfig",
    "ExplorationNoise",
    "TD3Actor",
    "TD3Agent",
    "TD3Config",
    "deterministic_policy_loss",
    "smoothed_target_action",
]
