"""`ObservationNormalizer`: running normalisation of the floating leaves of an observation nest."""

from __future__ import annotations

import tensorflow as tf

from reinforceable.ops.normalization import RunningMeanStd

__all__ = ["ObservationNormalizer"]


class ObservationNormalizer(tf.Module):
    """Normalises every floating leaf of an observation nest with its own running statistics.

    Integer and boolean leaves (discrete observations, action masks, uint8 images) pass through
    untouched. `normalize` works on any number of leading batch axes.

    Args:
        observation_spec: The unbatched observation spec (`GymEnv.observation_spec`).
        clip: Bound on the normalised values.
    """

    def __init__(self, observation_spec, clip: float = 10.0, name: str = "observation_normalizer"):
        super().__init__(name=name)
        self.observation_spec = observation_spec
        self.statistics = [
            RunningMeanStd(spec.shape, clip=clip, name=f"leaf_{i}")
            if spec.dtype.is_floating
            else None
            for i, spec in enumerate(tf.nest.flatten(observation_spec))
        ]

    def update(self, observation) -> None:
        """Folds a batch of observations (leading axes of any shape) into the statistics."""
        for statistics, leaf in zip(self.statistics, tf.nest.flatten(observation), strict=True):
            if statistics is not None:
                statistics.update(leaf)

    def normalize(self, observation):
        flat = [
            leaf if statistics is None else statistics.normalize(leaf)
            for statistics, leaf in zip(self.statistics, tf.nest.flatten(observation), strict=True)
        ]
        return tf.nest.pack_sequence_as(observation, flat)
