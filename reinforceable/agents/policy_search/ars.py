"""`ARSAgent`: Augmented Random Search (Mania, Guy and Recht, 2018), vectorised on the Driver."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import gymnasium as gym
import tensorflow as tf

from reinforceable._checks import (
    check_bool,
    check_number,
    check_positive_int,
    check_seed,
)
from reinforceable._random import generator
from reinforceable.agents._config import Config
from reinforceable.agents.base import Agent, Collection
from reinforceable.agents.policy_search.ars_actor import (
    ARSActor,
    ars_acting_variables,
    first_episode_rows,
    observation_statistics,
)
from reinforceable.driver.trajectory import Trajectory, concatenate, pad_rows
from reinforceable.envs.base import Environment
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.errors import TrainingDivergedError

__all__ = ["ARSAgent", "ARSConfig"]

OWNER = "ARSConfig"


@dataclasses.dataclass(frozen=True)
class ARSConfig(Config):
    """Hyperparameters of `ARSAgent`. The defaults are V2 with the paper's HalfCheetah step size
    and noise (N = 32, α = 0.02, ν = 0.03); its V2-t setting adds `top_directions=4`."""

    num_directions: int = 32
    """N: random directions per iteration; the env must have 2N environments (one per sign)."""
    top_directions: int | None = None
    """b: the directions with the best max(r+, r-) that make the update (V1-t/V2-t); `None`
    uses all N (V1/V2)."""
    step_size: float = 0.02
    """α, the learning rate."""
    noise: float = 0.03
    """ν, the scale of the perturbations."""
    normalize_observations: bool = True
    """V2: whiten observations with their running mean and standard deviation (V1: raw)."""
    statistics_every_step: bool = False
    """Fold each step's states into the whitening statistics as they come, as the paper's code
    and SB3's `VecNormalize` do, instead of after each iteration (all 2N policies then compared
    under one fixed whitening). Step by step, the first iteration already acts on whitened
    states: on HalfCheetah-v5 (1M steps, 5 seeds) the mean return rose from 2433 to 2809. On
    InvertedPendulum-v5 with `examples/ars_mujoco.py`'s settings, 1 seed of 6 reached 1000
    instead of 6 of 6 (early statistics come from states near the reset, with a tiny spread)."""
    observation_clip: float | None = 10.0
    """Whitened observations are clipped to ±this many standard deviations, as SB3's
    `VecNormalize` does (rare states far outside the statistics seen so far cannot swamp the
    linear policy); `None` does not clip (the paper's code)."""
    alive_bonus_offset: float = 0.0
    """Added to every training reward: the paper removes MuJoCo's survival bonus this way (-1 on
    Hopper, Walker2d; -1 on Ant...), so that standing still does not look like progress.
    Evaluation uses the true reward."""
    seed: int | None = None
    """Seed of the directions."""

    def __post_init__(self):
        check_positive_int(OWNER, "num_directions", self.num_directions)
        if self.top_directions is not None:
            check_positive_int(OWNER, "top_directions", self.top_directions)
            if self.top_directions > self.num_directions:
                raise ValueError(
                    f"{OWNER}: `top_directions` ({self.top_directions}) must not exceed "
                    f"`num_directions` ({self.num_directions})."
                )
        check_number(OWNER, "step_size", self.step_size, low=0.0)
        check_number(OWNER, "noise", self.noise, low=0.0)
        check_number(OWNER, "alive_bonus_offset", self.alive_bonus_offset)
        check_bool(OWNER, "normalize_observations", self.normalize_observations)
        check_bool(OWNER, "statistics_every_step", self.statistics_every_step)
        if self.observation_clip is not None:
            check_number(OWNER, "observation_clip", self.observation_clip, low=0.0)
        check_seed(OWNER, self.seed)


class ARSAgent(Agent):
    """Augmented Random Search: a linear policy improved by finite differences along random
    directions (Mania, Guy and Recht, 2018, "Simple random search provides a competitive
    approach to reinforcement learning").

    Each iteration draws N directions δ_i, runs the policies `M ± ν δ_i` for one episode each,
    all at once in the 2N environments of one vector env (the collection: one episode per
    environment from fresh resets; environments that finish early wait for the slowest), and
    moves `M ← M + α / (b σ_R) Σ_{top b} (r+_i - r-_i) δ_i`, where σ_R is the standard deviation
    of the 2b returns used. V2 (`normalize_observations`) whitens observations with the running
    statistics of the states of every environment's first episode (clipped to
    ±`observation_clip` standard deviations), which the learner updates after each iteration;
    with `statistics_every_step`, the actor also folds them in as it acts, so that the first
    iteration already acts on whitened states. Evaluation only reads them. Actions are clipped
    to the action space.

    `env_steps` counts every step the environments took, those after an environment's first
    episode included (a fair count for budgets). Same API as the other agents:
    `train(trajectory)` with a trajectory that the actor collected as `collection` says, or
    `fit(total_steps, callbacks=...)`.

    Args:
        env: An `EnvSpec` (or an `Environment`) with `2 * num_directions` environments, a flat
            `Box` observation space and a `Box` action space.
        config: An `ARSConfig`.

    Raises:
        TypeError, ValueError: For a config of the wrong type, spaces that are not flat boxes, or
            a number of environments other than `2 * num_directions`.

    Example:
        >>> config = ARSConfig(num_directions=8, top_directions=4)
        >>> env = rf.GymEnv("InvertedPendulum-v5", num_envs=16, seed=0)
        >>> ARSAgent(env, config).fit(200_000)
    """

    config_class = ARSConfig
    actor_class = ARSActor

    def __init__(self, env: EnvSpec | Environment, config: ARSConfig | None = None):
        super().__init__(env, config)
        spec, config = self.spec, self.config
        for name, space in (("observation", spec.observation_space), ("action", spec.action_space)):
            if not isinstance(space, gym.spaces.Box) or len(space.shape) != 1:
                raise ValueError(
                    f"ARSAgent: `env` must have a flat Box {name} space; received {space}."
                )
        if spec.num_envs != 2 * config.num_directions:
            raise ValueError(
                f"ARSAgent: `env` must have 2 * num_directions = {2 * config.num_directions} "
                f"environments (one per direction and sign); received {spec.num_envs}."
            )
        obs_dim, act_dim = spec.observation_space.shape[0], spec.action_space.shape[0]
        self.weights = tf.Variable(tf.zeros([act_dim, obs_dim]), name="weights")
        self.rng = generator(config.seed)
        self.directions = tf.Variable(
            self.rng.normal([config.num_directions, act_dim, obs_dim]), name="directions"
        )
        self.normalizer = observation_statistics(obs_dim, config.observation_clip)
        self._update_graph = tf.function(self._update_step, autograph=False, reduce_retracing=True)
        self._pending: list[Trajectory] = []
        self._build_actor()

    @property
    def collection(self) -> Collection:
        """One episode per environment, from fresh resets; each column runs its own
        perturbation, so runners share the columns out."""
        return Collection(episodes_per_env=1, fresh_episodes=True, splits_columns=True)

    def acting_variables(self) -> dict[str, tf.Variable]:
        return ars_acting_variables(self.weights, self.directions, self.normalizer)

    @classmethod
    def _from_saved(cls, env_or_spec, config, models, arguments, objects):
        return cls(env_or_spec, config)

    def _update_step(self, trajectory: Trajectory, steps):
        config = self.config
        ended = tf.cast(trajectory.terminated | trajectory.truncated, tf.int32)
        # Rows of each environment's first episode: no episode ended before them.
        first = tf.equal(tf.cumsum(ended, axis=0, exclusive=True), 0) & trajectory.valid
        rewards = trajectory.reward + config.alive_bonus_offset
        returns = tf.reduce_sum(rewards * tf.cast(first, tf.float32), 0)  # [2N]
        plus, minus = tf.split(returns, 2)
        best = tf.maximum(plus, minus)
        b = config.top_directions or config.num_directions
        top = tf.math.top_k(best, k=b).indices
        plus_top, minus_top = tf.gather(plus, top), tf.gather(minus, top)
        sigma = tf.math.reduce_std(tf.concat([plus_top, minus_top], 0))
        step = tf.einsum("i,iao->ao", plus_top - minus_top, tf.gather(self.directions, top))
        update = config.step_size / (b * tf.maximum(sigma, 1e-8)) * step
        finite = tf.reduce_all(tf.math.is_finite(update))

        def apply():
            self.weights.assign_add(update)
            if config.normalize_observations:
                rows = first_episode_rows(trajectory, config.statistics_every_step)
                self.normalizer.update(trajectory.observation, rows)
            self.directions.assign(self.rng.normal(tf.shape(self.directions)))
            return tf.constant(True)

        tf.cond(finite, apply, lambda: tf.constant(False))
        self.env_steps.assign_add(steps)  # real rows (not the padding of runners' shares)
        self.iterations.assign_add(1)
        metrics = tf.stack(
            [
                tf.reduce_mean(returns),
                tf.reduce_max(returns),
                sigma,
                tf.reduce_sum(tf.cast(first, tf.float32)) / tf.cast(tf.size(first), tf.float32),
            ]
        )
        return finite, metrics

    def _observe(self, trajectory: Trajectory) -> None:
        """Keeps the iteration's trajectory (one episode per perturbed policy) for `update`:
        one of 2N columns, or runners' shares of them, observed in column order."""
        envs = trajectory.reward.shape[1]
        observed = sum(t.reward.shape[1] for t in self._pending) + envs
        if observed > self.num_envs:
            raise ValueError(
                f"ARSAgent.observe: the trajectories of one update must have one column per "
                f"perturbed policy, 2 * num_directions = {self.num_envs} in all; received "
                f"{observed}."
            )
        self._pending.append(trajectory)

    def _update(self) -> dict[str, float]:
        """One ARS step from the observed trajectory; returns the metrics.

        Raises:
            ValueError: If the trajectories observed since the last update do not hold the 2N
                columns.
            TrainingDivergedError: If the update is not finite (it is not applied).
        """
        pending, self._pending = self._pending, []
        columns = sum(t.reward.shape[1] for t in pending)
        if columns != self.num_envs:
            raise ValueError(
                f"ARSAgent.update: observe trajectories with one column per perturbed policy, "
                f"2 * num_directions = {self.num_envs} in all, first; received {columns}."
            )
        steps = sum(int(tf.size(t.reward)) for t in pending)
        if len(pending) == 1:
            trajectory = pending[0]
        else:  # runners' shares: episodes of different lengths, padded with non-transitions
            length = max(int(t.reward.shape[0]) for t in pending)
            trajectory = concatenate([pad_rows(t, length) for t in pending])
        finite, metrics = self._update_graph(trajectory, tf.constant(steps, tf.int64))
        if not bool(finite):
            raise TrainingDivergedError(
                f"ARSAgent: the update at iteration {int(self.iterations.numpy())} is not "
                "finite; it was not applied."
            )
        mean, best, sigma, used = (float(x) for x in metrics.numpy())
        return {
            "charts/perturbed_return_mean": mean,
            "charts/perturbed_return_max": best,
            "losses/return_std": sigma,
            "charts/first_episode_fraction": used if math.isfinite(used) else 0.0,
        }

    def checkpoint_items(self) -> dict[str, Any]:
        return {
            "weights": self.weights,
            "directions": self.directions,
            "normalizer": self.normalizer,
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "rng": self.rng,
        }
