"""A gymnasium environment recorded to video in a process of its own, run as a script.

MuJoCo renders off-screen through EGL, whose Mesa driver and TensorFlow cannot share a process
(the process crashes when both are loaded), so `run_episodes` steps MuJoCo environments here:
this file is run by path (`python _render_worker.py FD_IN FD_OUT`), never imported as part of
`reinforceable`, so the process loads gymnasium and MuJoCo but not TensorFlow. It takes pickled
`(command, *arguments)` messages on one pipe and answers on the other:

* `("make", env_id, video_dir, name_prefix)` -> `None` (or the exception);
* `("reset", seed)` -> the observation; `("step", action)` -> `(observation, reward, done)`;
* `("close",)` -> `None`, and the process ends.
"""

import sys
from multiprocessing.connection import Connection


def _quiet_mujoco() -> None:
    """`reinforceable/_mujoco_quiet.py`, loaded by path (importing the package would import
    TensorFlow): MuJoCo's harmless warnings kept off the terminal."""
    import importlib.util
    import pathlib

    path = pathlib.Path(__file__).resolve().parents[1] / "_mujoco_quiet.py"
    spec = importlib.util.spec_from_file_location("_mujoco_quiet", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.quiet_mujoco()


def serve(receive: Connection, send: Connection) -> None:
    import gymnasium as gym

    _quiet_mujoco()

    env = None
    while True:
        command, *arguments = receive.recv()
        try:
            if command == "make":
                env_id, video_dir, prefix = arguments
                env = gym.make(env_id, render_mode="rgb_array")
                env.reset(seed=0)
                env.render()  # fails here, with its own message, where rendering cannot work
                env = gym.wrappers.RecordVideo(
                    env, video_dir, episode_trigger=lambda _: True, name_prefix=prefix,
                    disable_logger=True,
                )  # fmt: skip
                send.send(None)
            elif command == "reset":
                send.send(env.reset(seed=arguments[0])[0])
            elif command == "step":
                observation, reward, terminated, truncated, _ = env.step(arguments[0])
                send.send((observation, float(reward), bool(terminated or truncated)))
            elif command == "close":
                if env is not None:
                    env.close()
                send.send(None)
                return
        except Exception as error:  # sent back, raised in the caller
            send.send(RuntimeError(f"{type(error).__name__}: {error}"))


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])), Connection(int(sys.argv[2])))
