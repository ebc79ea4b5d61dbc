"""`Fit`: the one-call training entry point that every agent shares."""

from __future__ import annotations


class Fit:
    """Adds `fit` to an agent that satisfies `reinforceable.training.Trainer`'s contract."""

    def fit(self, total_steps: int, callbacks=None, **kwargs):
        """Trains until the agent's `env_steps` reaches `total_steps` (env steps, or model steps
        for a model-based agent) with `reinforceable.training.Trainer`.

        Keyword arguments go to the `Trainer` (`run_dir`, `checkpoint_every`,
        `keep_checkpoints`, `resume`, `seed`). Returns the `Trainer`'s history.
        """
        from reinforceable.training.trainer import Trainer

        return Trainer(self, callbacks=callbacks, **kwargs).fit(total_steps)
