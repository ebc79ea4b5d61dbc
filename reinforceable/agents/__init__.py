"""Agents: learners that improve a policy from the Driver's trajectories, or from a model."""

from reinforceable.agents.errors import TrainingDivergedError
from reinforceable.agents.policy_search import AnalyticPolicySearch, AnalyticPolicySearchConfig
from reinforceable.agents.ppo import PPOConfig, RecurrentPPOAgent
from reinforceable.agents.sac import SACAgent, SACConfig

__all__ = [
    "AnalyticPolicySearch",
    "AnalyticPolicySearchConfig",
    "PPOConfig",
    "RecurrentPPOAgent",
    "SACAgent",
    "SACConfig",
    "TrainingDivergedError",
]
