"""`make_runners`: the runners that an example's command-line flags ask for."""

from __future__ import annotations

from reinforceable.distributed.ray_runners import RayRunners
from reinforceable.distributed.runners import LocalRunners, Runners

__all__ = ["make_runners"]


def make_runners(
    num_runners: int, env, num_envs: int, backend: str = "ray", address: str | None = None
) -> Runners | None:
    """The runners that an example's `--runners`, `--backend` and `--address` flags ask for:
    `None` for `num_runners=0` (collect in this process, the default), else `num_runners`
    runners sharing `num_envs` environments (`RayRunners`, or `LocalRunners` for
    `backend="local"`). `address` joins a Ray cluster (`"auto"`: one started with `ray start`).

    Raises:
        ValueError: For a negative `num_runners`, `num_envs` not a multiple of it, or an
            unknown backend.
    """
    if isinstance(num_runners, bool) or not isinstance(num_runners, int) or num_runners < 0:
        raise ValueError(
            f"make_runners: `num_runners` must be an int >= 0; received {num_runners!r}."
        )
    if num_runners == 0:
        return None
    if num_envs % num_runners:
        raise ValueError(
            f"make_runners: the {num_envs} environments must split evenly over {num_runners} "
            "runners."
        )
    per_runner = num_envs // num_runners
    if backend == "local":
        return LocalRunners(num_runners, env, per_runner)
    if backend == "ray":
        return RayRunners(num_runners, env, per_runner, address=address or None)
    raise ValueError(f"make_runners: `backend` must be 'ray' or 'local'; received {backend!r}.")
