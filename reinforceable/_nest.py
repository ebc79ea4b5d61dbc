"""Small helpers for nests (dicts, tuples, NamedTuples) shared across the package."""

from __future__ import annotations

import collections.abc

import tensorflow as tf

__all__ = ["describe", "leaf_paths"]


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
