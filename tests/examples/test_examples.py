"""Every example runs end to end with a tiny budget, in a subprocess, as a user would run it."""

import importlib.util
import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"

TINY_BUDGETS = {
    "hybrid_bandit.py": ["--iterations", "20", "--eval-episodes", "100", "--log-every", "10"],
    "driver_rollout.py": ["--num-envs", "2", "--steps-per-env", "8", "--chunks", "2"],
    "recurrent_ppo_cartpole.py": ["--total-steps", "512", "--units", "8", "--eval-episodes", "4"],
    "ppo_mixed_action.py": ["--total-steps", "2048", "--eval-episodes", "20"],
    "recurrent_ppo_atari.py": [
        "--total-steps",
        "64",
        "--num-envs",
        "2",
        "--num-steps",
        "32",
        "--units",
        "16",
        "--eval-episodes",
        "0",
    ],
    # Collected by two local runners into a replay of its own (the distributed path, Ape-X),
    # and resumed as usual.
    "sac_pendulum.py": [
        "--total-steps",
        "256",
        "--eval-episodes",
        "2",
        "--runners",
        "2",
        "--backend",
        "local",
        "--replay",
        "local",
    ],
    "recurrent_sac_pendulum.py": ["--total-steps", "256", "--eval-episodes", "2"],
    "memory_mixed_action.py": ["--algo", "sac", "--total-steps", "2048", "--eval-episodes", "10"],
    "ars_mujoco.py": [
        "--total-steps",
        "2000",
        "--num-directions",
        "2",
        "--top-directions",
        "1",
        "--eval-episodes",
        "1",
    ],
    "kalman_tracking.py": ["--targets", "4", "--steps", "50"],
    "ilqr_pendulum.py": [
        "--horizon",
        "20",
        "--restarts",
        "2",
        "--max-iterations",
        "5",
        "--mppi-samples",
        "16",
    ],
    "gps_pointmass.py": [
        "--iterations",
        "2",
        "--horizon",
        "10",
        "--samples-per-condition",
        "2",
        "--units",
        "8",
        "--eval-episodes",
        "4",
    ],
    "pomdp_pendulum.py": [
        "--num-samples",
        "16",
        "--horizon",
        "4",
        "--episodes",
        "2",
        "--num-particles",
        "50",
    ],
    "mppi_mujoco.py": ["--steps", "20", "--num-samples", "8", "--horizon", "4"],
    "mppi_pendulum.py": ["--num-samples", "32", "--horizon", "5", "--episodes", "2"],
    "policy_search_pendulum.py": [
        "--total-steps",
        "4096",
        "--num-rollouts",
        "16",
        "--eval-episodes",
        "2",
    ],
    "sac_mixed_action.py": ["--total-steps", "256", "--eval-episodes", "10"],
    "td3_noisy_mountaincar.py": ["--total-steps", "256", "--eval-episodes", "1"],
    "her_fetch_reach.py": ["--total-steps", "1200", "--eval-episodes", "2"],
    "sac_mujoco.py": [
        "--env-id",
        "InvertedPendulum-v5",
        "--total-steps",
        "256",
        "--warmup-steps",
        "64",
        "--eval-episodes",
        "1",
    ],
}
# Examples that write files take --output-dir.
WRITES_OUTPUT = {"hybrid_bandit.py"}
# Examples that write a run directory (checkpoints, logs, plots) take --run-dir; those in
# RESUMES are run twice and must resume the second time (one example per kind of agent and
# training loop: the others pass the same `run_dir` and `resume` to the same `fit`).
RESUMES = {
    "ars_mujoco.py",
    "gps_pointmass.py",
    "policy_search_pendulum.py",
    "recurrent_ppo_cartpole.py",
    "recurrent_sac_pendulum.py",
    "sac_pendulum.py",
}
WRITES_RUN_DIR = {
    "ars_mujoco.py",
    "gps_pointmass.py",
    "policy_search_pendulum.py",
    "ppo_mixed_action.py",
    "recurrent_ppo_atari.py",
    "recurrent_ppo_cartpole.py",
    "sac_mixed_action.py",
    "sac_mujoco.py",
    "sac_pendulum.py",
    "recurrent_sac_pendulum.py",
    "memory_mixed_action.py",
    "td3_noisy_mountaincar.py",
    "her_fetch_reach.py",
}


def test_every_example_has_a_tiny_budget_here():
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(TINY_BUDGETS)
    assert RESUMES <= WRITES_RUN_DIR


@pytest.mark.parametrize("script", sorted(TINY_BUDGETS))
def test_example_runs_with_a_tiny_budget(script, tmp_path):
    """Every example runs; one of each kind that trains into a run directory resumes from it
    when rerun."""
    output = ["--output-dir", str(tmp_path / "run")] if script in WRITES_OUTPUT else []
    if script in WRITES_RUN_DIR:
        output = ["--run-dir", str(tmp_path / "run")]

    def run():
        result = subprocess.run(
            [sys.executable, str(EXAMPLES / script), *TINY_BUDGETS[script], *output],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        assert "result:" in result.stdout
        return result.stdout

    assert "Resumed from" not in run()
    if script in RESUMES:
        assert "Resumed from" in run(), f"{script} did not resume from its run directory"


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file executes
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_hybrid_bandit_learns_both_heads(tmp_path):
    """With its default budget (about 5 s), the hybrid policy solves the task.

    A uniformly random policy succeeds about 5% of the time and the untrained one about 10%;
    reaching 95% needs correct log-probabilities and gradients for both heads through `Joint`.
    """
    example = load_example("hybrid_bandit")
    args = example.Args(output_dir=str(tmp_path / "run"), eval_episodes=500, log_every=10_000)
    assert example.main(args) >= 0.95


def test_mixed_action_baseline_maps_every_discrete_part_onto_a_continuous_one():
    import gymnasium as gym
    import numpy as np

    example = load_example("sac_mixed_action")
    env = example.DiscreteAsContinuous(gym.make(example.ENV_ID))
    # Dict parts in order: axis (Discrete 2), done (Discrete 2), move (Box [-1, 1]).
    np.testing.assert_array_equal(env.action_space.low, [-1, -1, -1])
    assert env.action(np.array([0.3, -0.2, 0.5])) == {"axis": 1, "done": 0, "move": [0.5]}
    assert env.action(np.array([-0.3, 0.2, -0.5]))["done"] == 1
    with pytest.raises(TypeError, match="Dict"):
        example.DiscreteAsContinuous(gym.make("CartPole-v1"))
    agent_env = example.make_env("continuous", 2, seed=0)
    assert agent_env.action_space.shape == (3,)
    agent_env.close()
