"""Callbacks for `Trainer`: progress, TensorBoard, learning curves and evaluation.

A callback has three hooks, each given the `Trainer` (its `agent`, `env`, `run_dir`,
`total_steps` and `history`). `on_iteration_end` also gets the iteration's `logs`, a dict of
Python floats keyed by namespaced metric names (`charts/episode_return`, `losses/approx_kl`,
...); returning `False` from it stops training (as in SB3). Callbacks that add to the logs
(`Evaluation`) run before the others, so every callback sees the same, complete logs.
"""

from __future__ import annotations

import math
import pathlib
import time
from typing import TYPE_CHECKING

import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable.driver.evaluation import evaluate_episodes, evaluation_driver
from reinforceable.envs.base import Environment
from reinforceable.training.best import BestAgent
from reinforceable.training.logger import SCALAR, Logger

if TYPE_CHECKING:
    from reinforceable.training.trainer import Trainer

__all__ = [
    "Callback",
    "Evaluation",
    "LearningCurve",
    "ProgressBar",
    "StopAtReturn",
    "TensorBoard",
]


class Callback:
    """Base class; override any of the hooks."""

    adds_logs = False
    """Whether `on_iteration_end` adds entries to `logs` (such callbacks run first)."""

    def on_train_begin(self, trainer: Trainer) -> None:
        """Called once before the first iteration (after a resumed run's state is restored)."""

    def on_iteration_end(self, trainer: Trainer, logs: dict[str, float]) -> bool | None:
        """Called after each rollout and update; return `False` to stop training."""

    def on_train_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        """Called once at the end, with the last iteration's logs."""


class Evaluation(Callback):
    """Runs the deterministic policy (`agent.eval_policy`) every `every` iterations.

    Adds `eval/episode_return` and `eval/episode_length` (means over `episodes` episodes) to the
    logs of the iterations where it runs, and to the last one. With `save_best=True` it also
    keeps the best agent so far (SB3's `EvalCallback`): whenever the mean return beats every
    earlier evaluation, the agent is saved with `agent.save` in `best_path` (by default
    `<run_dir>/best_agent`) beside `best.json` (score, env steps, iteration), and
    `eval/best_return` is logged. A resumed run keeps the saved best unless it beats it;
    `Agent.load(best_path)` loads it.

    Args:
        env: The evaluation environments, an `Environment` (`GymEnv`, `TFEnv`) separate from the
            training one (with its own seed).
        every: Iterations between evaluations.
        episodes: Episodes per evaluation. Episodes that end first are counted first, so use as
            many environments as you can, and `episodes` a multiple of their number.
        save_best: Keep the best agent so far.
        best_path: Where to keep it; needed when the `Trainer` has no `run_dir`.
    """

    adds_logs = True

    def __init__(
        self,
        env: Environment,
        every: int = 10,
        episodes: int = 10,
        save_best: bool = False,
        best_path=None,
    ):
        check_instance(
            "Evaluation", "env", env, Environment, "a reinforceable Environment (GymEnv, TFEnv)"
        )
        for name, value in (("every", every), ("episodes", episodes)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"Evaluation: `{name}` must be a positive int; received {value!r}."
                )
        check_instance("Evaluation", "save_best", save_best, bool, "a bool")
        self.env = env
        self.every = every
        self.episodes = episodes
        self.save_best = save_best
        self.best_path = None if best_path is None else pathlib.Path(best_path)
        self.best: BestAgent | None = None
        self._driver = None

    def on_train_begin(self, trainer):
        if not self.save_best:
            return
        if self.best_path is None and trainer.run_dir is None:
            raise ValueError(
                "Evaluation(save_best=True) needs a place for the best agent: give `best_path`, "
                "or a `run_dir` to the Trainer (or to fit/train); received neither."
            )
        self.best = BestAgent(self.best_path or trainer.run_dir / "best_agent")

    def evaluate_policy(self, policy) -> dict[str, float]:
        """Runs `policy` for `episodes` episodes from fresh resets; returns the `eval/` means."""
        if self._driver is None or self._driver.policy is not policy:
            self._driver = evaluation_driver(policy, self.env, self.episodes)
        return evaluate_episodes(self._driver, self.episodes)

    def on_iteration_end(self, trainer, logs):
        iteration = int(logs["iteration"])
        if iteration % self.every == 0 or trainer.is_last_iteration:
            logs.update(self.evaluate_policy(trainer.agent.eval_policy))
            if self.best is not None:
                self.best.offer(
                    trainer.agent, logs["eval/episode_return"], logs["env_steps"], iteration
                )
                logs["eval/best_return"] = self.best.score


