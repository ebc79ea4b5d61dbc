"""`ARSActor`: the linear policies of Augmented Random Search, perturbed and not."""

from __future__ import annotations

import math

import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint, acting_variables
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.ops.normalization import RunningMeanStd

__all__ = ["ARSActor", "ars_acting_variables", "observation_statistics"]


def observation_statistics(obs_dim: int, observation_clip: float | None) -> RunningMeanStd:
    """The whitening statistics of ARS V2 (clipped to ±`observation_clip` std)."""
    clip = math.inf if observation_clip is None else observation_clip
    return RunningMeanStd((obs_dim,), clip=clip, name="observation_statistics")


def ars_acting_variables(weights, directions, statistics) -> dict:
    """ARS's acting variables, keyed alike on both sides: the policy matrix `M`, the current
    directions `δ` and the whitening statistics."""
    return acting_variables(weights=weights, directions=directions, statistics=statistics)


class _LinearPolicy(Policy):
    """`a = clip(M normalise(o))`; perturbed, environment `i` of the first N uses `M + ν δ_i`
    and environment `N + i` uses `M - ν δ_i`."""

    def __init__(self, actor: ARSActor, perturbed: bool):
        self.actor, self.perturbed = actor, perturbed

    def step(self, timestep, state, seed):
        actor, config = self.actor, self.actor.config
        observation = tf.cast(timestep.observation, tf.float32)
        if config.normalize_observations:
            if self.perturbed and config.statistics_every_step:
                # The states of each environment's first episode since the Driver's reset,
                # folded in as they come (the learner folds the same rows in afterwards).
                started = tf.cast(timestep.episode_start, tf.int32)
                begun = actor.episodes_begun.assign_add(started)
                actor.statistics.update(observation, begun <= 1)
            observation = actor.statistics.normalize(observation)
        if self.perturbed:
            offsets = config.noise * actor.directions  # [N, A, O]
            matrices = actor.weights[None] + tf.concat([offsets, -offsets], 0)
            if actor.columns is not None:  # a runner's share of the 2N perturbations
                matrices = matrices[actor.columns[0] : actor.columns[0] + actor.columns[1]]
            action = tf.einsum("bao,bo->ba", matrices, observation)
        else:
            action = tf.linalg.matvec(actor.weights, observation)
        action = tf.clip_by_value(action, actor.low, actor.high)
        return PolicyStep(action=action, state=(), extras={})

    def reset(self) -> None:
        if self.perturbed:
            self.actor.episodes_begun.assign(tf.zeros_like(self.actor.episodes_begun))


class ARSActor(Actor):
    """Acts with copies of ARS's matrix, directions and whitening statistics: `policy` runs the
    2N perturbed policies (one per environment), `eval_policy` the unperturbed one. With
    `statistics_every_step`, the perturbed policy folds the states of each environment's first
    episode (since the Driver's last reset) into its statistics as it acts.

    Args:
        agent: The agent type, which acting states must name.
        spec: The `EnvSpec` (flat Box observations and actions).
        config: The `ARSConfig`.
    """

    def __init__(self, agent: str, spec: EnvSpec, config):
        self.config = config
        obs_dim = spec.observation_space.shape[0]
        act_dim = spec.action_space.shape[0]
        self.low = tf.constant(spec.action_space.low, tf.float32)
        self.high = tf.constant(spec.action_space.high, tf.float32)
        self.weights = tf.Variable(tf.zeros([act_dim, obs_dim]), name="weights")
        self.directions = tf.Variable(
            tf.zeros([config.num_directions, act_dim, obs_dim]), name="directions"
        )
        self.statistics = observation_statistics(obs_dim, config.observation_clip)
        # Episodes each environment has begun since the Driver's last reset.
        self.episodes_begun = tf.Variable(
            tf.zeros([2 * config.num_directions], tf.int32), trainable=False, name="episodes_begun"
        )
        self.columns: tuple[int, int] | None = None
        self.policy = _LinearPolicy(self, perturbed=True)
        self.eval_policy = _LinearPolicy(self, perturbed=False)
        super().__init__(
            agent, ars_acting_variables(self.weights, self.directions, self.statistics)
        )

    def assign_columns(self, first: int, count: int) -> None:
        """Runs perturbations `first` to `first + count - 1` of the 2N (index `i < N` is
        `M + ν δ_i`, `N + i` is `M - ν δ_i`) in this actor's `count` environments."""
        total = 2 * self.config.num_directions
        if first < 0 or count <= 0 or first + count > total:
            raise ValueError(
                f"ARSActor: columns [{first}, {first + count}) do not fit the {total} "
                "perturbed policies (2 * num_directions); give the runners 2N environments "
                "in all."
            )
        self.columns = (first, count)
        self.episodes_begun = tf.Variable(
            tf.zeros([count], tf.int32), trainable=False, name="episodes_begun"
        )

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> ARSActor:
        return cls(blueprint.agent, blueprint.spec, blueprint.config_object())


def first_episode_rows(trajectory, every_step: bool) -> tf.Tensor:
    """bool `[T, B]`: the rows whose observations make ARS's whitening statistics.

    After an iteration (the default): the real transitions of each environment's first episode.
    Step by step: the rows that the actor folded in as it acted, those up to the first episode's
    final observation (the trajectory starts at a reset).
    """
    if every_step:
        started = tf.cumsum(tf.cast(trajectory.episode_start, tf.int32), axis=0)
        return started <= 1
    ended = tf.cast(trajectory.terminated | trajectory.truncated, tf.int32)
    return tf.equal(tf.cumsum(ended, axis=0, exclusive=True), 0) & trajectory.valid
