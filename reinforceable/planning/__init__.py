"""Planners that run on the Driver's loop like policies: MPPI."""

from reinforceable.planning.mppi import MPPI, MPPIConfig

__all__ = ["MPPI", "MPPIConfig"]
