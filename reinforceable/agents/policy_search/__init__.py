"""Policy search: analytic gradients through differentiable models, and Augmented Random Search
(score-function policy gradients to come)."""

from reinforceable.agents.policy_search.analytic import AnalyticPolicySearch, linear_gain
from reinforceable.agents.policy_search.ars import ARSAgent, ARSConfig
from reinforceable.agents.policy_search.config import AnalyticPolicySearchConfig

__all__ = [
    "ARSAgent",
    "ARSConfig",
    "AnalyticPolicySearch",
    "AnalyticPolicySearchConfig",
    "linear_gain",
]
