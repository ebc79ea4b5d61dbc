"""reinforceable: reinforcement learning and optimal control on TensorFlow, TFP and Keras 3.

Policies are ordinary Keras models built from the distribution layers in `reinforceable.layers`;
calling one returns TFP distributions, which `reinforceable.distributions.Joint` turns into a single
action distribution for hybrid (discrete and continuous) actions. `reinforceable.Driver` runs a
policy in gymnasium vector environments (`reinforceable.envs.GymEnv`), or in a model stepped in TF
ops (`reinforceable.envs.TFEnv`), with the whole loop inside `tf.function`. Agents
(`reinforceable.agents`) follow one contract, with actors and learners apart. Importing the
package registers its tasks with gymnasium (`reinforceable/...` ids).
"""

__version__ = "0.1.0"

# `_startup` first: it imports TensorFlow without its harmless start-up lines.
from reinforceable import (
    _startup,  # noqa: F401
    agents,
    distributed,
    distributions,
    driver,
    dynamics,
    envs,
    estimation,
    layers,
    models,
    networks,
    ops,
    planning,
    replay,
    training,
)
from reinforceable.distributions import BoundedNormal, Joint
from reinforceable.driver import Driver, KerasPolicy, Policy, RandomPolicy, Trajectory
from reinforceable.envs import Environment, EnvSpec, GymEnv, TFEnv, Timestep
from reinforceable.layers import (
    DenseBernoulli,
    DenseCategorical,
    DenseNormal,
    StatefulRNN,
    get_recurrent_state,
    reset_recurrent_state,
    set_recurrent_state,
)

__all__ = [
    "BoundedNormal",
    "DenseBernoulli",
    "DenseCategorical",
    "DenseNormal",
    "Driver",
    "EnvSpec",
    "Environment",
    "GymEnv",
    "Joint",
    "KerasPolicy",
    "Policy",
    "RandomPolicy",
    "StatefulRNN",
    "TFEnv",
    "Timestep",
    "Trajectory",
    "__version__",
    "agents",
    "distributed",
    "distributions",
    "driver",
    "dynamics",
    "envs",
    "estimation",
    "get_recurrent_state",
    "layers",
    "models",
    "networks",
    "ops",
    "planning",
    "replay",
    "reset_recurrent_state",
    "set_recurrent_state",
    "training",
]
