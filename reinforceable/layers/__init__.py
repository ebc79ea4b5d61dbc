"""Keras 3 layers that output TFP distributions, a stateful recurrent layer, and a noisy dense
layer for exploration (`NoisyDense`) and batch renormalisation for CrossQ's critics.

Compose them in one Keras model to build discrete, continuous, hybrid and recurrent policies.
"""

from reinforceable.layers.batch_renorm import BatchRenormalization, normalization_layers
from reinforceable.layers.dense_bernoulli import DenseBernoulli
from reinforceable.layers.dense_categorical import DenseCategorical
from reinforceable.layers.dense_normal import DenseNormal
from reinforceable.layers.fold_time import FoldTime
from reinforceable.layers.noisy_dense import NoisyDense, noisy_layers, sampled_noise
from reinforceable.layers.recurrent_state import (
    get_recurrent_state,
    recurrent_layers,
    reset_recurrent_state,
    set_recurrent_state,
)
from reinforceable.layers.stateful_rnn import GRUState, LSTMState, StatefulRNN

__all__ = [
    "BatchRenormalization",
    "DenseBernoulli",
    "DenseCategorical",
    "DenseNormal",
    "FoldTime",
    "GRUState",
    "LSTMState",
    "NoisyDense",
    "StatefulRNN",
    "get_recurrent_state",
    "noisy_layers",
    "normalization_layers",
    "recurrent_layers",
    "reset_recurrent_state",
    "sampled_noise",
    "set_recurrent_state",
]
