"""The best agent so far: saved whenever an evaluation beats every earlier one.

`Evaluation(env, save_best=True)` keeps one (SB3's `EvalCallback(best_model_save_path=...)`).
The agent is saved with `agent.save(path, files={"best.json": ...})` (the score, env steps and
iteration it was reached at, written with the agent), which takes the place of the previous
best in one rename, so a kill leaves the previous best whole and its score beside it. A resumed
run reads `best.json` and only replaces the agent with a better one.
"""

from __future__ import annotations

import json
import math
import pathlib

__all__ = ["SCORE_FILE", "BestAgent"]

SCORE_FILE = "best.json"


class BestAgent:
    """The directory `path` holding the best agent so far and its score (`best.json`)."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self._score: float | None = None

    @property
    def score(self) -> float:
        """The best score saved so far (`-inf` when nothing is saved)."""
        if self._score is None:
            file = self.path / SCORE_FILE
            self._score = json.loads(file.read_text())["score"] if file.exists() else -math.inf
        return self._score

    def offer(self, agent, score: float, env_steps: float, iteration: float) -> bool:
        """Saves `agent` if `score` beats the best so far; returns whether it did. A NaN score
        (an evaluation without a finished episode) is never saved."""
        if math.isnan(score) or score <= self.score:
            return False
        record = {"score": float(score), "env_steps": int(env_steps), "iteration": int(iteration)}
        agent.save(self.path, files={SCORE_FILE: json.dumps(record, indent=2)})
        self._score = float(score)
        return True
