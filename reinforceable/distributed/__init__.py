"""Experience collected beyond this process: `Runners` for `agent.fit(..., runners=...)`.

`LocalRunners` run in this process; `RayRunners` run one Ray actor each, on this machine or a
Ray cluster (the `distributed` extra: `pip install "reinforceable[distributed]"`). Importing this
package never needs Ray. A `SharedReplay` (`RayReplay`, `LocalReplay`) holds off-policy
experience apart from the learner (Ape-X).
"""

from reinforceable.distributed.evaluation import Evaluator, RunnerEvaluation
from reinforceable.distributed.factory import make_runners
from reinforceable.distributed.loop import RunnerLoop
from reinforceable.distributed.ray_runners import RayRunners
from reinforceable.distributed.replay import LocalReplay, RayReplay, SharedReplay
from reinforceable.distributed.runner import Chunk, Runner, RunnerError, runner_seeds
from reinforceable.distributed.runners import LocalRunners, Runners
from reinforceable.replay.spec import ReplaySpec

__all__ = [
    "Chunk",
    "Evaluator",
    "LocalReplay",
    "LocalRunners",
    "RayReplay",
    "RayRunners",
    "ReplaySpec",
    "Runner",
    "RunnerError",
    "RunnerEvaluation",
    "RunnerLoop",
    "Runners",
    "SharedReplay",
    "make_runners",
    "runner_seeds",
]
