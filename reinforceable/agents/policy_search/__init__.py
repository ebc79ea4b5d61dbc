"""Policy search: analytic gradients through differentiable models, score-function policy
gradients and Augmented Random Search."""

from reinforceable.agents.policy_search.analytic import AnalyticPolicySearch, linear_gain
from reinforceable.agents.policy_search.ars import ARSAgent, ARSConfig
from reinforceable.agents.policy_search.config import AnalyticPolicySearchConfig
from reinforceable.agents.policy_search.score_function import (
    ScoreFunctionAgent,
    ScoreFunctionConfig,
)

__all__ = [
    "ARSAgent",
    "ARSConfig",
    "AnalyticPolicySearch",
    "AnalyticPolicySearchConfig",
    "ScoreFunctionAgent",
    "ScoreFunctionConfig",
    "linear_gain",
]
