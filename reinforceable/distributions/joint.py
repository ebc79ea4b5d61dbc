"""`Joint`: one action distribution from a nested structure of independent distributions."""

from __future__ import annotations

import collections.abc
import functools
import operator

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable._nest import conform, leaf_paths, structure_difference

tfd = tfp.distributions

__all__ = ["Joint"]


def _sum(values):
    return functools.reduce(operator.add, values)


class Joint(tfd.Distribution):
    """The product of independent distributions arranged in any nest (dict, tuple, list, ...).

    This is how a hybrid-action policy becomes a single action distribution: a policy model whose
    outputs are `{"move": DenseNormal(...)(x), "axis": DenseCategorical(...)(x)}` returns a dict of
    distributions, and `Joint(policy(obs))` is one distribution over the dict of actions.

    * `sample()` returns the nested action, with the structure of `distributions`.
    * `log_prob(action)` and `entropy()` are the sums over the parts; this is exact because the
      parts are independent given the policy's inputs.
    * `mode()` is the nest of the parts' modes (the deterministic action).
    * `kl_divergence(other)` between two `Joint`s of the same structure is the sum of the parts'
      KLs.

    All parts must share the batch shape (after broadcasting), which is the joint's batch shape.
    The dtype and the event shape are nests with the structure of `distributions`.

    Args:
        distributions: A nest of `tfd.Distribution`s. A single distribution is allowed and
            behaves as itself.
        validate_args: Passed on as in every TFP distribution.
        name: Name scope for the ops.

    Raises:
        TypeError: If a leaf of `distributions` is not a `tfd.Distribution`.
        ValueError: If `distributions` is empty, or the parts' batch shapes do not broadcast.

    Example:
        >>> joint = Joint({"move": tfd.Normal(tf.zeros([4]), 1.0), "axis": tfd.Categorical(
        ...     logits=tf.zeros([4, 3]))})
        >>> action = joint.sample()        # {"axis": int32 [4], "move": float32 [4]}
        >>> joint.log_prob(action).shape   # [4]
    """

    def __init__(self, distributions, validate_args: bool = False, name: str = "Joint"):
        parameters = dict(locals())
        parts = tf.nest.flatten(distributions)
        if not parts:
            raise ValueError("Joint: `distributions` must hold at least one distribution.")
        paths = leaf_paths(distributions)
        for path, part in zip(paths, parts, strict=True):
            if not isinstance(part, tfd.Distribution):
                raise TypeError(
                    f"Joint: every leaf of `distributions` must be a tfd.Distribution; the leaf at "
                    f"{path or 'the root'} is {type(part).__name__}."
                )
        batch_shape = tf.TensorShape([])
        for path, part in zip(paths, parts, strict=True):
            try:
                batch_shape = tf.broadcast_static_shape(batch_shape, part.batch_shape)
            except ValueError as error:
                raise ValueError(
                    "Joint: the parts of `distributions` must have broadcastable batch shapes; "
                    f"the part at {path or 'the root'} has batch shape {part.batch_shape}, which "
                    f"does not broadcast with {batch_shape}."
                ) from error
        with tf.name_scope(name) as name:
            # Untracked: tf.Module would store a tuple as a `_TupleWrapper` (a list as a
            # `ListWrapper`), and `sample()`/`mode()` would return that type, which
            # `tf.nest.assert_same_structure` tells apart from the action space's tuple.
            self._distributions = self._no_dependency(distributions)
            self._parts = self._no_dependency(parts)
            self._static_batch_shape = batch_shape
            fully = all(p.reparameterization_type == tfd.FULLY_REPARAMETERIZED for p in parts)
            super().__init__(
                dtype=tf.nest.map_structure(lambda p: p.dtype, distributions),
                reparameterization_type=(
                    tfd.FULLY_REPARAMETERIZED if fully else tfd.NOT_REPARAMETERIZED
                ),
                validate_args=validate_args,
                allow_nan_stats=True,
                parameters=parameters,
                name=name,
            )

    @property
    def distributions(self):
        """The nest of part distributions."""
        return self._distributions

    def _pack(self, flat):
        return tf.nest.pack_sequence_as(self._distributions, flat)

    def _map(self, fn):
        return self._pack([fn(part) for part in self._parts])

    def _batch_shape(self):
        return self._static_batch_shape

    def _batch_shape_tensor(self):
        shape = tf.constant([], tf.int32)
        for part in self._parts:
            shape = tf.broadcast_dynamic_shape(shape, part.batch_shape_tensor())
        return shape

    def _event_shape(self):
        return self._map(lambda p: p.event_shape)

    def _event_shape_tensor(self):
        return self._map(lambda p: p.event_shape_tensor())

    def _seeds(self, seed):
        if seed is None:
            return [None] * len(self._parts)
        return tfp.random.split_seed(seed, n=len(self._parts))

    def _sample_n(self, n, seed=None):
        return self._pack(
            [p.sample(n, seed=s) for p, s in zip(self._parts, self._seeds(seed), strict=True)]
        )

    def _sample_and_log_prob(self, sample_shape, seed):
        samples, log_probs = [], []
        for part, part_seed in zip(self._parts, self._seeds(seed), strict=True):
            sample, log_prob = part.experimental_sample_and_log_prob(sample_shape, seed=part_seed)
            samples.append(sample)
            log_probs.append(log_prob)
        return self._pack(samples), _sum(log_probs)

    def log_prob(self, value, name="log_prob", **kwargs):
        """The sum of the parts' log-probabilities of `value`, a nest with the structure of
        `distributions` (sequences of either type: a list for a tuple is fine).

        Raises:
            ValueError: If `value` lacks a part, has one too many, or a component whose shape
                does not fit its part (`[sample..., batch..., event...]`), naming the part.
        """
        return super().log_prob(self._checked(value, "log_prob"), name=name, **kwargs)

    def prob(self, value, name="prob", **kwargs):
        """`exp(log_prob(value))`, with `log_prob`'s checks."""
        return super().prob(self._checked(value, "prob"), name=name, **kwargs)

    def _checked(self, value, method: str):
        """`value` in the parts' containers, after checking its structure and static shapes."""
        value = _tensor_leaves(self._distributions, value)
        difference = structure_difference(self._distributions, conform(self._distributions, value))
        if difference:
            raise ValueError(
                f"Joint.{method}: `value` must have the structure of the distributions "
                f"({difference})."
            )
        value = conform(self._distributions, value)
        paths = leaf_paths(self._distributions)
        for path, part, leaf in zip(paths, self._parts, tf.nest.flatten(value), strict=True):
            shape = tf.TensorShape(leaf.shape if hasattr(leaf, "shape") else np.shape(leaf))
            event = part.event_shape
            if shape.rank is None or event.rank is None:
                continue
            batch = shape[: shape.rank - event.rank] if shape.rank >= event.rank else None
            fits = (
                batch is not None
                and shape[batch.rank :].is_compatible_with(event)
                and _broadcasts(batch, part.batch_shape)
            )
            if not fits:
                raise ValueError(
                    f"Joint.{method}: `value`{path} must have shape [sample..., "
                    f"*{part.batch_shape.as_list()} (batch), *{event.as_list()} (event)] for its "
                    f"{type(part).__name__} part; received {shape.as_list()}."
                )
        return value

    def _log_prob(self, value):
        values = tf.nest.flatten(value)
        return _sum(p.log_prob(v) for p, v in zip(self._parts, values, strict=True))

    def _entropy(self):
        return _sum(p.entropy() for p in self._parts)

    def _mode(self):
        return self._map(lambda p: p.mode())

    def _mean(self):
        return self._map(lambda p: p.mean())


