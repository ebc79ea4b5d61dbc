"""Mirror-descent guided policy search (see README.md)."""

from reinforceable.agents.gps.actor import GlobalPolicy, MDGPSActor
from reinforceable.agents.gps.agent import MDGPSAgent
from reinforceable.agents.gps.config import MDGPSConfig

__all__ = ["GlobalPolicy", "MDGPSActor", "MDGPSAgent", "MDGPSConfig"]
