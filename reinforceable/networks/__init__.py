"""Ready-made Keras models: actor-critics, SAC actors and observation encoders for any space."""

from reinforceable.networks.encoders import (
    Flat,
    OneHot,
    is_image_space,
    nature_cnn,
    observation_encoder,
)
from reinforceable.networks.policies import action_heads, actor_critic, sac_actor

__all__ = [
    "Flat",
    "OneHot",
    "action_heads",
    "actor_critic",
    "is_image_space",
    "nature_cnn",
    "observation_encoder",
    "sac_actor",
]
