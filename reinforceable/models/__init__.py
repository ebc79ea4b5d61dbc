"""Differentiable models of systems in pure TF, shared by policy search, planners and estimators.

A `Model` has `step(state, action)`, `reward(state, action)` (and `cost = -reward`),
`observe(state)` and `terminal(state)`, batched over any leading dimensions and differentiable.
The classic-control models reproduce their gymnasium environments; `ModelEnv` makes a gymnasium
environment from any model, and `PartiallyObserved` a noisy, partially observed task.
"""

from reinforceable.models.base import Model
from reinforceable.models.classic import Acrobot, CartPole, MountainCar, Pendulum
from reinforceable.models.env import ModelEnv
from reinforceable.models.linear import LinearSystem, PointMass2D
from reinforceable.models.mujoco_model import MujocoModel
from reinforceable.models.partial import PartiallyObserved

__all__ = [
    "Acrobot",
    "CartPole",
    "LinearSystem",
    "Model",
    "ModelEnv",
    "MountainCar",
    "MujocoModel",
    "PartiallyObserved",
    "Pendulum",
    "PointMass2D",
]
