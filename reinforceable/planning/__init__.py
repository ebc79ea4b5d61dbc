"""Planners and trajectory optimisation on differentiable models.

`MPPI` and `LinearGaussianPolicy` run on the Driver's loop like policies. `ILQR` optimises
trajectories with the finite-horizon `lqr` backward pass, on local models from `linearize` and
`quadratize` (autodiff). `kl_constrained_lqg` improves a linear-Gaussian controller under fitted
dynamics within a KL step of a reference (guided policy search's C-step).
"""

from reinforceable.planning.ilqr import ILQR, ILQRConfig, ILQRResult
from reinforceable.planning.kl_lqg import (
    KLConstrainedSolution,
    TrajectoryDistribution,
    brent,
    expected_cost,
    kl_constrained_lqg,
    trajectory_distribution,
    trajectory_kl,
)
from reinforceable.planning.linear_gaussian import LinearGaussianPolicy
from reinforceable.planning.lqr import (
    AffineDynamics,
    LinearGaussianController,
    LQRSolution,
    QuadraticCost,
    lqr,
)
from reinforceable.planning.mppi import MPPI, FeedbackPlan, MPPIConfig
from reinforceable.planning.quadratic import linearize, make_positive_semidefinite, quadratize

__all__ = [
    "ILQR",
    "MPPI",
    "AffineDynamics",
    "FeedbackPlan",
    "ILQRConfig",
    "ILQRResult",
    "KLConstrainedSolution",
    "LQRSolution",
    "LinearGaussianController",
    "LinearGaussianPolicy",
    "MPPIConfig",
    "QuadraticCost",
    "TrajectoryDistribution",
    "brent",
    "expected_cost",
    "kl_constrained_lqg",
    "linearize",
    "lqr",
    "make_positive_semidefinite",
    "quadratize",
    "trajectory_distribution",
    "trajectory_kl",
]
