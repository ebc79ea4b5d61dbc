"""`Trainer`: the training loop shared by the agents (rollouts, updates, callbacks, checkpoints)."""

from __future__ import annotations

import csv
import math
import os
import pathlib
import time
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from reinforceable._checks import check_instance
from reinforceable.driver.driver import Driver
from reinforceable.driver.observers import EpisodeStatistics
from reinforceable.driver.policy import NonFiniteActionError
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.envs.vector import NonFiniteError
from reinforceable.errors import TrainingDivergedError
from reinforceable.training.callbacks import Callback
from reinforceable.training.health import WeightHealth
from reinforceable.training.run_dir import (
    PROGRESS_FILE,
    check_run_dir,
    read_progress,
    restore_newest_readable,
)
from reinforceable.training.trainable import Collectors

__all__ = ["Trainable", "Trainer", "final_metric"]


class Trainable:
    """The Trainer's side of the agent contract: every `reinforceable.agents.Agent` is one, and
    gets `fit` from it, as a Keras model gets `fit` from its trainer. It lives here, below the
    agents, so that the Trainer imports no agent (`reinforceable.agents.Agent` says it all).

    The Trainer uses, and nothing else: `collection` (what to collect per iteration, or `None`
    for an agent that learns from a model), `spec` and `env` (the default environment), `actor`
    (its `policy`, `process` and `checkpoint_items`), `policy`, `actor_models()`, `train`, the
    counters `env_steps` and `iterations` (TF variables), `set_budget(total_steps)` and
    `checkpoint_items()`; with runners, also `blueprint()`, `acting_state()`, `observe`,
    `update`, `off_policy` and, for a shared replay, the `SharedReplayLearner` capability.
    """

    def set_budget(self, total_steps: int) -> None:
        """Tells the agent the env steps that `fit` trains to, before it starts: schedules that
        decay over training use it (PPO's `LinearSchedule`s). Nothing by default."""

    def fit(self, total_steps: int, env=None, callbacks=None, **kwargs):
        """Trains until `env_steps` reaches `total_steps` (env steps, or model steps for a
        model-based agent) with `reinforceable.training.Trainer`, on `env` (by default the
        environment the agent was made with).

        Keyword arguments go to the `Trainer` (`run_dir`, `checkpoint_every`,
        `keep_checkpoints`, `resume`, `seed`, `runners`, `broadcast_every`, `replay`): with
        `runners=reinforceable.distributed.RayRunners(...)` the experience is collected in Ray
        actors. Returns the `Trainer`'s history.
        """
        return Trainer(self, env=env, callbacks=callbacks, **kwargs).fit(total_steps)


