"""Soft actor-critic: `SACAgent`, `SACConfig` and the soft-value functions."""

from reinforceable.agents.sac.agent import SACAgent
from reinforceable.agents.sac.config import SACConfig
from reinforceable.agents.sac.losses import soft_q_target, soft_state_value, temperature_loss

__all__ = ["SACAgent", "SACConfig", "soft_q_target", "soft_state_value", "temperature_loss"]
