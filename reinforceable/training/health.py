"""`WeightHealth`: a cheap training-health check on the size of the learner's weights, which
warns once when an update looks divergent (a learning rate far too high, say), and logs it."""

from __future__ import annotations

import math
import warnings

import keras
import tensorflow as tf

__all__ = ["DivergenceWarning", "WeightHealth"]

RMS_LIMIT = 1e3
"""A weight RMS no trained network reaches (they sit near 0.01-1): past it, training diverged."""
GROWTH_LIMIT = 10.0
"""The weights' RMS growing tenfold within one iteration: no healthy update does that."""


class DivergenceWarning(UserWarning):
    """Training looks divergent (the weights exploded), though no value is NaN yet."""


class WeightHealth:
    """After every iteration, the root mean square of each actor model's weights,
    `rms = ‖θ‖₂ / √n` over its `n` trainable parameters: logged as `health/weight_rms/<name>`,
    and a `DivergenceWarning` (once per run) when it passes `RMS_LIMIT` or grows more than
    `GROWTH_LIMIT`-fold in one iteration. NaN weights are the agents' `TrainingDivergedError`;
    this catches the step before, where a PPO with `learning_rate=1e9` finished with weights of
    1e9 and no word. Its cost is one norm over the weights per iteration.

    Args:
        models: The models to watch (`agent.actor_models()`), by name.
    """

    def __init__(self, models: dict[str, keras.Model]):
        self.models = {name: model for name, model in models.items() if model.trainable_weights}
        self.previous = {name: _rms(model) for name, model in self.models.items()}
        self.warned = False

    def check(self, iteration: int) -> dict[str, float]:
        """The iteration's `health/` logs; warns the first time the weights look divergent."""
        logs = {}
        for name, model in self.models.items():
            rms = logs[f"health/weight_rms/{name}"] = _rms(model)
            before, self.previous[name] = self.previous[name], rms
            grew = before > 1e-3 and rms > GROWTH_LIMIT * before
            if not self.warned and math.isfinite(rms) and (rms > RMS_LIMIT or grew):
                self.warned = True
                change = f"from {before:.3g} to {rms:.3g}"
                warnings.warn(
                    f"Trainer: training looks divergent at iteration {iteration}: the RMS of the "
                    f"{name} model's weights went {change} (trained networks sit near 0.01-1). "
                    "Lower the config's learning rate, or clip gradients harder. Logged as "
                    f"health/weight_rms/{name}; warned once per run.",
                    DivergenceWarning,
                    stacklevel=4,
                )
        return logs


def _rms(model: keras.Model) -> float:
    weights = model.trainable_weights
    size = sum(int(tf.size(w)) for w in weights)
    norm = float(tf.linalg.global_norm([tf.cast(w, tf.float32) for w in weights]))
    return norm / math.sqrt(max(size, 1))
