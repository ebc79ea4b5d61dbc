"""Mirror-descent guided policy search (see README.md)."""

from reinforceable.agents.gps.agent import GlobalPolicy, MDGPSAgent
from reinforceable.agents.gps.config import MDGPSConfig

__all__ = ["GlobalPolicy", "MDGPSAgent", "MDGPSConfig"]
