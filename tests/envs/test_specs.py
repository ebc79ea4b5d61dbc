import gymnasium as gym
import numpy as np
import pytest
import tensorflow as tf

from reinforceable.envs import SpaceConverter, batch_spec, space_to_spec


@pytest.mark.parametrize(
    "space, spec",
    [
        (gym.spaces.Box(-1, 1, (3,), np.float64), tf.TensorSpec((3,), tf.float32)),
        (gym.spaces.Box(0, 255, (84, 84, 1), np.uint8), tf.TensorSpec((84, 84, 1), tf.uint8)),
        (gym.spaces.Discrete(4), tf.TensorSpec((), tf.int32)),
        (gym.spaces.Discrete(4, start=-2), tf.TensorSpec((), tf.int32)),
        (gym.spaces.MultiDiscrete([3, 5]), tf.TensorSpec((2,), tf.int32)),
        (gym.spaces.MultiBinary(4), tf.TensorSpec((4,), tf.int32)),
        (gym.spaces.MultiBinary((2, 3)), tf.TensorSpec((2, 3), tf.int32)),
    ],
)
def test_leaf_specs(space, spec):
    inferred = space_to_spec(space)
    assert inferred.shape == spec.shape and inferred.dtype == spec.dtype


def test_nested_specs_follow_the_space_structure():
    space = gym.spaces.Dict(
        {
            "b": gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Box(-1, 1, (2,)))),
            "a": gym.spaces.MultiBinary(3),
        }
    )
    spec = space_to_spec(space)
    assert set(spec) == {"a", "b"} and isinstance(spec["b"], tuple)
    assert spec["b"][1].shape == (2,) and spec["a"].dtype == tf.int32
    batched = batch_spec(spec, 8)
    assert batched["b"][1].shape == (8, 2) and batched["a"].shape == (8, 3)


def test_unsupported_space_names_the_path():
    space = gym.spaces.Dict({"text": gym.spaces.Text(5), "ok": gym.spaces.Discrete(2)})
    with pytest.raises(TypeError, match="Unsupported gymnasium space Text at text"):
        space_to_spec(space)


def test_converter_round_trip_restores_starts_dtypes_and_structure():
    space = gym.spaces.Dict(
        {
            "choice": gym.spaces.Discrete(3, start=1),
            "pair": gym.spaces.Tuple(
                (gym.spaces.Box(-1, 1, (2,), np.float32), gym.spaces.MultiBinary(3))
            ),
        }
    )
    converter = SpaceConverter(space)
    value = {
        "choice": np.array([1, 3]),
        "pair": (
            np.array([[0.5, -0.5], [1.0, 0.0]], np.float32),
            np.array([[1, 0, 1]] * 2, np.int8),
        ),
    }
    arrays = converter.to_arrays(value)  # tf.nest order: choice, pair[0], pair[1]
    np.testing.assert_array_equal(arrays[0], [0, 2])  # start removed
    assert [a.dtype for a in arrays] == [np.int32, np.float32, np.int32]
    back = converter.to_gym(arrays)
    assert back["choice"].dtype == np.int64 and back["pair"][1].dtype == np.int8
    np.testing.assert_array_equal(back["choice"], [1, 3])
    assert space.contains(
        {"choice": back["choice"][0], "pair": (back["pair"][0][0], back["pair"][1][0])}
    )


def test_converter_clips_box_actions_only_when_asked():
    converter = SpaceConverter(gym.spaces.Box(-1.0, 2.0, (2,), np.float32))
    action = [np.array([[-5.0, 5.0]], np.float32)]
    np.testing.assert_array_equal(converter.to_gym(action, clip=True), [[-1.0, 2.0]])
    np.testing.assert_array_equal(converter.to_gym(action), [[-5.0, 5.0]])
