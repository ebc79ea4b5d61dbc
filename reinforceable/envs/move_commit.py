"""`MoveThenCommit`: move with a continuous step, then commit with a discrete stop, in 1-D or
2-D; with `cue="first"`, the target is shown on the first step only (a memory task)."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np

__all__ = ["MoveThenCommit"]


class MoveThenCommit(gym.Env):
    """Reach a target with continuous steps, then stop on it: a hybrid task whose discrete
    action ends the episode.

    The agent starts uniformly in `[-1, 1]^dims`; the target is drawn uniformly in that box (or
    from `targets`), at least `2 * radius` away. Each action is a dict:

    * `"step"`: `Box(-max_step, max_step, (dims,))`, added to the position (clipped to the box);
    * `"stop"`: `Discrete(2)`; 1 ends the episode where the agent stands (the step is not taken).

    Rewards: stopping within `radius` of the target pays +1 (a success, `info["is_success"]`),
    stopping elsewhere `-miss_penalty`; every step that does not stop costs `step_cost`. There is
    no shaping, so stopping at once is a tempting local optimum for a policy that has not yet
    learned where the target is: after a single move it succeeds only where the target was
    within one step.

    Observation: `Box(-1, 1, (2 * dims,))`, the position and the target; with `cue="first"` the
    target is zeros after the first step, which the agent spends looking (its action is
    ignored and costs nothing), so that only a policy with memory can find the target.

    Registered ids (the defaults, episodes truncated after 20 steps):
    `reinforceable/MoveThenCommit1D-v0`, `MoveThenCommit2D-v0` (uniform targets), and the memory
    tasks `reinforceable/MemoryMoveThenCommit1D-v0` (targets at ±0.6, chance 1/2) and
    `MemoryMoveThenCommit2D-v0` (targets at the centres of the four quadrants, chance 1/4).

    Args:
        dims: 1 or 2.
        max_step: The largest move per step along each axis.
        radius: How close to the target a stop must be.
        step_cost: The cost of a step that does not stop.
        miss_penalty: The cost of stopping away from the target.
        cue: `"always"` (the target is observed at every step) or `"first"`.
        targets: `None` for uniform targets, or a `[K, dims]` array of targets to draw from.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(
        self,
        dims: int = 1,
        max_step: float = 0.5,
        radius: float = 0.1,
        step_cost: float = 0.01,
        miss_penalty: float = 0.0,
        cue: str = "always",
        targets=None,
    ):
        if dims not in (1, 2):
            raise ValueError(f"MoveThenCommit: `dims` must be 1 or 2; received {dims!r}.")
        if not 0.0 < radius < 0.5 or not max_step > 0.0:
            raise ValueError(
                "MoveThenCommit: `radius` must be in (0, 0.5) and `max_step` > 0; received "
                f"radius={radius!r}, max_step={max_step!r}."
            )
        if cue not in ("always", "first"):
            raise ValueError(
                f"MoveThenCommit: `cue` must be 'always' or 'first'; received {cue!r}."
            )
        self.targets = None if targets is None else np.asarray(targets, np.float64)
        if self.targets is not None and (
            self.targets.ndim != 2 or self.targets.shape[1] != dims or len(self.targets) == 0
        ):
            raise ValueError(
                f"MoveThenCommit: `targets` must be [K, dims={dims}]; received shape "
                f"{self.targets.shape}."
            )
        self.dims, self.max_step, self.radius = dims, float(max_step), float(radius)
        self.step_cost, self.miss_penalty, self.cue = float(step_cost), float(miss_penalty), cue
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (2 * dims,), np.float32)
        self.action_space = gym.spaces.Dict(
            {
                "step": gym.spaces.Box(-self.max_step, self.max_step, (dims,), np.float32),
                "stop": gym.spaces.Discrete(2),
            }
        )
        self._position = np.zeros(dims)
        self._target = np.zeros(dims)
        self._looking = False

    def _distance(self) -> float:
        return float(np.linalg.norm(self._position - self._target))

    def _observation(self) -> np.ndarray:
        hidden = self.cue == "first" and not self._looking
        target = np.zeros(self.dims) if hidden else self._target
        return np.concatenate([self._position, target]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        while True:
            self._position = self.np_random.uniform(-1.0, 1.0, self.dims)
            if self.targets is None:
                self._target = self.np_random.uniform(-1.0, 1.0, self.dims)
            else:
                self._target = self.targets[self.np_random.integers(len(self.targets))].copy()
            if self._distance() > 2 * self.radius:
                break
        self._looking = self.cue == "first"
        return self._observation(), {"distance": self._distance()}

    def step(self, action):
        if self._looking:  # the first step of a memory task: the agent sees the cue
            self._looking = False
            return self._observation(), 0.0, False, False, {"distance": self._distance()}
        if int(action["stop"]) == 1:
            success = self._distance() <= self.radius
            reward = 1.0 if success else -self.miss_penalty
            info = {"distance": self._distance(), "is_success": success}
            return self._observation(), reward, True, False, info
        move = np.clip(np.asarray(action["step"], np.float64).reshape(-1), -self.max_step,
                       self.max_step)  # fmt: skip
        self._position = np.clip(self._position + move, -1.0, 1.0)
        return self._observation(), -self.step_cost, False, False, {"distance": self._distance()}
