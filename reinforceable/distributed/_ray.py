"""Plain Ray core helpers shared by the runners, the evaluator and the shared replay: importing
Ray (or saying how to install it), a quiet start, and resource options."""

from __future__ import annotations

import os
import re

from reinforceable import _startup

__all__ = ["import_ray", "init_ray", "resource_options"]

_INSTALL = 'pip install "reinforceable[distributed]"'
WORKER_NICENESS = "RAY_worker_niceness"
"""Ray's setting of its workers' niceness (15 by default); runners run at 0."""
RAY_LOGS = "REINFORCEABLE_RAY_LOGS"
"""Set to 1 to see Ray's start-up lines."""
RAY_START_LINES = tuple(
    re.compile(pattern)
    for pattern in (
        r"WARNING authentication_token_setup\.py:\d+ -- Token authentication is enabled",
        r"INFO worker\.py:\d+ -- Started a local Ray instance",
        # Ray's C++ logging, at its info (I) and warning (W) levels only, from its core worker.
        r"^\[[\d\- :,]+ [IW] \d+ \d+\] core_worker",
    )
)
"""Ray 2.60's lines on every local start: harmless, and kept off the terminal."""


def import_ray():
    """`ray`, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise ImportError(f"RayRunners needs Ray: {_INSTALL}.") from error
    return ray


def init_ray(address: str | None, init_kwargs: dict):
    """`(ray, whether this call started or joined it)`: initialises Ray if it is not yet."""
    ray = import_ray()
    if ray.is_initialized():
        return ray, False
    if address is None:
        # Ray starts its workers at nice 15: next to a learner on the same cores, the runners
        # would then get a fraction of the CPU (8x slower on 2 busy cores).
        os.environ.setdefault(WORKER_NICENESS, "0")
    # No address starts a local Ray, even where another cluster's address is on record.
    kwargs = {"include_dashboard": False, "log_to_driver": True, **init_kwargs}
    # Ray 2.60's start-up lines (token authentication enabled, a local instance started) are
    # kept off the terminal, and nothing else: REINFORCEABLE_RAY_LOGS=1 shows them.
    with _startup.quiet(RAY_START_LINES, RAY_LOGS):
        ray.init(address=address or "local", **kwargs)
    return ray, True


def resource_options(resources: dict[str, float]) -> dict:
    """`ray.remote(...).options` for `resources` ({"CPU": n, "GPU": m, custom: k})."""
    custom = {k: v for k, v in resources.items() if k not in ("CPU", "GPU")}
    options = {"num_cpus": resources.get("CPU", 0), "num_gpus": resources.get("GPU", 0)}
    return {**options, "resources": custom} if custom else options
