"""PPOConfig rejects invalid values with a ValueError that names the field."""

import pytest

from reinforceable.agents import PPOConfig
from reinforceable.ops import LinearSchedule


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"learning_rate": LinearSchedule(-1.0)}, "learning_rate.start"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"discount": 0.0}, "discount"),
        ({"discount": 1.01}, "discount"),
        ({"gae_lambda": 1.5}, "gae_lambda"),
        ({"num_steps": 0}, "num_steps"),
        ({"num_epochs": 2.5}, "num_epochs"),
        ({"batch_size": -4}, "batch_size"),
        ({"num_steps": 32, "sequence_length": 5}, "sequence_length"),
        ({"num_steps": 32, "sequence_length": 16, "batch_size": 40}, "batch_size"),
        ({"normalize_observations": 1}, "normalize_observations"),
        ({"clip_range": 0.0}, "clip_range"),
        ({"clip_range_value": -0.1}, "clip_range_value"),
        ({"entropy_coef": -0.01}, "entropy_coef"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"target_kl": 0.0}, "target_kl"),
        ({"total_steps": 0}, "total_steps"),
    ],
)
def test_invalid_values_name_the_field(kwargs, field):
    with pytest.raises((ValueError, TypeError), match=f"`{field}`"):
        PPOConfig(**kwargs)


def test_batch_that_does_not_divide_the_rollout():
    config = PPOConfig(num_steps=32, batch_size=96)  # 32 * 8 = 256 is not a multiple of 96
    with pytest.raises(ValueError, match=r"`batch_size` must divide the rollout.*256"):
        config.check_num_envs(8)
    config.check_num_envs(3)


def test_round_trip_through_a_dict():
    config = PPOConfig(learning_rate=LinearSchedule(1e-3), clip_range=0.1, target_kl=0.02)
    assert PPOConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown fields"):
        PPOConfig.from_dict({"learning_rat": 1e-3})
