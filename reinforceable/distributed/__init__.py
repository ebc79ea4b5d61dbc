"""Experience collected beyond this process: `Runners` for `agent.fit(..., runners=...)`.

`LocalRunners` run in this process; `RayRunners` run one Ray actor each, on this machine or a
Ray cluster (the `distributed` extra: `pip install "reinforceable[distributed]"`). Importing this
package never needs Ray.
"""

from reinforceable.distributed.collect import RunnerCollection
from reinforceable.distributed.ray_runners import RayRunners
from reinforceable.distributed.runner import Chunk, Runner, RunnerError, runner_seeds
from reinforceable.distributed.runners import LocalRunners, Runners, make_runners

__all__ = [
    "Chunk",
    "LocalRunners",
    "RayRunners",
    "Runner",
    "RunnerCollection",
    "RunnerError",
    "Runners",
    "make_runners",
    "runner_seeds",
]
