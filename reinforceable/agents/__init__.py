"""Agents: learners that improve a policy from the Driver's trajectories."""

from reinforceable.agents.errors import TrainingDivergedError
from reinforceable.agents.ppo import PPOConfig, RecurrentPPOAgent
from reinforceable.agents.sac import SACAgent, SACConfig

__all__ = ["PPOConfig", "RecurrentPPOAgent", "SACAgent", "SACConfig", "TrainingDivergedError"]
