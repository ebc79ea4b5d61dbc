"""Probability distributions for actions: `BoundedNormal` and the nested `Joint`."""

from reinforceable.distributions.bounded_normal import BoundedNormal
from reinforceable.distributions.joint import Joint

__all__ = ["BoundedNormal", "Joint"]
