"""PPO's checks of its model and of the trajectories it is given, with messages that say what
to do."""

from __future__ import annotations

import tensorflow as tf

from reinforceable.driver.trajectory import Trajectory
from reinforceable.layers.noisy_dense import noisy_layers

__all__ = ["check_trajectory", "check_value_output"]


def check_value_output(policy, example, num_envs: int, owner: str) -> None:
    """A ValueError unless the model gives a `"value"` of shape `[num_envs]` for `example`, or
    if it has `NoisyDense` layers (the acting noise is not recorded, so the learner's
    probability ratios could not replay it)."""
    if noisy_layers(policy.model):
        raise ValueError(
            f"{owner}: the model has NoisyDense layers; PPO's probability ratios would compare "
            "the learner's means with the noise the actor acted with. Explore through the "
            "action distribution (or gSDE: rf.networks.actor_critic(env, sde=True)), and keep "
            "noisy layers for the off-policy agents (SAC, TD3, DDPG)."
        )
    state = policy.initial_state(num_envs)
    extras = policy.step(example, state, tf.zeros([2], tf.int32)).extras
    value = extras.get("value")
    if value is None or tuple(value.shape) != (num_envs,):
        received = "no 'value' output" if value is None else f"shape {tuple(value.shape)}"
        raise ValueError(
            f"{owner}: the model must output a dict {{'action': "
            "<distributions>, 'value': <[batch] tensor>} (for a recurrent model, [batch, "
            f"time]); received {received}. A Dense(1) value head needs a "
            "keras.layers.Reshape to drop its last axis."
        )


def check_trajectory(
    trajectory: Trajectory, owner: str, config, length: int, num_envs: int, whole: bool
) -> None:
    """T must be a multiple of the sequence length; for what one update trains on (`whole`:
    the observed rollouts side by side), T * B a multiple of batch_size as well."""
    for key in ("value", "log_prob"):
        if key not in trajectory.extras:
            raise ValueError(
                f"{owner}: the trajectory has no {key!r} in its extras; collect it with "
                "the agent's actor (Driver(agent.policy, env))."
            )
    steps, envs = trajectory.reward.shape
    batch_size = config.batch_size
    if steps % length or (whole and (steps * envs) % batch_size):
        raise ValueError(
            f"{owner}: the trajectory must be [T, B] with T a multiple of the sequence "
            f"length {length} and T * B a multiple of batch_size {batch_size} (T = num_steps"
            f" = {config.num_steps} with the spec's {num_envs} environments "
            f"does it; several actors' rollouts of one update count together); received "
            f"[{steps}, {envs}]."
        )
