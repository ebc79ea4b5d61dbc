"""`MixedAction2D`: a 2-D arena with actions mixing a choice, a continuous move and a switch;
`MemoryMixedAction2D`: the same actions, with the target shown on the first step only."""

from __future__ import annotations

from typing import ClassVar

import gymnasium as gym
import numpy as np

__all__ = ["MemoryMixedAction2D", "MixedAction2D"]


class MixedAction2D(gym.Env):
    """Reach a target zone in a bounded 2-D arena and signal that you are there.

    On reset, the agent is placed uniformly at random in the arena `[-1, 1]^2` and a new target
    (the centre of a zone of radius `target_radius`) is drawn uniformly, inside the arena.

    Each action is a dict with three parts:

    * `"axis"`: `Discrete(2)`, move along x (0) or y (1);
    * `"move"`: `Box(-max_move, max_move, (1,))`, the signed distance to move along that axis
      (the position is clipped to the arena);
    * `"done"`: `Discrete(2)`, 1 to signal that the agent is in the target zone.

    Rewards: every step pays the progress made towards the target centre (previous distance minus
    new distance, a potential-based shaping that leaves the optimal policy unchanged). Signalling
    done ends the episode: +1 inside the zone (a success, `info["is_success"] = True`), -1 outside.
    The registered id `reinforceable/MixedAction2D-v0` truncates episodes after 50 steps.

    Observation: `Box(-1, 1, (4,))`, the agent's position and the target centre.

    Args:
        target_radius: Radius of the target zone.
        max_move: Largest move per step.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, target_radius: float = 0.2, max_move: float = 1.0):
        if not 0.0 < target_radius < 1.0:
            raise ValueError(
                f"MixedAction2D: `target_radius` must be in (0, 1); received {target_radius!r}."
            )
        if not max_move > 0.0:
            raise ValueError(f"MixedAction2D: `max_move` must be > 0; received {max_move!r}.")
        self.target_radius = float(target_radius)
        self.max_move = float(max_move)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
        self.action_space = gym.spaces.Dict(
            {
                "axis": gym.spaces.Discrete(2),
                "move": gym.spaces.Box(-self.max_move, self.max_move, (1,), np.float32),
                "done": gym.spaces.Discrete(2),
            }
        )
        self._position = np.zeros(2)
        self._target = np.zeros(2)

    def _observation(self) -> np.ndarray:
        return np.concatenate([self._position, self._target]).astype(np.float32)

    def _distance(self) -> float:
        return float(np.linalg.norm(self._position - self._target))

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._position = self.np_random.uniform(-1.0, 1.0, 2)
        limit = 1.0 - self.target_radius
        self._target = self.np_random.uniform(-limit, limit, 2)
        return self._observation(), {"distance": self._distance()}

    def step(self, action):
        axis = int(action["axis"])
        move = float(
            np.clip(np.asarray(action["move"]).reshape(-1)[0], -self.max_move, self.max_move)
        )
        before = self._distance()
        self._position[axis] = np.clip(self._position[axis] + move, -1.0, 1.0)
        after = self._distance()
        reward = before - after
        terminated = bool(int(action["done"]) == 1)
        info = {"distance": after}
        if terminated:
            success = after <= self.target_radius
            reward += 1.0 if success else -1.0
            info["is_success"] = success
        return self._observation(), float(reward), terminated, False, info


class MemoryMixedAction2D(MixedAction2D):
    """`MixedAction2D` as a memory task: the target is shown on the first step only.

    On reset the agent stands at the centre and the target zone (radius 0.3) is one of the four
    centres `(±0.6, ±0.6)`, drawn uniformly. The observation is the agent's position and the
    target centre on the first step, the position and zeros after. The first action is ignored
    (the agent only looks; it earns nothing), so the position cannot carry the cue: from the
    second step on, what a memoryless policy sees does not depend on the target, and the best it
    can do is to signal in one zone, a success rate of 1/4 (chance). A policy that remembers the
    cue can succeed every time in three steps (move along x, along y, signal). Actions and rewards
    are those of `MixedAction2D`; the registered id `reinforceable/MemoryMixedAction2D-v0`
    truncates episodes after 20 steps.
    """

    CENTRES = np.array([[0.6, 0.6], [0.6, -0.6], [-0.6, 0.6], [-0.6, -0.6]])

    def __init__(self, max_move: float = 1.0):
        super().__init__(target_radius=0.3, max_move=max_move)
        self._first = True

    def _observation(self) -> np.ndarray:
        target = self._target if self._first else np.zeros(2)
        return np.concatenate([self._position, target]).astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        gym.Env.reset(self, seed=seed)
        self._position = np.zeros(2)
        self._target = self.CENTRES[self.np_random.integers(len(self.CENTRES))].copy()
        self._first = True
        return self._observation(), {"distance": self._distance()}

    def step(self, action):
        if self._first:
            self._first = False
            return self._observation(), 0.0, False, False, {"distance": self._distance()}
        return super().step(action)
