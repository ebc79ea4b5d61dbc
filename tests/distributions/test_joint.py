import collections

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable.distributions import BoundedNormal, Joint
from tests.conftest import run

tfd = tfp.distributions


def parts(batch=4):
    """A bounded continuous, a categorical and a Bernoulli part, all with batch shape [batch]."""
    loc = tf.reshape(tf.linspace(-1.0, 1.0, batch * 2), [batch, 2])
    move = BoundedNormal(tfd.Independent(tfd.Normal(loc, 0.5), 1), [-2.0, 2.0])
    axis = tfd.Categorical(logits=tf.reshape(tf.range(batch * 3, dtype=tf.float32), [batch, 3]))
    done = tfd.Bernoulli(logits=tf.linspace(-2.0, 2.0, batch))
    return move, axis, done


def test_sample_has_the_nested_structure_and_log_prob_entropy_are_sums():
    move, axis, done = parts()
    joint = Joint({"move": move, "discrete": (axis, {"done": done})})
    action = joint.sample(seed=(1, 2))
    assert set(action) == {"move", "discrete"}
    assert action["move"].shape == (4, 2) and action["move"].dtype == tf.float32
    assert action["discrete"][0].shape == (4,) and action["discrete"][0].dtype == tf.int32
    assert action["discrete"][1]["done"].shape == (4,)

    expected = (
        move.log_prob(action["move"])
        + axis.log_prob(action["discrete"][0])
        + done.log_prob(action["discrete"][1]["done"])
    )
    np.testing.assert_allclose(joint.log_prob(action).numpy(), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        joint.entropy().numpy(),
        (move.entropy() + axis.entropy() + done.entropy()).numpy(),
        rtol=1e-6,
    )
    assert joint.batch_shape == [4]
    assert joint.event_shape == {"move": [2], "discrete": ([], {"done": []})}


def test_mode_is_the_nest_of_modes():
    move, axis, done = parts()
    mode = Joint((move, axis, done)).mode()
    np.testing.assert_allclose(mode[0].numpy(), move.mode().numpy())
    np.testing.assert_array_equal(mode[1].numpy(), axis.mode().numpy())
    np.testing.assert_array_equal(mode[2].numpy(), done.mode().numpy())


def test_sample_and_log_prob_matches_log_prob():
    move, axis, done = parts()
    joint = Joint([move, axis, done])
    action, log_prob = joint.experimental_sample_and_log_prob(seed=(3, 4))
    np.testing.assert_allclose(log_prob.numpy(), joint.log_prob(action).numpy(), rtol=1e-5)


def test_seeded_samples_are_reproducible_and_parts_get_distinct_seeds():
    joint = Joint({"a": tfd.Normal(tf.zeros([1000]), 1.0), "b": tfd.Normal(tf.zeros([1000]), 1.0)})
    first, second = joint.sample(seed=(5, 6)), joint.sample(seed=(5, 6))
    np.testing.assert_array_equal(first["a"].numpy(), second["a"].numpy())
    # The parts are independent: the same seed must not be reused for both.
    assert abs(np.corrcoef(first["a"].numpy(), first["b"].numpy())[0, 1]) < 0.1


def test_namedtuple_and_single_distribution_structures():
    Action = collections.namedtuple("Action", ["move", "axis"])
    move, axis, _ = parts()
    joint = Joint(Action(move=move, axis=axis))
    action = joint.sample(seed=(1, 1))
    assert isinstance(action, Action)
    single = Joint(axis)
    np.testing.assert_allclose(
        single.log_prob(action.axis).numpy(), axis.log_prob(action.axis).numpy()
    )


def test_eager_and_tf_function_agree(mode):
    def compute(logits):
        joint = Joint({"axis": tfd.Categorical(logits=logits), "move": parts()[0]})
        action = joint.sample(seed=(7, 8))
        return dict(action=action, log_prob=joint.log_prob(action), entropy=joint.entropy())

    logits = tf.reshape(tf.range(12, dtype=tf.float32) / 5.0, [4, 3])
    eager = run(compute, "eager", logits)
    other = run(compute, mode, logits)
    for key in ("log_prob", "entropy"):
        np.testing.assert_allclose(other[key], eager[key], rtol=1e-6)
    np.testing.assert_array_equal(other["action"]["axis"], eager["action"]["axis"])


