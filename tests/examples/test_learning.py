"""The learning targets of the examples, at their full budgets (slow: run with -m slow)."""

import pytest

from tests.examples.test_examples import load_example


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recurrent_ppo_solves_cartpole_without_velocities(seed, tmp_path):
    """100k steps (about 70 s): the deterministic GRU policy balances for 450+ steps on average
    (500 is the maximum; a memoryless policy cannot tell which way the pole moves)."""
    example = load_example("recurrent_ppo_cartpole")
    args = example.Args(seed=seed, run_dir=str(tmp_path / "run"), resume=False)
    assert example.main(args) >= 450


@pytest.mark.slow
def test_ppo_hybrid_action_reaches_the_target_zone(tmp_path):
    """1M steps (about 60 s): 90% or more of evaluation episodes end by signalling `done` inside
    the target zone (a random policy: about 3%)."""
    example = load_example("ppo_mixed_action")
    args = example.Args(run_dir=str(tmp_path / "run"), eval_episodes=500)
    assert example.main(args) >= 0.9


@pytest.mark.slow
def test_sac_solves_pendulum(tmp_path):
    """20k steps (about 60 s): the deterministic policy averages -200 or better over 10 episodes
    (SB3's RL Zoo reports -157 +/- 89 at this budget)."""
    example = load_example("sac_pendulum")
    assert example.main(example.Args(run_dir=str(tmp_path / "run"))) >= -200


@pytest.mark.slow
def test_gps_trains_a_policy_that_reaches_the_goal_from_unseen_starts():
    """8 iterations (about 30 s): 90% or more of 100 random starts, none trained on, end within
    0.1 of the goal (the benchmark measured 100% on seeds 0-2)."""
    example = load_example("gps_pointmass")
    assert example.main(example.Args()) >= 0.9


@pytest.mark.slow
def test_ilqr_swings_the_pendulum_up_and_beats_mppi_on_cost():
    """About 15 s: the feedback controller ends upright, and its return on the task is better
    than MPPI's on the same 100-step episode (-295.5 against about -363 in the benchmark)."""
    example = load_example("ilqr_pendulum")
    results = example.main(example.Args())
    assert results["ilqr_upright"] < 0.05
    assert results["ilqr_return"] > results["mppi_return"]


def test_recurrent_ppo_remembers_the_target_on_the_memory_task(tmp_path):
    """Default tier, 100k steps (about 50 s): recurrent PPO succeeds in well over a quarter of the
    episodes, which no memoryless policy can (the target is shown on the first step only)."""
    example = load_example("memory_mixed_action")
    args = example.Args(
        algo="ppo", total_steps=100_000, eval_episodes=200, run_dir=str(tmp_path / "run")
    )
    assert example.main(args) >= 0.5


@pytest.mark.slow
@pytest.mark.parametrize(
    "algo",
    [
        "ppo",
        pytest.param(
            "sac",
            marks=pytest.mark.xfail(reason="issue 20 target missed: 75.4% at 60k steps"),
        ),
    ],
)
def test_recurrent_agents_solve_the_memory_task(algo, tmp_path):
    """The full budgets (PPO: 1M steps, about 8 min, 100% measured; SAC: the example's 60k):
    90% or more."""
    example = load_example("memory_mixed_action")
    steps = 1_000_000 if algo == "ppo" else 0
    args = example.Args(algo=algo, total_steps=steps, run_dir=str(tmp_path / "run"))
    assert example.main(args) >= 0.9


@pytest.mark.slow
@pytest.mark.xfail(reason="issue 20 target missed: -234 over seeds 0-2 (seed 0: -256) at 50k")
def test_recurrent_sac_on_pendulum_without_velocity(tmp_path):
    """50k steps (about 15 min alone): -200 or better over 10 deterministic episodes."""
    example = load_example("recurrent_sac_pendulum")
    assert example.main(example.Args(run_dir=str(tmp_path / "run"))) >= -200


@pytest.mark.slow
def test_recurrent_policy_search_through_the_angle_only_model(tmp_path):
    """2M model steps (about 1 min): -200 or better on 100 episodes of PendulumNoVel-v1."""
    example = load_example("policy_search_pendulum")
    args = example.Args(observation="angle", total_steps=2_000_000, run_dir=str(tmp_path / "run"))
    assert example.main(args) >= -200