class StopAtReturn(Callback):
    """Stops training once a logged return reaches `threshold` (SB3's
    `StopTrainingOnRewardThreshold`).

    By default it watches `eval/episode_return`, which an `Evaluation` callback adds; with
    `key="charts/episode_return"` it watches the training episodes' mean return instead. The
    Trainer saves a checkpoint at the iteration where training stops.

    Args:
        threshold: The return at or above which training stops.
        key: The logged metric to compare.
        verbose: Print a line when training stops.
    """

    def __init__(self, threshold: float, key: str = "eval/episode_return", verbose: bool = True):
        check_instance("StopAtReturn", "threshold", threshold, (int, float), "a number")
        if isinstance(threshold, bool) or not math.isfinite(threshold):
            raise ValueError(
                f"StopAtReturn: `threshold` must be a finite number; received {threshold!r}."
            )
        check_instance("StopAtReturn", "key", key, str, "a metric name")
        self.threshold = float(threshold)
        self.key = key
        self.verbose = verbose
        self.stopped_at: float | None = None
        """Env steps at which it stopped training (`None` until it does)."""

    def on_train_begin(self, trainer):
        if self.key.startswith("eval/") and not any(c.adds_logs for c in trainer.callbacks):
            raise ValueError(
                f"StopAtReturn: `key` {self.key!r} is logged by an Evaluation callback, and the "
                "callbacks have none; add `Evaluation(eval_env)` or use "
                "key='charts/episode_return'."
            )

    def on_iteration_end(self, trainer, logs):
        value = logs.get(self.key)
        if value is None or math.isnan(value) or value < self.threshold:
            return None
        self.stopped_at = logs["env_steps"]
        if self.verbose:
            print(
                f"StopAtReturn: {self.key} {value:.1f} >= {self.threshold:g} at "
                f"{int(logs['env_steps']):,} env steps; training stops."
            )
        return False


class ProgressBar(Callback):
    """A progress bar (rich) with env steps, episode return and env steps per second.

    When the output is not a terminal (a log file, CI), it prints one line every `print_every`
    iterations instead.
    """

    def __init__(self, print_every: int = 10):
        self.print_every = print_every
        self._progress = None

    def on_train_begin(self, trainer):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._console = Console()
        self._start = time.perf_counter()
        self._start_steps = trainer.env_steps
        if self._console.is_terminal:
            self._progress = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} steps"),
                TextColumn("{task.fields[status]}"),
                TimeRemainingColumn(),
                console=self._console,
            )
            self._task = self._progress.add_task(
                "training", total=trainer.total_steps, completed=trainer.env_steps, status=""
            )
            self._progress.start()

    @staticmethod
    def _status(logs) -> str:
        """`return R | eval E | success S | F steps/s` (success where the evaluation env
        carries `is_success`); a return is shown as `–` until an episode has
        ended (not as `nan`)."""

        def value(key: str) -> str:
            number = logs.get(key, math.nan)
            return f"{number:.1f}" if math.isfinite(number) else "–"

        parts = [f"return {value('charts/episode_return')}"]
        if "eval/episode_return" in logs:
            parts.append(f"eval {value('eval/episode_return')}")
        if "eval/success_rate" in logs:
            parts.append(f"success {logs['eval/success_rate']:.0%}")
        parts.append(f"{logs.get('charts/fps', 0.0):,.0f} steps/s")
        return " | ".join(parts)

    def on_iteration_end(self, trainer, logs):
        if self._progress is not None:
            self._progress.update(
                self._task, completed=logs["env_steps"], status=self._status(logs)
            )
        elif int(logs["iteration"]) % self.print_every == 0 or trainer.is_last_iteration:
            print(
                f"iteration {int(logs['iteration'])} | {int(logs['env_steps']):,} steps | "
                + self._status(logs),
                flush=True,
            )

    def on_train_end(self, trainer, logs):
        if self._progress is not None:
            self._progress.stop()


