"""Small helpers for nests (dicts, tuples, NamedTuples) shared across the package."""

from __future__ import annotations

import collections.abc

import numpy as np
import tensorflow as tf

__all__ = ["conform", "describe", "leaf_paths", "numpy_nest", "structure_difference"]


def leaf_paths(structure) -> list[str]:
    """Readable paths of the leaves of a nest, such as `['move'][0]`, in `tf.nest.flatten` order.

    The root leaf of a non-nested value has the path `""`.
    """
    paths = []

    def visit(node, path):
        if not tf.nest.is_nested(node):
            paths.append("".join(f"[{key!r}]" for key in path))
            return
        if isinstance(node, collections.abc.Mapping):
            items = sorted(node.items())  # tf.nest sorts every mapping by key
        elif hasattr(node, "_fields"):
            items = zip(node._fields, node, strict=True)
        else:
            items = enumerate(node)
        for key, child in items:
            visit(child, (*path, key))

    visit(structure, ())
    return paths


def describe(structure) -> str:
    """One line per leaf, `path: dtype[shape]`, for error messages about tensors or specs."""
    lines = []
    for path, leaf in zip(leaf_paths(structure), tf.nest.flatten(structure), strict=True):
        shape = getattr(leaf, "shape", None)
        dtype = getattr(leaf, "dtype", type(leaf).__name__)
        dtype = getattr(dtype, "name", dtype)
        shape = list(shape) if shape is not None else "?"
        lines.append(f"{path or '(root)'}: {dtype}{shape}")
    return "\n".join(lines) if lines else "(empty)"


def conform(structure, value):
    """`value` repacked in the container types of `structure` where only the types of sequences
    differ (a list where a Tuple space has a tuple, TF's `ListWrapper` or `_TupleWrapper`);
    `value` unchanged when the nests differ in more (the caller reports that). A mapping never
    stands for a sequence, nor a sequence for a mapping."""

    def fits(want, got) -> bool:
        if not tf.nest.is_nested(want):
            return not tf.nest.is_nested(got)
        if isinstance(want, collections.abc.Mapping):
            return (
                isinstance(got, collections.abc.Mapping)
                and sorted(want) == sorted(got)
                and all(fits(want[key], got[key]) for key in want)
            )
        return (
            tf.nest.is_nested(got)
            and not isinstance(got, collections.abc.Mapping)
            and len(want) == len(got)
            and all(fits(a, b) for a, b in zip(want, got, strict=True))
        )

    if not fits(structure, value):
        return value
    return tf.nest.pack_sequence_as(structure, tf.nest.flatten(value))


def _container(node) -> str:
    if isinstance(node, collections.abc.Mapping):
        return f"{type(node).__name__} with keys {sorted(node)}"
    if tf.nest.is_nested(node):
        return f"{type(node).__name__} of {len(node)}"
    return f"a leaf ({type(node).__name__})"


def structure_difference(expected, received) -> str | None:
    """Where two nests first differ, with the container types there: `"at ['a']: expected
    tuple of 2, received list of 2"`; `None` if they have the same structure and types.

    Used by structure checks so that two nests whose leaves print alike (a tuple and a list of
    the same tensors) are told apart in the message.
    """

    def children(node):
        if isinstance(node, collections.abc.Mapping):
            return sorted(node.items())
        if hasattr(node, "_fields"):
            return list(zip(node._fields, node, strict=True))
        return list(enumerate(node))

    def visit(want, got, path):
        where = "".join(f"[{key!r}]" for key in path) or "the root"
        want_nested, got_nested = tf.nest.is_nested(want), tf.nest.is_nested(got)
        if not want_nested and not got_nested:
            return None
        report = f"at {where}: expected {_container(want)}, received {_container(got)}"
        mapping = isinstance(want, collections.abc.Mapping)
        if want_nested != got_nested or mapping != isinstance(got, collections.abc.Mapping):
            return report
        want_children, got_children = children(want), children(got)
        if [key for key, _ in want_children] != [key for key, _ in got_children]:
            return report
        for (key, a), (_, b) in zip(want_children, got_children, strict=True):
            found = visit(a, b, (*path, key))
            if found:
                return found
        # Only the container type differs here (a list for a tuple): the deeper differences,
        # if any, were more telling.
        return report if type(want) is not type(got) else None

    return visit(expected, received, ())


def numpy_nest(nest):
    """A nest of tensors as NumPy arrays (what crosses a process boundary)."""
    return tf.nest.map_structure(lambda x: np.asarray(x), nest)
