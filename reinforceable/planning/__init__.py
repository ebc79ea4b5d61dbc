"""Planners and trajectory optimisation on differentiable models.

`MPPI` and `LinearGaussianPolicy` run on the Driver's loop like policies. `ILQR` optimises
trajectories with the finite-horizon `lqr` backward pass, on local models from `linearize` and
`quadratize` (autodiff).
"""

from reinforceable.planning.ilqr import ILQR, ILQRConfig, ILQRResult
from reinforceable.planning.linear_gaussian import LinearGaussianPolicy
from reinforceable.planning.lqr import (
    AffineDynamics,
    LinearGaussianController,
    LQRSolution,
    QuadraticCost,
    lqr,
)
from reinforceable.planning.mppi import MPPI, MPPIConfig
from reinforceable.planning.quadratic import linearize, make_positive_semidefinite, quadratize

__all__ = [
    "ILQR",
    "MPPI",
    "AffineDynamics",
    "ILQRConfig",
    "ILQRResult",
    "LQRSolution",
    "LinearGaussianController",
    "LinearGaussianPolicy",
    "MPPIConfig",
    "QuadraticCost",
    "linearize",
    "lqr",
    "make_positive_semidefinite",
    "quadratize",
]
