"""`ReplayBuffer`: a fixed-capacity ring buffer in TF variables, used inside the graph."""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from reinforceable._nest import conform, describe, leaf_paths, structure_difference

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
        # Untracked: tf.Module would keep its dicts and lists as TF's wrappers, and samples
        # packed in them would not compare equal to plain nests.
        self.item_spec = self._no_dependency(item_spec)
        self.capacity = capacity
        self._storage = _allocate(item_spec, capacity, type(self).__name__)
        self._cursor = tf.Variable(0, dtype=tf.int64, trainable=False, name="cursor")
        self._size = tf.Variable(0, dtype=tf.int64, trainable=False, name="size")

    @property
    def size(self) -> tf.Tensor:
        """How many items the buffer holds (at most `capacity`)."""
        return self._size.read_value()

    def add(self, items: Any) -> tf.Tensor:
        """Appends a batch of items, `[N, ...]` per leaf (N may be 0, or more than the capacity:
        then only the last `capacity` items stay). Returns the rows written, int64 `[min(N,
        capacity)]`.

        Raises:
            ValueError: If `items` lacks a leaf of `item_spec` or has another structure (a
                recurrent state of another cell, say), or a leaf is not `[N, *shape]` of its
                spec, or the leaves disagree on `N`, or a leaf cannot take its dtype; naming
                the leaf, what was expected and what was received.
        """
        flat = self._checked(items, f"{type(self).__name__}.add")
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

    def _checked(self, items, owner: str) -> list[tf.Tensor]:
        """The leaves of `items` as tensors of the spec's dtypes, after the checks of `add`."""
        difference = structure_difference(self.item_spec, conform(self.item_spec, items))
        if difference:
            raise ValueError(
                f"{owner}: the items must have the structure of the buffer's item_spec "
                f"({difference}).\nExpected (per item):\n{describe(self.item_spec)}"
            )
        specs = tf.nest.flatten(self.item_spec)
        leaves = tf.nest.flatten(conform(self.item_spec, items))
        flat, counts = [], {}
        for path, leaf, spec in zip(leaf_paths(self.item_spec), leaves, specs, strict=True):
            where = f"items{path}"
            try:
                tensor = tf.convert_to_tensor(leaf)
            except (ValueError, TypeError) as error:
                raise ValueError(f"{owner}: {where} is not a tensor: {error}") from None
            if (tensor.dtype == tf.string) != (spec.dtype == tf.string):
                raise ValueError(
                    f"{owner}: {where} must be {spec.dtype.name}; received {tensor.dtype.name}."
                )
            shape = tensor.shape
            if shape.rank is not None and (
                shape.rank != spec.shape.rank + 1 or not shape[1:].is_compatible_with(spec.shape)
            ):
                raise ValueError(
                    f"{owner}: {where} must have shape [N, *{spec.shape.as_list()}] (N items); "
                    f"received {shape.as_list()}."
                )
            if shape.rank is not None and shape[0] is not None:
                counts[path] = shape[0]
            flat.append(tf.cast(tensor, spec.dtype))
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"{owner}: every leaf of the items must hold the same number of items N; "
                f"received {', '.join(f'items{p}: {n}' for p, n in counts.items())}."
            )
        return flat

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


def _available_bytes() -> int | None:
    """The memory this machine can still give (Linux's MemAvailable), `None` if unknown."""
    try:
        with open("/proc/meminfo") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _allocate(item_spec, capacity: int, owner: str) -> list[tf.Variable]:
    """One `[capacity, *shape]` variable per leaf, after checking that they fit in memory.

    Raises:
        ValueError: If the storage needs more memory than is available (or TF cannot allocate
            it), saying how many bytes it needs.
    """
    specs = tf.nest.flatten(item_spec)
    per_item = sum(int(np.prod(spec.shape)) * spec.dtype.size for spec in specs)
    needed = per_item * capacity
    available = _available_bytes()

    def refusal(reason: str) -> ValueError:
        return ValueError(
            f"{owner}: `capacity` = {capacity:,} items of {per_item:,} bytes each needs "
            f"{needed:,} bytes ({needed / 2**30:.2f} GiB), {reason}. Lower the capacity "
            "(a config's `buffer_capacity`), or store smaller items (uint8 images)."
        )

    if available is not None and needed > available:
        raise refusal(f"but only {available / 2**30:.2f} GiB of memory is available")
    try:
        return [
            tf.Variable(tf.zeros([capacity, *spec.shape], spec.dtype), trainable=False,
                        name=f"leaf_{i}")
            for i, spec in enumerate(specs)
        ]  # fmt: skip
    except tf.errors.ResourceExhaustedError:
        raise refusal("which TensorFlow could not allocate") from None
