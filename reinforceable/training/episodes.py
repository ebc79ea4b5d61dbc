"""Evaluation episodes of a trained agent, one environment at a time, optionally on video.

`run_episodes(agent, env_id, episodes, video_dir=...)` plays whole episodes with
`agent.predict` (as SB3's `evaluate_policy`) in one gymnasium environment and returns their
returns; with `video_dir` every episode is recorded to MP4 with gymnasium's `RecordVideo`
(which needs `moviepy`: `pip install "reinforceable[video]"`). Atari ids get the preprocessing
the agents were trained with (`reinforceable.envs.atari_env`'s gymnasium backend); the video
shows the full-colour screen. MuJoCo renders off-screen through EGL on machines without a
display (`MUJOCO_GL=egl`, set by `python -m reinforceable` when nothing else is).

`VideoRecorder(env_id, every=...)`, a `Trainer` callback, records evaluation episodes of the
deterministic policy to `<run_dir>/videos` while training goes on (CleanRL's
`--capture-video`, SB3's `VecVideoRecorder`).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import sys
import tempfile
from multiprocessing.connection import Connection

import gymnasium as gym
import numpy as np

from reinforceable._mujoco_quiet import quiet_mujoco
from reinforceable.envs.ids import uses_mujoco
from reinforceable.training.callbacks import Callback

__all__ = ["VideoError", "VideoRecorder", "make_env", "run_episodes"]


class VideoError(RuntimeError):
    """Video was asked for where it cannot be made (names what is missing)."""


def make_env(env_id: str, render: bool = False) -> gym.Env:
    """One environment of `env_id` as an agent of it was trained on (`render`: `rgb_array`)."""
    from reinforceable.envs.atari import is_atari_id, single_atari_env

    render_mode = "rgb_array" if render else None
    if is_atari_id(env_id):  # the game's score: rewards not clipped
        return single_atari_env(env_id, render_mode=render_mode, reward_clipping=False)
    if uses_mujoco(env_id):
        quiet_mujoco()
    # `render_mode` only when rendering: not every environment takes the argument.
    return gym.make(env_id, **({"render_mode": render_mode} if render else {}))


def _check_moviepy() -> None:
    try:
        import moviepy  # noqa: F401
    except ImportError:
        raise VideoError(
            'video needs moviepy, which is not installed: pip install "reinforceable[video]".'
        ) from None


_MUJOCO_HINT = (
    "MuJoCo renders off-screen through OpenGL: set MUJOCO_GL=egl (or osmesa) with its library "
    "installed."
)


class _LocalEpisodes:
    """Episodes in a gymnasium env in this process (recorded with `RecordVideo`)."""

    def __init__(self, env_id: str, video_dir, prefix: str):
        if video_dir is None:
            self.env = make_env(env_id)
            return
        try:
            self.env = make_env(env_id, render=True)
        except TypeError as error:  # an env that takes no `render_mode`
            raise VideoError(f"{env_id} cannot render off-screen here ({error}).") from None
        self.env.reset(seed=0)
        try:
            frame = self.env.render()
        except Exception as error:  # pygame missing, no display driver, ...
            self.env.close()
            raise VideoError(
                f"{env_id} cannot render off-screen here ({type(error).__name__}: {error})."
            ) from None
        if not isinstance(frame, np.ndarray) or frame.ndim != 3:
            self.env.close()
            raise VideoError(f"{env_id} renders no RGB frames (render() gave {type(frame)}).")
        self.env = gym.wrappers.RecordVideo(
            self.env, str(video_dir), episode_trigger=lambda _: True, name_prefix=prefix,
            disable_logger=True,
        )  # fmt: skip

    def reset(self, seed: int):
        return self.env.reset(seed=seed)[0]

    def step(self, action):
        observation, reward, terminated, truncated, _ = self.env.step(action)
        return observation, float(reward), bool(terminated or truncated)

    def close(self) -> None:
        self.env.close()


class _WorkerEpisodes:
    """Episodes of a MuJoCo env recorded in a process without TensorFlow (`_render_worker`):
    Mesa's EGL and TensorFlow crash when loaded in one process."""

    def __init__(self, env_id: str, video_dir, prefix: str):
        child_in, self_out = os.pipe()
        self_in, child_out = os.pipe()
        environ = {**os.environ, "MUJOCO_GL": os.environ.get("MUJOCO_GL", "egl")}
        script = str(pathlib.Path(__file__).with_name("_render_worker.py"))
        self.process = subprocess.Popen(
            [sys.executable, script, str(child_in), str(child_out)],
            pass_fds=(child_in, child_out), env=environ, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(child_in)
        os.close(child_out)
        self.send = Connection(self_out, readable=False)
        self.receive = Connection(self_in, writable=False)
        try:
            self._call("make", env_id, str(video_dir), prefix)
        except RuntimeError as error:
            self.close()
            message = f"{env_id} cannot render off-screen here ({error}). {_MUJOCO_HINT}"
            raise VideoError(message) from None

    def _call(self, *message):
        self.send.send(message)
        try:
            result = self.receive.recv()
        except EOFError:
            raise VideoError(
                f"the rendering process ended (exit code {self.process.wait()}). {_MUJOCO_HINT}"
            ) from None
        if isinstance(result, Exception):
            raise result
        return result

    def reset(self, seed: int):
        return self._call("reset", seed)

    def step(self, action):
        return self._call("step", np.asarray(action))

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(VideoError, OSError, RuntimeError):
                self._call("close")
        self.process.wait(timeout=30)
        self.send.close()
        self.receive.close()


def run_episodes(
    agent, env_id: str, episodes: int, seed: int = 0, video_dir=None, deterministic: bool = True
) -> list[float]:
    """The returns of `episodes` episodes of `agent` on `env_id` (reset seeds `seed + i`), each
    recorded to `video_dir` when given (MuJoCo ids in a process of their own).

    Raises:
        VideoError: With `video_dir`, where moviepy is missing or the environment cannot render
            (naming what is missing).
    """
    prefix = env_id.replace("/", "-")
    if video_dir is not None:
        _check_moviepy()
    recorded_elsewhere = video_dir is not None and uses_mujoco(env_id)
    env = (_WorkerEpisodes if recorded_elsewhere else _LocalEpisodes)(env_id, video_dir, prefix)
    returns = []
    try:
        for episode in range(episodes):
            observation = env.reset(seed + episode)
            state, start, total, done = None, True, 0.0, False
            while not done:
                action, state = agent.predict(
                    observation, state, np.array(start), deterministic=deterministic
                )
                observation, reward, done = env.step(action)
                total += reward
                start = False
            returns.append(total)
    finally:
        env.close()
    return returns


class VideoRecorder(Callback):
    """Records `episodes` episodes of the deterministic policy every `every` iterations (and at
    the last one) to MP4 in `video_dir` (by default `<run_dir>/videos`), one file per episode
    named by the environment, the env steps and the episode; logs their mean return as
    `video/episode_return`. It checks at the start of training that the environment can be
    recorded (a `VideoError` naming what is missing otherwise).

    Args:
        env_id: The gymnasium id to record (the training environment's id).
        every: Iterations between recordings.
        episodes: Episodes per recording.
        video_dir: Where the videos go; needed when the `Trainer` has no `run_dir`.
    """

    adds_logs = True

    def __init__(self, env_id: str, every: int = 50, episodes: int = 1, video_dir=None):
        for name, value in (("every", every), ("episodes", episodes)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"VideoRecorder: `{name}` must be a positive int; received {value!r}."
                )
        self.env_id = env_id
        self.every = every
        self.episodes = episodes
        self.video_dir = None if video_dir is None else pathlib.Path(video_dir)

    def on_train_begin(self, trainer):
        if self.video_dir is None:
            if trainer.run_dir is None:
                raise ValueError(
                    "VideoRecorder needs a place for the videos: give `video_dir`, or a "
                    "`run_dir` to the Trainer (or to fit/train); received neither."
                )
            self.video_dir = trainer.run_dir / "videos"
        _check_moviepy()
        kind = _WorkerEpisodes if uses_mujoco(self.env_id) else _LocalEpisodes
        with tempfile.TemporaryDirectory() as scratch:  # can it render here?
            kind(self.env_id, scratch, "check").close()

    def on_iteration_end(self, trainer, logs):
        iteration = int(logs["iteration"])
        if iteration % self.every and not trainer.is_last_iteration:
            return
        folder = self.video_dir / f"steps-{int(logs['env_steps'])}"
        returns = run_episodes(trainer.agent, self.env_id, self.episodes, 0, folder)
        logs["video/episode_return"] = float(np.mean(returns))
