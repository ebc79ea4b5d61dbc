"""`MDGPSAgent`: bad input, and a short run on the point mass that lowers the cost, keeps every
C-step inside its KL step and logs its interim results."""

import csv
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

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


EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "gps_pointmass.py"
ARGUMENTS = ["--iterations", "5", "--horizon", "10", "--samples-per-condition", "2", "--units",
             "8", "--eval-episodes", "0"]  # fmt: skip


def _progress(run_dir: pathlib.Path) -> list[dict[str, str]]:
    path = run_dir / "progress.csv"
    if not path.exists():
        return []
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def test_killed_mdgps_resumes_from_its_last_checkpoint(tmp_path):
    """SIGKILL once three iterations are logged (the third may or may not be checkpointed): the
    rerun resumes from the last checkpoint, lists every iteration once and reaches exactly the
    costs of a run that was never killed."""
    command = [sys.executable, str(EXAMPLE), *ARGUMENTS]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    reference = tmp_path / "reference"
    subprocess.run([*command, "--run-dir", str(reference)], check=True, env=environment,
                   capture_output=True, timeout=600)  # fmt: skip
    killed = tmp_path / "killed"
    process = subprocess.Popen([*command, "--run-dir", str(killed)], env=environment,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 600
    while len(_progress(killed)) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(60)
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    assert 2 <= len(_progress(killed)) < 5
    rerun = subprocess.run([*command, "--run-dir", str(killed)], check=True, env=environment,
                           capture_output=True, text=True, timeout=600)  # fmt: skip
    assert "Resumed from" in rerun.stdout
    rows, expected = _progress(killed), _progress(reference)
    assert [row["iteration"] for row in rows] == ["1.0", "2.0", "3.0", "4.0", "5.0"]
    for row, want in zip(rows, expected, strict=True):
        assert float(row["charts/sample_cost"]) == pytest.approx(
            float(want["charts/sample_cost"]), rel=1e-9
        ), row["iteration"]
