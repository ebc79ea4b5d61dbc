"""Experience replay in TF variables: transitions (`ReplayBuffer`) and sequences with their
recurrent states (`SequenceReplay`)."""

from reinforceable.replay.buffer import ReplayBuffer
from reinforceable.replay.sequence import (
    SequenceBatch,
    SequenceReplay,
    sequence_priority,
    sequence_starts,
    trajectory_sequences,
)

__all__ = [
    "ReplayBuffer",
    "SequenceBatch",
    "SequenceReplay",
    "sequence_priority",
    "sequence_starts",
    "trajectory_sequences",
]
