"""Experience replay in TF variables: transitions (`ReplayBuffer`) and sequences with their
recurrent states (`SequenceReplay`); `ReplaySpec`, what an agent stores in a shared replay."""

from reinforceable.replay.buffer import ReplayBuffer
from reinforceable.replay.hindsight import HindsightReplay, her_goal_rows
from reinforceable.replay.sequence import (
    SequenceBatch,
    SequenceReplay,
    sequence_priority,
    sequence_starts,
    trajectory_sequences,
)
from reinforceable.replay.spec import ReplaySpec

__all__ = [
    "HindsightReplay",
    "ReplayBuffer",
    "ReplaySpec",
    "SequenceBatch",
    "SequenceReplay",
    "her_goal_rows",
    "sequence_priority",
    "sequence_starts",
    "trajectory_sequences",
]
