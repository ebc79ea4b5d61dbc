"""Errors shared across the layers (raised by agents and the Trainer)."""

__all__ = ["TrainingDivergedError"]


class TrainingDivergedError(FloatingPointError):
    """A loss or a gradient was NaN or infinite (the update that produced it was not applied), or
    the environment returned a non-finite observation or reward during training."""
