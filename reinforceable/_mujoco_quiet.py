"""MuJoCo's known harmless warnings kept off the terminal.

gymnasium's `half_cheetah.xml` sets the compiler attribute `settotalmass`, which MuJoCo 3.17
and 4 report as deprecated on every compile of the model (once per process that makes the env,
in every asynchronous worker and Ray runner). `quiet_mujoco()` installs a MuJoCo warning
handler that drops such messages and prints every other one as MuJoCo does. Set
`REINFORCEABLE_MUJOCO_LOGS=1` to see them all.

This file imports neither TensorFlow nor the rest of `reinforceable`: the MuJoCo render worker,
a process without TensorFlow, loads it by path.
"""

from __future__ import annotations

import os
import sys

__all__ = ["HARMLESS", "quiet_mujoco"]

ENV_VAR = "REINFORCEABLE_MUJOCO_LOGS"

HARMLESS = ("compiler attribute 'settotalmass' is deprecated",)
"""Substrings of the MuJoCo warnings that are dropped."""


def quiet_mujoco() -> bool:
    """Installs the filtering handler in this process (once); returns whether it is installed.
    Nothing happens where MuJoCo is not installed or `REINFORCEABLE_MUJOCO_LOGS=1`."""
    if os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    try:
        import mujoco
    except ImportError:
        return False
    previous = mujoco.get_mju_user_warning()
    if getattr(previous, "drops_harmless", False):
        return True

    def handler(message: str) -> None:
        if any(harmless in message for harmless in HARMLESS):
            return
        if previous is not None:
            previous(message)
        else:  # MuJoCo's own default: the message on standard error
            sys.stderr.write(f"WARNING: {message}\n\n")
            sys.stderr.flush()

    handler.drops_harmless = True
    mujoco.set_mju_user_warning(handler)
    return True
