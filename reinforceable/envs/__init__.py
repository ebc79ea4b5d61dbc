"""Environments: the `Environment` protocol the Driver runs, `GymEnv` (gymnasium vector
environments; `atari_env` for preprocessed Atari games in ale-py's C++ vector environment) and
`TFEnv` (a `Model` stepped in TF ops), their `EnvSpec`, and the package's own tasks.

Importing this module registers the tasks with gymnasium under the `reinforceable/` namespace:
the velocity-masked classic-control tasks (see `masked`), `reinforceable/MixedAction2D-v0` and
`reinforceable/MemoryMixedAction2D-v0`, and the goal tasks `reinforceable/BitFlipping-v0`
(discrete, 10 bits) and `reinforceable/BitFlippingContinuous-v0` (15 bits).
"""

import gymnasium as gym

from reinforceable.envs.atari import atari_env
from reinforceable.envs.base import Environment
from reinforceable.envs.bit_flipping import BitFlipping
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.envs.errors import EnvError, NonFiniteError
from reinforceable.envs.masked import MASKED_TASKS, ObservationSubset
from reinforceable.envs.mixed_action import MemoryMixedAction2D, MixedAction2D
from reinforceable.envs.specs import SpaceConverter, batch_spec, space_to_spec
from reinforceable.envs.tf_env import TFEnv
from reinforceable.envs.timestep import Timestep
from reinforceable.envs.vector import GymEnv

__all__ = [
    "BitFlipping",
    "EnvError",
    "EnvSpec",
    "Environment",
    "GymEnv",
    "MemoryMixedAction2D",
    "MixedAction2D",
    "NonFiniteError",
    "ObservationSubset",
    "SpaceConverter",
    "TFEnv",
    "Timestep",
    "atari_env",
    "batch_spec",
    "space_to_spec",
]


def _register() -> None:
    for env_id, (base_id, keep, max_steps) in MASKED_TASKS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="reinforceable.envs.masked:make_masked",
                kwargs={"base_id": base_id, "keep": keep},
                max_episode_steps=max_steps,
            )
    if "reinforceable/MemoryMixedAction2D-v0" not in gym.registry:
        gym.register(
            id="reinforceable/MemoryMixedAction2D-v0",
            entry_point="reinforceable.envs.mixed_action:MemoryMixedAction2D",
            max_episode_steps=20,
        )
    quadrants = [[0.6, 0.6], [0.6, -0.6], [-0.6, 0.6], [-0.6, -0.6]]
    for dims, memory, kwargs in (
        (1, False, {}),
        (2, False, {"radius": 0.2}),
        (1, True, {"cue": "first", "targets": [[0.6], [-0.6]]}),
        (2, True, {"cue": "first", "targets": quadrants}),
    ):
        env_id = f"reinforceable/{'Memory' if memory else ''}MoveThenCommit{dims}D-v0"
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="reinforceable.envs.move_commit:MoveThenCommit",
                kwargs={"dims": dims, **kwargs},
                max_episode_steps=20,
            )
    if "reinforceable/BitFlipping-v0" not in gym.registry:
        gym.register(
            id="reinforceable/BitFlipping-v0",
            entry_point="reinforceable.envs.bit_flipping:BitFlipping",
        )
        # The HER paper's 15 bits, with the continuous actions of DDPG and TD3.
        gym.register(
            id="reinforceable/BitFlippingContinuous-v0",
            entry_point="reinforceable.envs.bit_flipping:BitFlipping",
            kwargs={"n_bits": 15, "continuous": True},
        )
    if "reinforceable/MixedAction2D-v0" not in gym.registry:
        gym.register(
            id="reinforceable/MixedAction2D-v0",
            entry_point="reinforceable.envs.mixed_action:MixedAction2D",
            max_episode_steps=50,
        )


_register()
