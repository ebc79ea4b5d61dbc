"""`EnvSpec`: made from spaces or an env, JSON round trip, comparison with readable differences."""

import json
import pickle

import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from reinforceable.envs import EnvSpec, GymEnv

HYBRID = gym.spaces.Dict(
    {
        "axis": gym.spaces.Discrete(3, start=-1),
        "move": gym.spaces.Box(-1.0, 1.0, (2,), np.float32),
        "flags": gym.spaces.MultiBinary(2),
        "pair": gym.spaces.Tuple((gym.spaces.MultiDiscrete([2, 5]), gym.spaces.Discrete(4))),
    }
)
IMAGE = gym.spaces.Box(0, 255, (4, 4, 3), np.uint8)


def test_spec_of_a_gym_env_has_its_spaces_count_and_id():
    with GymEnv("CartPole-v1", 3, seed=0) as env:
        spec = env.spec
    assert spec.num_envs == 3 and spec.env_id == "CartPole-v1"
    assert spec.observation_space == env.observation_space
    assert spec.action_spec == tf.TensorSpec((), tf.int32)
    assert spec.timestep_spec.observation.shape == (3, 4)
    assert EnvSpec.of(env, "test") is spec and EnvSpec.of(spec, "test") is spec


@pytest.mark.parametrize("space", [HYBRID, IMAGE, gym.spaces.Box(-np.inf, np.inf, (3,))])
def test_json_and_pickle_round_trips_keep_every_space(space):
    spec = EnvSpec(space, HYBRID, num_envs=2, env_id="x")
    # Through real JSON text (with Infinity for unbounded boxes).
    again = EnvSpec.from_dict(json.loads(json.dumps(spec.to_dict())))
    assert again == spec and again.differences(spec) == []
    assert pickle.loads(pickle.dumps(spec)) == spec


def test_differences_name_the_part_of_the_space():
    other = gym.spaces.Dict(
        {
            "axis": gym.spaces.Discrete(3, start=-1),
            "move": gym.spaces.Box(-2.0, 1.0, (2,), np.float32),  # a wider low bound
            "flags": gym.spaces.MultiBinary(3),  # one more flag
            "pair": gym.spaces.Tuple((gym.spaces.MultiDiscrete([2, 5]), gym.spaces.Discrete(4))),
        }
    )
    a = EnvSpec(IMAGE, HYBRID, 1)
    b = EnvSpec(IMAGE, other, 4)  # num_envs does not matter
    lines = a.differences(b)
    assert lines == [
        "action_space['flags']: MultiBinary(2) != MultiBinary(3)",
        "action_space['move']: Box low -1.0 != -2.0",
    ]
    with pytest.raises(ValueError, match=r"(?s)differ from the agent's spec.*\['move'\]: Box low"):
        a.check_compatible(b, "Agent.load")
    assert a.differences(EnvSpec(IMAGE, HYBRID, 7)) == []
    shape = EnvSpec(gym.spaces.Box(0, 255, (4, 4, 1), np.uint8), HYBRID, 1).differences(a)
    assert shape == ["observation_space: Box shape (4, 4, 1) != (4, 4, 3)"]


def test_example_timestep_is_a_batch_from_the_spaces():
    spec = EnvSpec(HYBRID, gym.spaces.Discrete(2), num_envs=5)
    timestep = spec.example_timestep()
    assert timestep.observation["move"].shape == (5, 2)
    assert timestep.observation["axis"].dtype == np.int32
    assert set(np.unique(timestep.observation["axis"])) <= {0, 1, 2}  # start removed
    assert timestep.episode_start.all() and not timestep.terminated.any()


def test_bad_specs_are_refused_with_the_argument_named():
    box = gym.spaces.Box(-1, 1, (2,))
    with pytest.raises(ValueError, match="`num_envs` must be a positive int; received 0"):
        EnvSpec(box, box, 0)
    with pytest.raises(TypeError, match="`action_space` must be a gymnasium Space"):
        EnvSpec(box, "discrete", 1)
    with pytest.raises(TypeError, match="Unsupported gymnasium space Text at the root"):
        EnvSpec(box, gym.spaces.Text(5), 1)
    with pytest.raises(ValueError, match=r"observation_space\['a'\] has an unknown space type"):
        EnvSpec.from_dict(
            {
                "observation_space": {"type": "Dict", "spaces": {"a": {"type": "Graph"}}},
                "action_space": {"type": "Discrete", "n": 2},
                "num_envs": 1,
            }
        )
    with pytest.raises(TypeError, match="`env` must be a reinforceable EnvSpec or Environment"):
        EnvSpec.of(gym.make("CartPole-v1"), "SACAgent")


@pytest.mark.parametrize(
    ("low", "received"),
    [
        ("abc", "'abc'"),
        ([1, "x"], r"\[1, 'x'\]"),
        (None, "None"),
        ([[1, 2, 3]], r"\[\[1, 2, 3\]\]"),
    ],
)
def test_from_dict_refuses_bounds_that_are_not_numbers_of_the_shape(low, received):
    """Before, NumPy's "could not convert string to float" came out of `from_dict`."""
    spec = EnvSpec(gym.spaces.Box(-1.0, 1.0, (2,), np.float32), gym.spaces.Discrete(2), 1)
    values = spec.to_dict()
    values["observation_space"] = {**values["observation_space"], "low": low}
    message = r"observation_space\['low'\] must be a number or nested lists of numbers of shape"
    with pytest.raises(ValueError, match=rf"space_from_dict: {message} \[2\]; received {received}"):
        EnvSpec.from_dict(values)
