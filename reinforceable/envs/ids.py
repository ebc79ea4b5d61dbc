"""Gymnasium ids, including gymnasium's `module:id` form (the module registers the id when
imported, as `gym.make` does it), looked up with errors that name the id."""

from __future__ import annotations

import contextlib
import importlib
import io

import gymnasium as gym

__all__ = ["registered_spec", "uses_mujoco"]

ROBOTICS_PREFIXES = ("Fetch", "HandManipulate", "HandReach", "AdroitHand", "PointMaze", "AntMaze",
                     "FrankaKitchen")  # fmt: skip
"""Ids that gymnasium-robotics (the `robotics` extra) registers when imported."""


def _import_robotics() -> None:
    """Imports gymnasium-robotics, which registers its ids, without its notice on stderr."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(ImportError):
        importlib.import_module("gymnasium_robotics")


def registered_spec(
    env_id: str, owner: str, argument: str = "env"
) -> gym.envs.registration.EnvSpec:
    """The gymnasium registration of `env_id`, an id such as `"CartPole-v1"` or
    `"module:id"` (`"popgym:popgym-RepeatPreviousEasy-v0"`), whose module is imported first so
    that it registers its ids.

    Raises:
        ValueError: If the module cannot be imported, or the id is not registered (with
            gymnasium's suggestion of a close id), naming `owner`'s `argument` and the id.
    """
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ValueError(
                f"{owner}: `{argument}` = {env_id!r} names the module {module!r}, which should "
                f"register {name!r} when imported, but it cannot be imported: {error}"
            ) from None
    if not module and name.startswith(ROBOTICS_PREFIXES) and name not in gym.registry:
        _import_robotics()
    try:
        return gym.spec(name)
    except gym.error.Error as error:
        where = f" (after importing {module!r})" if module else ""
        raise ValueError(
            f"{owner}: unknown environment id `{argument}` = {env_id!r}{where}: {error}"
        ) from None


def uses_mujoco(env_id: str) -> bool:
    """Whether `env_id` is registered with a MuJoCo entry point (False for an unknown id)."""
    try:
        return "mujoco" in str(registered_spec(env_id, "uses_mujoco").entry_point)
    except ValueError:
        return False
