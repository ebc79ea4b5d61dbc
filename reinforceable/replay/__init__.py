"""Experience replay in TF variables."""

from reinforceable.replay.buffer import ReplayBuffer

__all__ = ["ReplayBuffer"]
