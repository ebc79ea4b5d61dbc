"""`atari_env`: ale-py's C++ vector env and gymnasium's wrappers behave alike behind GymEnv."""

import numpy as np
import pytest

pytest.importorskip("ale_py")

from reinforceable.envs import atari_env
from reinforceable.envs.atari import atari_game

BACKENDS = ("ale", "gymnasium")


@pytest.mark.parametrize("backend", BACKENDS)
def test_frames_are_stacked_after_zeros_and_the_spec_names_the_id(backend):
    env = atari_env("ALE/Pong-v5", 2, seed=0, backend=backend)
    try:
        assert env.spec.env_id == "ALE/Pong-v5"
        assert env.observation_space.shape == (4, 84, 84)
        assert env.observation_space.dtype == np.uint8
        assert env.action_space.n == 6
        first = env.reset().observation
        assert first.shape == (2, 4, 84, 84)
        # Before the first frame the stack holds zeros, on both backends.
        assert not first[:, :3].any() and first[:, 3].mean() > 50
        second = env.step(np.zeros(2, np.int32)).observation
        np.testing.assert_array_equal(second[:, 2], first[:, 3])
        assert not second[:, :2].any()
    finally:
        env.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_truncation_then_next_step_reset(backend):
    """100 agent steps of 4 frames end in a truncation; the next step starts an episode and is
    not a transition (reward 0, the reset frame after zeros). (No no-op starts: gymnasium counts
    their frames in the episode's, ale-py's C++ env does not.)"""
    env = atari_env("pong", 2, seed=1, backend=backend, max_num_frames_per_episode=400, noop_max=0)
    try:
        timestep = env.reset()
        assert timestep.episode_start.all()
        rng = np.random.default_rng(0)
        for step in range(1, 101):
            timestep = env.step(rng.integers(0, 6, 2).astype(np.int32))
            assert not timestep.episode_start.any()
            assert not timestep.terminated.any()
            assert timestep.truncated.all() == (step == 100), step
        timestep = env.step(np.zeros(2, np.int32))
        assert timestep.episode_start.all()
        assert not timestep.truncated.any()
        np.testing.assert_array_equal(timestep.reward, 0.0)
        assert not timestep.observation[:, :3].any()
    finally:
        env.close()


def test_the_same_seed_gives_the_same_frames_and_rewards_clipped():
    def run(seed):
        env = atari_env("ALE/Breakout-v5", 2, seed=seed, num_threads=1)
        rng = np.random.default_rng(0)
        frames, rewards = [env.reset().observation], []
        for _ in range(60):
            timestep = env.step(rng.integers(0, 4, 2).astype(np.int32))
            frames.append(timestep.observation)
            rewards.append(timestep.reward)
        env.close()
        return np.stack(frames), np.stack(rewards)

    frames, rewards = run(3)
    again, rewards_again = run(3)
    np.testing.assert_array_equal(frames, again)
    np.testing.assert_array_equal(rewards, rewards_again)
    assert set(np.unique(rewards)) <= {-1.0, 0.0, 1.0}


def test_ids_name_games_and_versions():
    assert atari_game("ALE/Pong-v5") == ("pong", 5)
    assert atari_game("BreakoutNoFrameskip-v4") == ("breakout", 4)
    assert atari_game("SpaceInvaders") == ("space_invaders", None)
    assert atari_game("space_invaders-v5") == ("space_invaders", 5)


def test_bad_ids_backends_and_options_are_refused_naming_what_is_supported():
    with pytest.raises(ValueError, match=r"'pongg'.*close matches: \['pong'\]"):
        atari_env("ALE/Pongg-v5")
    with pytest.raises(ValueError, match=r"`backend`.*'ale', 'gymnasium'.*'envpool'"):
        atari_env("pong", backend="envpool")
    with pytest.raises(ValueError, match=r"\['sticky'\] are not supported by the 'ale'.*noop_max"):
        atari_env("pong", sticky=0.1)
    with pytest.raises(ValueError, match=r"\['num_threads'\].*'gymnasium' backend"):
        atari_env("pong", backend="gymnasium", num_threads=2)
    with pytest.raises(ValueError, match="`num_envs` must be a positive int; received 0"):
        atari_env("pong", 0)
    with pytest.raises(ValueError, match="`asynchronous` applies to the 'gymnasium' backend"):
        atari_env("pong", asynchronous=True)


def test_a_single_game_for_evaluation_matches_the_vector_env():
    """`single_atari_env` (evaluation and video) sees the frames the agents were trained on,
    renders the screen, and can leave rewards unclipped (the game's score)."""
    from reinforceable.envs.atari import is_atari_id, single_atari_env

    assert is_atari_id("ALE/Pong-v5") and is_atari_id("BreakoutNoFrameskip-v4")
    assert not is_atari_id("CartPole-v1") and not is_atari_id("reinforceable/MixedAction2D-v0")
    vector = atari_env("ALE/Pong-v5", 1, seed=0, backend="gymnasium", repeat_action_probability=0.0)
    single = single_atari_env("ALE/Pong-v5", render_mode="rgb_array", reward_clipping=False,
                              repeat_action_probability=0.0)  # fmt: skip
    assert single.observation_space == vector.observation_space
    first, _ = single.reset(seed=0)
    np.testing.assert_array_equal(first, vector.reset(seed=0).observation[0])
    assert single.render().shape == (210, 160, 3)
    with pytest.raises(ValueError, match="unknown option"):
        single_atari_env("ALE/Pong-v5", num_threads=2)
    single.close()
    vector.close()
