"""Registers `TestOnImport/Counter-v0` when imported: gymnasium's `module:id` form
(`"tests.envs.registers_on_import:TestOnImport/Counter-v0"`) imports this module first, as
`popgym:popgym-...` ids import popgym."""

import gymnasium as gym
import numpy as np

ID = "TestOnImport/Counter-v0"
FULL_ID = f"{__name__}:{ID}"


class Counter(gym.Env):
    """Observation: the step count over 10 (Box(1)); two actions; reward 1 for action 1."""

    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action):
        self._t += 1
        return np.full(1, self._t / 10, np.float32), float(action), False, self._t >= 10, {}


if ID not in gym.registry:
    gym.register(id=ID, entry_point=f"{__name__}:Counter")