class TensorBoard(Callback):
    """Writes every logged scalar as a TensorBoard summary, against env steps.

    Args:
        log_dir: Where the event files go; defaults to `run_dir / "tensorboard"`.
    """

    def __init__(self, log_dir=None):
        self.log_dir = log_dir
        self._writer = None

    def on_train_begin(self, trainer):
        log_dir = self.log_dir
        if log_dir is None:
            if trainer.run_dir is None:
                raise ValueError(
                    "TensorBoard: give `log_dir`, or a `run_dir` to the trainer to write into."
                )
            log_dir = trainer.run_dir / "tensorboard"
        self._writer = tf.summary.create_file_writer(str(log_dir))

    def on_iteration_end(self, trainer, logs):
        step = int(logs["env_steps"])
        with self._writer.as_default(step=step):
            for key, value in logs.items():
                if key not in ("iteration", "env_steps") and math.isfinite(value):
                    tf.summary.write(key, tf.constant(value, tf.float32), metadata=SCALAR)
        self._writer.flush()

    def on_train_end(self, trainer, logs):
        self._writer.close()


class LogTo(Callback):
    """Sends every iteration's logs to a `Logger` (a file or TensorBoard backend, under nested
    scopes), with the env steps as its step: the interim-results logger of guided policy
    search, for any agent that trains with `fit`.

    Args:
        logger: The `Logger`; the callback neither flushes nor closes it except at the end of
            training (flush).
        scope: The scope the values go under (`"train"`; "" for none).
    """

    def __init__(self, logger: Logger, scope: str = "train"):
        check_instance("LogTo", "logger", logger, Logger)
        self.logger, self.scope = logger, scope

    def on_iteration_end(self, trainer, logs):
        self.logger.step = int(logs["env_steps"])
        values = {k: v for k, v in logs.items() if k not in ("iteration", "env_steps")}
        if self.scope:
            with self.logger.scope(self.scope):
                self.logger.log_dict(values)
        else:
            self.logger.log_dict(values)

    def on_train_end(self, trainer, logs):
        self.logger.flush()


class LearningCurve(Callback):
    """Saves a learning-curve PNG (episode return against env steps) with matplotlib.

    Plots the training episode return (mean of the last 100 episodes) and, where present, the
    evaluation return. The figure is redrawn every `every` iterations and at the end, from the
    trainer's whole history (a resumed run's curve includes the iterations before the resume).

    Args:
        path: The PNG file; defaults to `run_dir / "learning_curve.png"`.
        every: Iterations between redraws.
        title: The figure title (defaults to the environment id).

    Raises:
        ImportError: At construction, if matplotlib is not installed (the `plot` extra).
    """

    def __init__(self, path=None, every: int = 50, title: str | None = None):
        try:
            import matplotlib  # noqa: F401
        except ImportError as error:
            raise ImportError(
                "LearningCurve needs matplotlib: pip install 'reinforceable[plot]'."
            ) from error
        self.path = None if path is None else pathlib.Path(path)
        self.every = every
        self.title = title

    def on_train_begin(self, trainer):
        if self.path is None:
            if trainer.run_dir is None:
                raise ValueError("LearningCurve: give `path`, or a `run_dir` to the trainer.")
            self.path = trainer.run_dir / "learning_curve.png"

    def on_iteration_end(self, trainer, logs):
        if int(logs["iteration"]) % self.every == 0:
            self.draw(trainer.history)

    def on_train_end(self, trainer, logs):
        self.draw(trainer.history)

    def draw(self, history: list[dict[str, float]]) -> pathlib.Path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6, 4))
        for key, label in (
            ("charts/episode_return", "training (last 100 episodes)"),
            ("eval/episode_return", "evaluation (deterministic)"),
        ):
            points = [
                (row["env_steps"], row[key])
                for row in history
                if key in row and math.isfinite(row[key])
            ]
            if points:
                steps, values = zip(*points, strict=True)
                axes.plot(
                    steps, values, label=label, marker="o" if key.startswith("eval") else None
                )
        axes.set_xlabel("environment steps")
        axes.set_ylabel("episode return")
        axes.set_title(self.title or "learning curve")
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
        figure.tight_layout()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(self.path, dpi=100)
        plt.close(figure)
        return self.path
