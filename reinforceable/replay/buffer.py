"""`ReplayBuffer`: a fixed-capacity ring buffer in TF variables, used inside the graph."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from reinforceable._nest import leaf_paths

__all__ = ["ReplayBuffer"]


class ReplayBuffer(tf.Module):
    """Uniform experience replay held in TF variables.

    Items are nests matching `item_spec` (unbatched `tf.TensorSpec`s): any structure of
    observations, actions and scalars. Storage is one `[capacity, *shape]` variable per leaf,
    allocated at construction; `add` writes a batch of rows at the cursor, overwriting the oldest
    rows once the buffer is full (a ring), and `sample` draws rows uniformly from those written.
    Both are plain TF ops, so they run inside `tf.function` (and inside an agent's update loop).
    The buffer is a `tf.Module`: a `tf.train.Checkpoint` that holds it saves its contents, its
    cursor and its size, so a resumed run keeps its data.

    Args:
        item_spec: A nest of `tf.TensorSpec`, the shape and dtype of one item.
        capacity: The number of items kept.

    Raises:
        ValueError: For a non-positive `capacity`, or an `item_spec` leaf that is not a
            `tf.TensorSpec` with a fully known shape.

    Example:
        >>> buffer = ReplayBuffer({"obs": tf.TensorSpec([3]), "reward": tf.TensorSpec([])}, 1000)
        >>> buffer.add({"obs": tf.zeros([8, 3]), "reward": tf.ones([8])})
        >>> batch = buffer.sample(4, seed=[0, 1])    # {"obs": [4, 3], "reward": [4]}
    """

    def __init__(self, item_spec: Any, capacity: int, name: str = "replay_buffer"):
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity <= 0:
            raise ValueError(
                f"ReplayBuffer: `capacity` must be a positive int; received {capacity!r}."
            )
        for path, spec in zip(leaf_paths(item_spec), tf.nest.flatten(item_spec), strict=True):
            if not isinstance(spec, tf.TensorSpec) or not spec.shape.is_fully_defined():
                raise ValueError(
                    "ReplayBuffer: every leaf of `item_spec` must be a tf.TensorSpec with a known "
                    f"shape; the leaf at {path or 'the root'} is {spec!r}."
                )
        super().__init__(name=name)
        self.item_spec = item_spec
        self.capacity = capacity
        self._storage = [
            tf.Variable(
                tf.zeros([capacity, *spec.shape], spec.dtype), trainable=False, name=f"leaf_{i}"
            )
            for i, spec in enumerate(tf.nest.flatten(item_spec))
        ]
        self._cursor = tf.Variable(0, dtype=tf.int64, trainable=False, name="cursor")
        self._size = tf.Variable(0, dtype=tf.int64, trainable=False, name="size")

    @property
    def size(self) -> tf.Tensor:
        """How many items the buffer holds (at most `capacity`)."""
        return self._size.read_value()

    def add(self, items: Any) -> tf.Tensor:
        """Appends a batch of items, `[N, ...]` per leaf (N may be 0, or more than the capacity:
        then only the last `capacity` items stay). Returns the rows written, int64 `[min(N,
        capacity)]`."""
        tf.nest.assert_same_structure(self.item_spec, items)
        flat = [
            tf.cast(tf.convert_to_tensor(x), spec.dtype)
            for x, spec in zip(tf.nest.flatten(items), tf.nest.flatten(self.item_spec), strict=True)
        ]
        count = tf.shape(flat[0], out_type=tf.int64)[0]
        # With more items than room, only the last `capacity` can survive: write just those, so
        # no two writes hit the same row (scatter order is unspecified).
        keep = tf.minimum(count, self.capacity)
        flat = [x[count - keep :] for x in flat]
        # They go where they would have gone one by one, so the cursor keeps pointing at the oldest.
        rows = (self._cursor + count - keep + tf.range(keep)) % self.capacity
        for variable, values in zip(self._storage, flat, strict=True):
            variable.scatter_nd_update(rows[:, None], values)
        self._cursor.assign((self._cursor + count) % self.capacity)
        self._size.assign(tf.minimum(self._size + count, self.capacity))
        return rows

    def get_state(self) -> dict:
        """The contents as NumPy: `{"leaves": [[capacity, ...] per leaf], "cursor", "size"}`."""
        return {
            "leaves": [variable.numpy() for variable in self._storage],
            "cursor": int(self._cursor.numpy()),
            "size": int(self._size.numpy()),
        }

    def set_state(self, state: dict) -> None:
        """Replaces the contents with `get_state()` of a buffer of the same spec and capacity.

        Raises:
            ValueError: If the leaves' count, shapes or dtypes differ from this buffer's.
        """
        leaves = list(state["leaves"])
        expected = [(tuple(v.shape), v.dtype.as_numpy_dtype) for v in self._storage]
        received = [(tuple(np.shape(x)), np.asarray(x).dtype) for x in leaves]
        if received != expected:
            raise ValueError(
                f"ReplayBuffer.set_state: expected leaves of (shape, dtype) {expected}; received "
                f"{received}."
            )
        for variable, values in zip(self._storage, leaves, strict=True):
            variable.assign(values)
        self._cursor.assign(int(state["cursor"]))
        self._size.assign(int(state["size"]))

    def sample(self, batch_size: int, seed) -> Any:
        """`batch_size` items drawn uniformly (with replacement) from those written.

        `seed` is a stateless int32 `[2]` seed. Sampling from a buffer holding fewer than
        `batch_size` items raises an `InvalidArgumentError` that says so (agents check this
        before they sample).
        """
        return self.gather(self._uniform_indices(batch_size, seed))

    def gather(self, indices) -> Any:
        """The items at rows `indices` (int64 `[N]`)."""
        flat = [tf.gather(variable, indices) for variable in self._storage]
        return tf.nest.pack_sequence_as(self.item_spec, flat)

    def _uniform_indices(self, batch_size: int, seed) -> tf.Tensor:
        size = self._size.read_value()
        check = tf.debugging.assert_greater_equal(
            size,
            tf.constant(batch_size, tf.int64),
            message=f"ReplayBuffer.sample: fewer items than batch_size={batch_size}",
        )
        with tf.control_dependencies([check]):
            return tf.random.stateless_uniform(
                [batch_size], seed, minval=0, maxval=tf.maximum(size, 1), dtype=tf.int64
            )
