"""The learning targets of the PPO examples, at their full budgets (slow: run with -m slow)."""

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