class Trainer:
    """Runs an agent's training loop: collect a rollout, update, log, evaluate, checkpoint.

    It uses the Trainer's side of the agent contract (`Trainable`, which every
    `reinforceable.agents.Agent` is) and nothing else. Each iteration, for an
    agent whose `collection` is not `None`, a `Driver` runs the agent's actor (`agent.policy`)
    in `env` as the collection says (so many steps per environment, or episodes per
    environment from fresh resets, recording sequence states where asked), `agent.actor`
    processes the trajectory (its stream's state, such as reward scaling's running returns),
    and `agent.train(trajectory)` learns from it, after which the actor acts with the new acting
    state. An agent without a collection (one that learns from a model: `AnalyticPolicySearch`)
    is trained with `agent.train()`, and its episode statistics come from its metrics.

    Each iteration's logs are Python floats: `iteration`, `env_steps`, `charts/episode_return`
    and `charts/episode_length` (last 100 training episodes), `charts/fps` (env steps per second
    of the whole iteration, update included), `charts/collect_fps` (of the rollout alone),
    `charts/policy_lag` (learner iterations since the acting state that collected the data),
    the agent's metrics (`losses/...`), and whatever callbacks add (`eval/...`). They are kept in
    `history` and, with a `run_dir`, appended to `run_dir/progress.csv`.

    Checkpoints: with a `run_dir`, a `tf.train.CheckpointManager` in `run_dir/checkpoints` saves
    the agent's `checkpoint_items()` (model, optimizer, step counters, normaliser statistics,
    random generators, ...), the actor's stream state and the Driver's generator every
    `checkpoint_every` iterations and at the end. Only a successful update is ever
    checkpointed, so a run that fails (a NaN loss, a crash, a SIGKILL) leaves the last good
    checkpoint in place. If `resume` is set and a checkpoint exists, `fit` restores it and
    continues from its step count; the environments start new episodes. A checkpoint that
    cannot be read in full (a truncated or corrupt file, missing variables) is named in a
    warning with the reason, moved aside as `<file>.unreadable` (never deleted or overwritten),
    and the newest intact one before it is used; `CheckpointError` if none can be read.
    TensorFlow writes each checkpoint under a temporary name and renames it, and the pointer to
    the latest one is updated after that, so a kill during a save leaves the previous
    checkpoint the latest. `progress.csv` is rewritten atomically, and a row cut short by a
    kill is dropped on resume.

    Args:
        agent: The `Agent` to train.
        callbacks: `Callback`s (`ProgressBar`, `TensorBoard`, `LearningCurve`, `Evaluation`...).
        run_dir: Directory for checkpoints, `progress.csv` and the callbacks' files. `None`
            writes nothing.
        checkpoint_every: Iterations between checkpoints (`None`: only at the end).
        keep_checkpoints: How many checkpoints to keep.
        resume: Continue from the latest checkpoint in `run_dir`, if there is one.
        seed: Seed of the Driver's action sampling.
        env: The `Environment` to collect in; by default the one the agent was made with. Its
            spaces must match the agent's spec.
        runners: Collect with `reinforceable.distributed` runners instead (`RayRunners` for
            other processes and machines, `LocalRunners`): on-policy agents wait for one chunk
            of every runner, collected with the current acting state; off-policy agents (SAC)
            learn from whatever arrives while the runners go on sampling. The runners start
            after a resume and are closed at the end, or on error. Their actors' stream state
            (reward scaling's running returns) lives in the runners and is not checkpointed.
        broadcast_every: With off-policy runners, updates between broadcasts of the acting
            state.
        replay: With off-policy runners, a shared replay (`RayReplay`, Ape-X): the runners
            store their experience in it and the agent samples its batches from it.

    Raises:
        TypeError: For an agent that is not an `Agent`, or callbacks that are not `Callback`s.
        ValueError: For an agent that collects experience but has no environment, or an
            environment whose spaces differ from the agent's spec.
        CheckpointError: (from `fit`) if resuming and no checkpoint can be read.
    """

    def __init__(
        self,
        agent,
        callbacks: Sequence[Callback] | None = None,
        run_dir=None,
        checkpoint_every: int | None = 10,
        keep_checkpoints: int = 3,
        resume: bool = True,
        seed: int | None = None,
        env=None,
        runners=None,
        broadcast_every: int = 1,
        replay=None,
    ):
        check_instance("Trainer", "agent", agent, Trainable, "a reinforceable.agents.Agent")
        callbacks = list(callbacks or [])
        for callback in callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(
                    "Trainer: every callback must be a reinforceable.training.Callback; received "
                    f"{type(callback).__name__}."
                )
        if checkpoint_every is not None and (
            isinstance(checkpoint_every, bool)
            or not isinstance(checkpoint_every, int)
            or checkpoint_every <= 0
        ):
            raise ValueError(
                f"Trainer: `checkpoint_every` must be a positive int or None; received "
                f"{checkpoint_every!r}."
            )
        self.agent = agent
        self.collection = agent.collection
        self.env = agent.env if env is None else env
        # Callbacks that add logs run first, so the others see complete logs.
        self.callbacks = sorted(callbacks, key=lambda c: not c.adds_logs)
        self.run_dir = None if run_dir is None else pathlib.Path(run_dir)
        self.checkpoint_every = checkpoint_every
        self.keep_checkpoints = keep_checkpoints
        self.resume = bool(resume)
        self.history: list[dict[str, float]] = []
        self.total_steps = 0
        self.is_last_iteration = False
        self.driver = None
        items = {**agent.checkpoint_items(), **_prefixed("actor", agent.actor.checkpoint_items())}
        self.runners = None
        if runners is not None:
            if not isinstance(runners, Collectors):
                raise TypeError(
                    "Trainer: `runners` must be reinforceable.distributed Runners (LocalRunners "
                    f"or RayRunners); received {type(runners).__name__}."
                )
            self.runners = runners.loop(agent, seed, broadcast_every, replay)
        elif replay is not None:
            raise ValueError("Trainer: `replay` needs `runners` (they fill it).")
        elif self.collection is not None:
            if self.env is None:
                raise ValueError(
                    f"Trainer: {type(agent).__name__} collects experience, so it needs an "
                    "environment: make the agent with one, or give `env`."
                )
            agent.spec.check_compatible(EnvSpec.of(self.env, "Trainer"), "Trainer", "`env`")
            self.driver = Driver(
                agent.policy,
                self.env,
                [EpisodeStatistics()],
                seed=seed,
                sequence_length=self.collection.sequence_length,
            )
            items["driver_rng"] = self.driver.rng
        self.health = WeightHealth(agent.actor_models())
        self.checkpoint = tf.train.Checkpoint(**items)
        self.manager = None
        if self.run_dir is not None:
            check_run_dir(self.run_dir)
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, self.run_dir / "checkpoints", max_to_keep=keep_checkpoints
            )

    @property
    def env_steps(self) -> int:
        return int(self.agent.env_steps.numpy())

    def _restore(self) -> None:
        if self.manager is None or not self.resume or self.manager.latest_checkpoint is None:
            return
        prefix, self.manager = restore_newest_readable(
            self.checkpoint, self.manager, self.run_dir / "checkpoints", self.keep_checkpoints
        )
        self.agent.actor.update(self.agent.acting_state())
        iterations = int(self.agent.iterations.numpy())
        # Iterations after the checkpoint were lost with the run that made them.
        self.history = [
            row for row in read_progress(self.run_dir) if row["iteration"] <= iterations
        ]
        self._write_progress(rewrite=True)
        print(
            f"Resumed from {prefix} (iteration {iterations}, {self.env_steps:,} env steps).",
            flush=True,
        )

    def _write_progress(self, rewrite: bool = False) -> None:
        if self.run_dir is None or not self.history:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        path = self.run_dir / PROGRESS_FILE
        keys = list(dict.fromkeys(key for row in self.history for key in row))
        existing = []
        if path.exists() and not rewrite:
            with path.open(newline="") as file:
                existing = next(csv.reader(file), [])
        if rewrite or existing != keys:
            # New columns (an evaluation's) or a resume: write the whole file again, atomically.
            temporary = path.with_name(path.name + ".tmp")
            with temporary.open("w", newline="") as file:
                writer = csv.DictWriter(file, fieldnames=keys)
                writer.writeheader()
                writer.writerows(self.history)
            os.replace(temporary, path)
        else:
            with path.open("a", newline="") as file:
                csv.DictWriter(file, fieldnames=keys).writerow(self.history[-1])

    def _save(self) -> None:
        if self.manager is not None:
            if self.runners is not None:
                self.runners.before_checkpoint()
            self.manager.save(checkpoint_number=int(self.agent.iterations.numpy()))

    def _collect(self):
        """One collection; a non-finite observation or reward ends training as divergence."""
        try:
            return self.collection.run(self.driver)
        except (NonFiniteError, NonFiniteActionError) as error:
            kept = self.manager.latest_checkpoint if self.manager is not None else None
            source = "policy" if isinstance(error, NonFiniteActionError) else "environment"
            raise TrainingDivergedError(
                f"Trainer: the {source} returned a non-finite value while collecting for "
                f"iteration {int(self.agent.iterations.numpy()) + 1}: {error} The last good "
                f"checkpoint is kept: {kept or 'none was written'}."
            ) from error

    def fit(self, total_steps: int) -> list[dict[str, float]]:
        """Trains until the agent has seen `total_steps` env steps; returns the history.

        Raises:
            ValueError: If `total_steps` is not a positive int.
            TrainingDivergedError: If an update is NaN (from the agent), or the environment
                returns a non-finite observation or reward; the last good checkpoint is kept.
        """
        if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps <= 0:
            raise ValueError(
                f"Trainer.fit: `total_steps` must be a positive int; received {total_steps!r}."
            )
        self.total_steps = total_steps
        self.agent.set_budget(total_steps)
        self._restore()
        try:
            if self.runners is not None:
                self.runners.start()
            return self._loop(total_steps)
        finally:
            if self.runners is not None:
                self.runners.close()

    def _loop(self, total_steps: int) -> list[dict[str, float]]:
        for callback in self.callbacks:
            callback.on_train_begin(self)
        logs: dict[str, Any] = {}
        while self.env_steps < total_steps:
            start = time.perf_counter()
            steps_before = self.env_steps
            lag = {}
            if self.runners is not None:
                metrics, lag, waited = self.runners.iteration()
                collected = start + waited
                episode = {
                    "episode_return": lag.pop("charts/episode_return"),
                    "episode_length": lag.pop("charts/episode_length"),
                }
            elif self.driver is None:
                collected = time.perf_counter()
                metrics = self.agent.train()
                episode = {
                    "episode_return": metrics.pop("charts/episode_return", math.nan),
                    "episode_length": metrics.pop("charts/episode_length", math.nan),
                }
            else:
                trajectory = self.agent.actor.process(self._collect())
                collected = time.perf_counter()
                version = int(trajectory.policy_version[0])
                lag = {"charts/policy_lag": float(self.agent.iterations.numpy() - version)}
                metrics = self.agent.train(trajectory)
                episode = self.driver.metrics()
            elapsed = time.perf_counter() - start
            steps = self.env_steps - steps_before
            self.is_last_iteration = self.env_steps >= total_steps
            logs = {
                "iteration": float(self.agent.iterations.numpy()),
                "env_steps": float(self.env_steps),
                "charts/episode_return": episode["episode_return"],
                "charts/episode_length": episode["episode_length"],
                "charts/fps": steps / elapsed,
                "charts/collect_fps": steps / max(collected - start, 1e-9),
                **lag,
                **metrics,
                **self.health.check(int(self.agent.iterations.numpy())),
            }
            stop = False
            for callback in self.callbacks:
                stop |= callback.on_iteration_end(self, logs) is False
            self.history.append(logs)
            self._write_progress()
            iteration = int(logs["iteration"])
            if (
                (self.checkpoint_every is not None and iteration % self.checkpoint_every == 0)
                or self.is_last_iteration
                or stop
            ):
                self._save()
            if stop:
                break
        for callback in self.callbacks:
            callback.on_train_end(self, logs)
        return self.history


def _prefixed(prefix: str, items: dict[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{key}": value for key, value in items.items()}


def final_metric(history: list[dict[str, float]], key: str) -> float:
    """The last finite value of `key` in a history (NaN if there is none)."""
    for row in reversed(history):
        value = row.get(key)
        if value is not None and math.isfinite(value):
            return value
    return math.nan
