"""State estimators for partially observed systems, batched and online inside `tf.function`.

A `StateEstimator` keeps a belief (a `GaussianBelief` or a `ParticleBelief`, a nest of tensors)
with `initial_belief`, `predict(belief, action)` and `update(belief, observation)`, which also
returns the observation's log-likelihood; `filter` runs whole sequences in one compiled loop.
`KalmanFilter` (linear, Joseph form), `ExtendedKalmanFilter` (autodiff Jacobians of a `Model`),
`UnscentedKalmanFilter` (`SigmaPoints`) and `ParticleFilter` (systematic resampling) implement it.
`nees` measures a filter's consistency. `FilteredPolicy` puts an estimator in front of a planner
or a policy on the Driver's loop.
"""

from reinforceable.estimation.base import (
    FilterResult,
    GaussianBelief,
    ParticleBelief,
    SkippedObservationWarning,
    StateEstimator,
    nees,
)
from reinforceable.estimation.filtered_policy import FilteredPolicy
from reinforceable.estimation.kalman import ExtendedKalmanFilter, KalmanFilter
from reinforceable.estimation.particle import ParticleFilter
from reinforceable.estimation.unscented import SigmaPoints, UnscentedKalmanFilter

__all__ = [
    "ExtendedKalmanFilter",
    "FilterResult",
    "FilteredPolicy",
    "GaussianBelief",
    "KalmanFilter",
    "ParticleBelief",
    "ParticleFilter",
    "SigmaPoints",
    "SkippedObservationWarning",
    "StateEstimator",
    "UnscentedKalmanFilter",
    "nees",
]
