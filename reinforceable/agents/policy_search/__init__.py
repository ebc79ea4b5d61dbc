"""Policy search: analytic gradients through differentiable models (more to come: score
function, ARS)."""

from reinforceable.agents.policy_search.analytic import AnalyticPolicySearch, linear_gain
from reinforceable.agents.policy_search.config import AnalyticPolicySearchConfig

__all__ = ["AnalyticPolicySearch", "AnalyticPolicySearchConfig", "linear_gain"]
