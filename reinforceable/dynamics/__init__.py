"""Dynamics learned from samples: time-varying linear-Gaussian fits, with a mixture prior."""

from reinforceable.dynamics.prior import GMMPrior, NIWPrior
from reinforceable.dynamics.tvlg import TVLGDynamics, fit_tvlg, joint_gaussian

__all__ = ["GMMPrior", "NIWPrior", "TVLGDynamics", "fit_tvlg", "joint_gaussian"]
