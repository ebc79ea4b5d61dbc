"""Deep Q-learning: `DQNAgent`, `DQNConfig`, and `q_network` for any observation space."""

from reinforceable.agents.dqn.actor import DQNActor, q_network
from reinforceable.agents.dqn.agent import DQNAgent
from reinforceable.agents.dqn.config import DQNConfig

__all__ = ["DQNActor", "DQNAgent", "DQNConfig", "q_network"]
