"""Agents: learners that improve a policy from the Driver's trajectories, or from a model, and
the actors that act for them. Every agent follows one contract, `Agent` (see its docstring)."""

from reinforceable.agents.actor import ActingState, Actor, ActorBlueprint
from reinforceable.agents.base import Agent, Collection
from reinforceable.agents.capabilities import EpisodeStreamLearner, SharedReplayLearner
from reinforceable.agents.dqn import DQNAgent, DQNConfig
from reinforceable.agents.gps import MDGPSAgent, MDGPSConfig
from reinforceable.agents.policy_search import (
    AnalyticPolicySearch,
    AnalyticPolicySearchConfig,
    ARSAgent,
    ARSConfig,
    ScoreFunctionAgent,
    ScoreFunctionConfig,
)
from reinforceable.agents.ppo import PPOConfig, RecurrentPPOAgent
from reinforceable.agents.sac import RecurrentSACAgent, RecurrentSACConfig, SACAgent, SACConfig
from reinforceable.agents.td3 import DDPGAgent, DDPGConfig, TD3Agent, TD3Config
from reinforceable.errors import TrainingDivergedError

__all__ = [
    "ARSAgent",
    "ARSConfig",
    "ActingState",
    "Actor",
    "ActorBlueprint",
    "Agent",
    "AnalyticPolicySearch",
    "AnalyticPolicySearchConfig",
    "Collection",
    "DDPGAgent",
    "DDPGConfig",
    "DQNAgent",
    "DQNConfig",
    "EpisodeStreamLearner",
    "MDGPSAgent",
    "MDGPSConfig",
    "PPOConfig",
    "RecurrentPPOAgent",
    "RecurrentSACAgent",
    "RecurrentSACConfig",
    "SACAgent",
    "SACConfig",
    "ScoreFunctionAgent",
    "ScoreFunctionConfig",
    "SharedReplayLearner",
    "TD3Agent",
    "TD3Config",
    "TrainingDivergedError",
]