def _tensor_leaves(distributions, value):
    """`value` with Python sequences of numbers where `distributions` has a part turned into
    tensors of the part's dtype (as TFP converts them), so that they count as leaves."""
    if isinstance(distributions, tfd.Distribution):
        if isinstance(value, list | tuple):
            try:
                return tf.convert_to_tensor(value, dtype_hint=distributions.dtype)
            except (ValueError, TypeError):
                return value
        return value
    if isinstance(distributions, collections.abc.Mapping):
        if not isinstance(value, collections.abc.Mapping):
            return value
        return {
            key: _tensor_leaves(distributions[key], item) if key in distributions else item
            for key, item in value.items()
        }
    if isinstance(value, list | tuple) and len(value) == len(distributions):
        items = [_tensor_leaves(d, item) for d, item in zip(distributions, value, strict=True)]
        return tuple(items) if isinstance(value, tuple) else items
    return value


def _broadcasts(shape: tf.TensorShape, batch_shape: tf.TensorShape) -> bool:
    try:
        tf.broadcast_static_shape(shape, batch_shape)
    except ValueError:
        return False
    return True


@tfd.RegisterKL(Joint, Joint)
def _kl_joint(a: Joint, b: Joint, name=None):
    with tf.name_scope(name or "kl_joint"):
        tf.nest.assert_same_structure(a.distributions, b.distributions)
        return _sum(
            pa.kl_divergence(pb)
            for pa, pb in zip(
                tf.nest.flatten(a.distributions), tf.nest.flatten(b.distributions), strict=True
            )
        )