def test_kl_divergence_is_the_sum_of_the_parts():
    p = Joint({"a": tfd.Normal(0.0, 1.0), "b": tfd.Categorical(logits=[0.0, 1.0, 2.0])})
    q = Joint({"a": tfd.Normal(1.0, 2.0), "b": tfd.Categorical(logits=[1.0, 0.0, 0.0])})
    expected = tfd.kl_divergence(tfd.Normal(0.0, 1.0), tfd.Normal(1.0, 2.0)) + tfd.kl_divergence(
        tfd.Categorical(logits=[0.0, 1.0, 2.0]), tfd.Categorical(logits=[1.0, 0.0, 0.0])
    )
    assert tfd.kl_divergence(p, q).numpy() == pytest.approx(expected.numpy(), rel=1e-6)


def test_rejects_leaves_that_are_not_distributions():
    with pytest.raises(TypeError, match=r"the leaf at \['b'\]\[1\] is ndarray"):
        Joint({"a": tfd.Normal(0.0, 1.0), "b": (tfd.Normal(0.0, 1.0), np.zeros(3))})


def test_rejects_incompatible_batch_shapes_and_empty_structures():
    with pytest.raises(ValueError, match=r"the part at \['b'\] has batch shape \(3,\)"):
        Joint({"a": tfd.Normal(tf.zeros([4]), 1.0), "b": tfd.Normal(tf.zeros([3]), 1.0)})
    with pytest.raises(ValueError, match="at least one distribution"):
        Joint({})


def test_log_prob_refuses_a_missing_part_or_a_component_of_the_wrong_shape_naming_it():
    move, axis, done = parts()
    joint = Joint({"move": move, "discrete": (axis, {"done": done})})
    action = joint.sample(seed=(1, 2))
    missing = {"move": action["move"], "discrete": (action["discrete"][0], {})}
    with pytest.raises(ValueError, match=r"at \['discrete'\]\[1\]: expected dict with keys "
                       r"\['done'\], received dict with keys \[\]"):  # fmt: skip
        joint.log_prob(missing)
    wrong = {"move": action["move"][:, :1], "discrete": action["discrete"]}
    with pytest.raises(ValueError, match=r"`value`\['move'\] must have shape \[sample\.\.\., "
                       r"\*\[4\] \(batch\), \*\[2\] \(event\)\].*received \[4, 1\]"):  # fmt: skip
        joint.log_prob(wrong)
    with pytest.raises(ValueError, match=r"`value`\['discrete'\]\[0\] .* received \[3\]"):
        joint.prob({"move": action["move"], "discrete": (action["discrete"][0][:3],
                                                          action["discrete"][1])})  # fmt: skip
    # Sample dimensions in front, lists for tuples and Python lists of numbers are fine.
    sampled = joint.sample(5, seed=(3, 4))
    assert joint.log_prob(sampled).shape == (5, 4)
    as_list = {"move": action["move"], "discrete": list(action["discrete"])}
    np.testing.assert_allclose(joint.log_prob(as_list), joint.log_prob(action))
    np.testing.assert_allclose(Joint(tfd.Normal(0.0, 1.0)).log_prob([0.0, 1.0]),
                               tfd.Normal(0.0, 1.0).log_prob([0.0, 1.0]))  # fmt: skip


def test_a_tuple_of_parts_samples_plain_tuples_not_tf_wrappers():
    """`Joint` is a `tf.Module`; tracked, its tuple became a `_TupleWrapper`, which
    `tf.nest.assert_same_structure` tells apart from the action space's tuple."""
    move, axis, _ = parts()
    joint = Joint((axis, [move]))
    for value in (joint.sample(seed=(1, 2)), joint.mode(), joint.distributions):
        assert type(value) is tuple and type(value[1]) is list
    tf.nest.assert_same_structure(joint.sample(seed=(1, 2)), (0, [0]))
