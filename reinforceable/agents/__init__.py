"""Agents: learners that improve a policy from the Driver's trajectories."""

from reinforceable.agents.ppo import PPOConfig, RecurrentPPOAgent, TrainingDivergedError

__all__ = ["PPOConfig", "RecurrentPPOAgent", "TrainingDivergedError"]
