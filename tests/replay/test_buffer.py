"""ReplayBuffer: wrap-around, sampling only written rows, nests, errors, checkpointing."""

import numpy as np
import pytest
import tensorflow as tf

from reinforceable.replay import ReplayBuffer

SPEC = {"obs": tf.TensorSpec([2], tf.float32), "action": (tf.TensorSpec([], tf.int32),)}


def _items(start, count):
    ids = tf.range(start, start + count)
    return {
        "obs": tf.stack([tf.cast(ids, tf.float32), -tf.cast(ids, tf.float32)], 1),
        "action": (ids,),
    }


def test_wraps_around_and_keeps_the_newest_items():
    buffer = ReplayBuffer(SPEC, capacity=5)
    add = tf.function(buffer.add)
    add(_items(0, 3))
    add(_items(3, 4))  # 7 items in a buffer of 5: 0 and 1 are overwritten
    assert int(buffer.size) == 5
    stored = sorted(buffer._storage[0].numpy().tolist())
    assert stored == [2, 3, 4, 5, 6]
    add(_items(100, 12))  # more than the capacity in one call: the last 5 stay
    assert sorted(buffer._storage[0].numpy().tolist()) == [107, 108, 109, 110, 111]


def test_samples_only_written_rows_with_consistent_leaves():
    buffer = ReplayBuffer(SPEC, capacity=100)
    buffer.add(_items(10, 7))
    sample = tf.function(lambda seed: buffer.sample(7, seed=seed))
    batches = [sample(tf.constant([1, i])) for i in range(60)]
    batch = tf.nest.map_structure(lambda *xs: tf.concat(xs, 0), *batches)
    ids = batch["action"][0].numpy()
    assert set(ids.tolist()) == set(range(10, 17))  # every written row, and nothing else
    np.testing.assert_array_equal(batch["obs"][:, 0].numpy(), ids)
    np.testing.assert_array_equal(batch["obs"][:, 1].numpy(), -ids)


def test_sampling_more_than_it_holds_is_a_clear_error():
    buffer = ReplayBuffer(SPEC, capacity=10)
    buffer.add(_items(0, 3))
    with pytest.raises(tf.errors.InvalidArgumentError, match="fewer items than batch_size=4"):
        buffer.sample(4, seed=[0, 0])


def test_bad_construction():
    with pytest.raises(ValueError, match="`capacity`"):
        ReplayBuffer(SPEC, capacity=0)
    with pytest.raises(ValueError, match="obs"):
        ReplayBuffer({"obs": tf.TensorSpec([None, 2])}, capacity=4)


def test_checkpoint_keeps_contents_cursor_and_size(tmp_path):
    buffer = ReplayBuffer(SPEC, capacity=4)
    buffer.add(_items(0, 6))
    path = tf.train.Checkpoint(buffer=buffer).write(str(tmp_path / "ckpt"))
    restored = ReplayBuffer(SPEC, capacity=4)
    tf.train.Checkpoint(buffer=restored).read(path).assert_consumed()
    assert int(restored.size) == 4
    restored.add(_items(6, 1))  # continues at the restored cursor: overwrites item 2
    assert sorted(restored._storage[0].numpy().tolist()) == [3, 4, 5, 6]


def test_add_refuses_items_that_do_not_fit_naming_the_leaf():
    """Before, tf.nest's or TF's own errors came out of `add` (or a scatter inside a graph)."""
    buffer = ReplayBuffer(SPEC, 8)
    items = _items(0, 3)
    message = r"\(at the root: expected dict with keys \['action', 'obs'\], received dict with"
    with pytest.raises(ValueError, match=rf"ReplayBuffer.add: .* {message} keys \['obs'\]\)"):
        buffer.add({"obs": items["obs"]})
    with pytest.raises(ValueError, match=r"items\['obs'\] must have shape \[N, \*\[2\]\] \(N "
                       r"items\); received \[3, 3\]"):  # fmt: skip
        buffer.add({**items, "obs": tf.zeros([3, 3])})
    with pytest.raises(ValueError, match=r"items\[.action.\]\[0\]: 3, items\[.obs.\]: 2"):
        buffer.add({**items, "obs": tf.zeros([2, 2])})
    with pytest.raises(ValueError, match=r"items\['action'\]\[0\] must be int32; received string"):
        buffer.add({**items, "action": (tf.constant(["a", "b", "c"]),)})
    assert int(buffer.size) == 0  # nothing was written
    buffer.add({**items, "action": [items["action"][0]]})  # a list for the tuple is fine
    assert int(buffer.size) == 3


def test_a_capacity_that_cannot_be_allocated_says_how_many_bytes_it_needs():
    spec = {"frames": tf.TensorSpec([84, 84, 4], tf.uint8)}
    with pytest.raises(ValueError, match=r"`capacity` = 100,000,000 items of 28,224 bytes each "
                       r"needs 2,822,400,000,000 bytes \(2628\.56 GiB\), but only"):  # fmt: skip
        ReplayBuffer(spec, 100_000_000)
