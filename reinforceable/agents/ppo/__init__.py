"""Recurrent PPO: `RecurrentPPOAgent`, `PPOConfig` and the loss."""

from reinforceable.agents.ppo.agent import RecurrentPPOAgent, TrainingDivergedError
from reinforceable.agents.ppo.config import PPOConfig
from reinforceable.agents.ppo.losses import PPOBatch, ppo_loss

__all__ = ["PPOBatch", "PPOConfig", "RecurrentPPOAgent", "TrainingDivergedError", "ppo_loss"]
