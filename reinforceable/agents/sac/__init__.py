"""Soft actor-critic: `SACAgent`, `RecurrentSACAgent`, their configs and the soft-value
functions."""

from reinforceable.agents.sac.agent import SACAgent
from reinforceable.agents.sac.config import RecurrentSACConfig, SACConfig
from reinforceable.agents.sac.losses import soft_q_target, soft_state_value, temperature_loss
from reinforceable.agents.sac.recurrent import RecurrentSACAgent

__all__ = [
    "RecurrentSACAgent",
    "RecurrentSACConfig",
    "SACAgent",
    "SACConfig",
    "soft_q_target",
    "soft_state_value",
    "temperature_loss",
]
