"""Video of evaluation episodes: MP4 files where rendering works, a clear error where not."""

import builtins
import os
import subprocess
import sys

import pytest

import reinforceable as rf
from reinforceable.agents import SACAgent, SACConfig
from reinforceable.training import VideoError, VideoRecorder, run_episodes


def _agent(env_id):
    env = rf.GymEnv(env_id, num_envs=1, seed=0)
    config = SACConfig(hidden=(8,), warmup_steps=64, batch_size=16, steps_per_iteration=32, seed=0)
    return SACAgent(rf.networks.sac_actor(env, hidden=(8,)), env, config)


def test_mujoco_renders_off_screen_or_says_what_is_missing(tmp_path):
    """In a fresh process (MuJoCo reads MUJOCO_GL when it is first imported)."""
    code = (
        "import reinforceable as rf, sys\n"
        "from reinforceable.agents import SACAgent, SACConfig\n"
        "from reinforceable.training import VideoError, run_episodes\n"
        "env = rf.GymEnv('InvertedPendulum-v5', num_envs=1, seed=0)\n"
        "agent = SACAgent(rf.networks.sac_actor(env, hidden=(8,)), env, SACConfig(hidden=(8,)))\n"
        "try:\n"
        "    print(len(run_episodes(agent, 'InvertedPendulum-v5', 2, video_dir=sys.argv[1])))\n"
        "except VideoError as error:\n"
        "    print('VideoError', error)\n"
    )
    environ = {**os.environ, "MUJOCO_GL": "egl"}
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=environ,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert result.returncode == 0, result.stderr
    if result.stdout.startswith("VideoError"):  # a machine without EGL: the error says so
        assert "MUJOCO_GL" in result.stdout
    else:
        assert result.stdout.strip() == "2" and len(list(tmp_path.glob("*.mp4"))) == 2


def test_missing_moviepy_is_named(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def without_moviepy(name, *args, **kwargs):
        if name == "moviepy":
            raise ImportError("No module named 'moviepy'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_moviepy)
    with pytest.raises(VideoError, match=r'moviepy.*pip install "reinforceable\[video\]"'):
        run_episodes(_agent("Pendulum-v1"), "Pendulum-v1", 1, video_dir=tmp_path)


def test_video_recorder_callback_records_during_training(tmp_path):
    agent = _agent("Pendulum-v1")
    recorder = VideoRecorder("Pendulum-v1", every=2, episodes=1)
    history = agent.fit(4 * 32, callbacks=[recorder], run_dir=tmp_path)
    assert "video/episode_return" in history[1] and "video/episode_return" not in history[0]
    folders = sorted(p.name for p in (tmp_path / "videos").iterdir())
    assert folders == ["steps-128", "steps-64"]
    assert all(len(list((tmp_path / "videos" / f).glob("*.mp4"))) == 1 for f in folders)
    with pytest.raises(ValueError, match="video_dir"):
        _agent("Pendulum-v1").fit(32, callbacks=[VideoRecorder("Pendulum-v1")])


def test_episodes_of_an_env_without_render_mode():
    """Evaluation without video makes the env as gymnasium users do (no `render_mode`), so
    environments that do not take one still run; with video they are refused by name."""
    from reinforceable.agents import PPOConfig, RecurrentPPOAgent

    env = rf.GymEnv("reinforceable/MixedAction2D-v0", num_envs=1, seed=0)
    agent = RecurrentPPOAgent(rf.networks.actor_critic(env, hidden=(8,)), env, PPOConfig())
    assert len(run_episodes(agent, "reinforceable/MixedAction2D-v0", 2)) == 2
    with pytest.raises(VideoError, match="MixedAction2D-v0 cannot render"):
        run_episodes(agent, "reinforceable/MixedAction2D-v0", 1, video_dir="unused")
