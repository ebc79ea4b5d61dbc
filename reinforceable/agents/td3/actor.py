"""`TD3Actor`: the acting side of TD3 and DDPG: the actor's deterministic action plus exploration
noise (`ExplorationNoise`), after a warm-up of uniformly random actions."""

from __future__ import annotations

import gymnasium as gym
import keras
import numpy as np
import tensorflow as tf

from reinforceable.agents.actor import Actor, ActorBlueprint
from reinforceable.agents.sac.actor import WarmupPolicy, acting_normalizer, sac_acting_variables
from reinforceable.driver.keras_policy import KerasPolicy
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.driver.random_policy import RandomPolicy
from reinforceable.envs.env_spec import EnvSpec
from reinforceable.envs.specs import space_leaves

__all__ = ["ExplorationNoise", "TD3Actor", "action_bounds"]

OU_DT = 1e-2  # SB3's OrnsteinUhlenbeckActionNoise's dt


def action_bounds(space: gym.Space, owner: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`(low, high, half_range)` of every Box leaf of `space`, flattened and concatenated in
    `tf.nest.flatten` order, `[C]` each; the half-range is 1 where a bound is infinite.

    Raises:
        ValueError: If a leaf is not a Box (the message names it and `owner`).
    """
    lows, highs = [], []
    for leaf in space_leaves(space):
        if not isinstance(leaf, gym.spaces.Box):
            raise ValueError(
                f"{owner}: TD3 and DDPG learn deterministic continuous actions, so every part of "
                f"the action space must be a Box; received a {type(leaf).__name__} part in "
                f"{space} (SACAgent learns discrete and hybrid actions)."
            )
        lows.append(np.asarray(leaf.low, np.float32).reshape(-1))
        highs.append(np.asarray(leaf.high, np.float32).reshape(-1))
    low, high = np.concatenate(lows), np.concatenate(highs)
    finite = np.isfinite(low) & np.isfinite(high)
    half = np.where(finite, (high - low) / 2.0, 1.0).astype(np.float32)
    return low, high, half


class ExplorationNoise(Policy):
    """A deterministic policy's action plus noise, clipped to the action space's bounds:

        gaussian:  a = clip(μ(s) + σ ε h, low, high)
        ou:        x ← x - θ x dt + σ √dt ε  (dt = 1e-2, x = 0 at each episode start),
                   a = clip(μ(s) + x h, low, high)

    with `ε ~ N(0, I)` drawn from the step's seed and `h` each dimension's half-range. The
    Ornstein-Uhlenbeck noise `x` is part of the policy state (`{"policy": ..., "noise": [B, C]}`),
    so the Driver resets it where an episode starts and another process can carry it on.

    Args:
        policy: The deterministic policy (a `KerasPolicy(model, deterministic=True)`).
        space: The action space (Box leaves only).
        kind: `"gaussian"` or `"ou"`.
        std: `σ`.
        theta: `θ` (for `"ou"`).
    """

    def __init__(self, policy: Policy, space: gym.Space, kind: str, std: float, theta: float):
        self.policy, self.kind, self.std, self.theta = policy, kind, float(std), float(theta)
        self.low, self.high, self.half = action_bounds(space, "ExplorationNoise")

    def build(self, timestep):
        self.policy.build(timestep)

    def action_support(self):
        return self.policy.action_support()

    def initial_state(self, batch_size):
        inner = self.policy.initial_state(batch_size)
        if self.kind != "ou":
            return inner
        return {"policy": inner, "noise": tf.zeros([batch_size, self.low.size])}

    def step(self, timestep, state, seed):
        policy_seed, noise_seed = tf.unstack(tf.random.split(seed, 2))
        inner = state["policy"] if self.kind == "ou" else state
        step = self.policy.step(timestep, inner, policy_seed)
        leaves = tf.nest.flatten(step.action)
        batch = tf.shape(leaves[0])[0]
        action = tf.concat([tf.reshape(tf.cast(a, tf.float32), [batch, -1]) for a in leaves], 1)
        epsilon = tf.random.stateless_normal(tf.shape(action), noise_seed)
        if self.kind == "ou":
            noise = state["noise"]
            noise = noise - self.theta * noise * OU_DT + self.std * np.sqrt(OU_DT) * epsilon
            new_state = {"policy": step.state, "noise": noise}
        else:
            noise, new_state = self.std * epsilon, step.state
        noisy = tf.clip_by_value(action + noise * self.half, self.low, self.high)
        parts, start = [], 0
        for leaf in leaves:
            size = int(np.prod(leaf.shape[1:]))
            part = tf.reshape(noisy[:, start : start + size], tf.shape(leaf))
            parts.append(tf.cast(part, leaf.dtype))
            start += size
        action = tf.nest.pack_sequence_as(step.action, parts)
        return PolicyStep(action=action, state=new_state, extras=step.extras)


class TD3Actor(Actor):
    """Acts with a copy of the actor model: random actions during the warm-up (while the acting
    state's `warmup` flag is set), then the model's deterministic action (each head's mode) plus
    the config's exploration noise; `eval_policy` takes the action without noise.

    Args:
        agent: The agent type, which acting states must name.
        spec: The `EnvSpec`.
        model: The actor model (its weights are set by `update`).
        config: A `TD3Config` (warm-up, exploration noise, observation normalisation).
    """

    def __init__(self, agent: str, spec: EnvSpec, model: keras.Model, config):
        self.model = model
        self.normalizer = acting_normalizer(spec, config)
        preprocess = None if self.normalizer is None else self.normalizer.normalize
        # The mode; `NoisyDense` layers act with their noise (evaluation: their means).
        deterministic = KerasPolicy(model, deterministic=True, noise=True, preprocess=preprocess)
        self.eval_policy = KerasPolicy(model, deterministic=True, preprocess=preprocess)
        example = tf.nest.map_structure(tf.convert_to_tensor, spec.example_timestep())
        for policy in (deterministic, self.eval_policy):
            policy.build(example)
        explore = deterministic
        if config.exploration != "none":
            explore = ExplorationNoise(
                deterministic,
                spec.action_space,
                config.exploration,
                config.exploration_std,
                config.ou_theta,
            )
        self.warmup = tf.Variable(config.warmup_steps > 0, trainable=False, name="warmup")
        self.policy = (
            WarmupPolicy(explore, RandomPolicy(spec.action_space), self.warmup)
            if config.warmup_steps
            else explore
        )
        super().__init__(agent, sac_acting_variables(model, self.warmup, self.normalizer))

    @classmethod
    def from_blueprint(cls, blueprint: ActorBlueprint) -> TD3Actor:
        return cls(
            blueprint.agent, blueprint.spec, blueprint.model("policy"), blueprint.config_object()
        )
