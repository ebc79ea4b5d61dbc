"""`MDGPSAgent`: bad input, and a short run on the point mass that lowers the cost, keeps every
C-step inside its KL step and logs its interim results."""

import re

import keras
import numpy as np
import pytest

import reinforceable as rf
from reinforceable.agents.gps import MDGPSAgent, MDGPSConfig

CONDITIONS = np.array([[0.8, 0.8, 0.0, 0.0], [-0.8, -0.8, 0.0, 0.0]])


def _policy(outputs=2):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(32, activation="tanh"),
                             keras.layers.Dense(outputs)])  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"horizon": 0}, "horizon"), ({"kl_step": 0.0}, "kl_step"),
     ({"min_step_multiplier": 20.0}, "min_step_multiplier")],
)  # fmt: skip
def test_invalid_config_names_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"`{field}`"):
        MDGPSConfig(**kwargs)


def test_bad_arguments_are_refused_at_construction():
    model = rf.models.PointMass2D()
    with pytest.raises(ValueError, match=re.escape("`conditions` must be finite [C, 4]")):
        MDGPSAgent(model, _policy(), np.zeros((2, 3)))
    with pytest.raises(ValueError, match=re.escape("to [B, 2] actions")):
        MDGPSAgent(model, _policy(outputs=3), CONDITIONS)
    with pytest.raises(TypeError, match="`policy_model` must be a Model"):
        MDGPSAgent(model, "mlp", CONDITIONS)


def test_a_short_run_lowers_the_cost_within_the_kl_steps_and_logs():
    config = MDGPSConfig(horizon=20, samples_per_condition=4, policy_steps=50)
    agent = MDGPSAgent(rf.models.PointMass2D(), _policy(), CONDITIONS, config)
    assert agent.rollout_steps == 2 * 4 * 20
    history = agent.fit(3 * agent.rollout_steps, seed=0)
    assert [h["iteration"] for h in history] == [1, 2, 3]
    assert history[-1]["charts/sample_cost"] < 0.5 * history[0]["charts/sample_cost"]
    # The Driver's episode statistics are the samples' returns: minus their cost.
    assert history[0]["charts/episode_return"] == pytest.approx(-history[0]["charts/sample_cost"])
    records = agent.logger.backend
    for c in range(2):
        kls = records.values(f"gps/condition_{c}/kl")
        steps = records.values(f"gps/condition_{c}/kl_step")
        assert len(kls) == 3
        # Met to Brent's tolerance, or below the step where the constraint is inactive.
        assert all(kl <= 1.1 * step for kl, step in zip(kls, steps, strict=True))
    assert len(records.values("gps/policy_loss")) == 3
    # The global policy was trained towards the local controllers: it moves the mass inwards.
    action = agent.policy_model(np.array([[0.8, 0.8, 0.0, 0.0]], np.float32)).numpy()
    assert np.all(action < 0)
