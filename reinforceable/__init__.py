"""reinforceable: reinforcement learning and optimal control on TensorFlow, TFP and Keras 3.

Policies are ordinary Keras models built from the distribution layers in `reinforceable.layers`;
calling one returns TFP distributions, which `reinforceable.distributions.Joint` turns into a single
action distribution for hybrid (discrete and continuous) actions.
"""

__version__ = "0.1.0"

from reinforceable import distributions, layers
from reinforceable.distributions import BoundedNormal, Joint
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
    "Joint",
    "StatefulRNN",
    "__version__",
    "distributions",
    "get_recurrent_state",
    "layers",
    "reset_recurrent_state",
    "set_recurrent_state",
]
