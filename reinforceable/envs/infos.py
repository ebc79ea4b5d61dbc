"""Chosen gymnasium `info` entries carried as tensors in `Timestep.info`.

A gymnasium vector environment returns infos as a dict of arrays over the environments, each key
`k` with a boolean mask `_k` of the environments that reported it at this step (gymnasium's
convention). `GymEnv(..., infos={"is_success": "bool", "cost": "float32"})` declares which keys
become tensors, with their dtype (and, with a `tf.TensorSpec`, their shape per environment);
an environment that did not report a key at a step gets zeros (False) there. In next-step
auto-reset mode, the step that ends an episode carries that step's infos (where `is_success`
is reported); the following step carries the infos of the reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import tensorflow as tf

__all__ = ["gather_infos", "info_specs", "lean_infos"]


def info_specs(infos, owner: str = "GymEnv") -> dict[str, tf.TensorSpec]:
    """The per-environment `tf.TensorSpec` of each declared key (sorted by key).

    `infos` is a mapping from key to a dtype (`"bool"`, `tf.float32`, `np.int32`: a scalar per
    environment) or a `tf.TensorSpec` (a shape per environment), or a sequence of keys, which
    are float32 scalars; `None` declares none.
    """
    if infos is None:
        return {}
    if isinstance(infos, str) or not isinstance(infos, Mapping | Sequence):
        raise TypeError(
            f"{owner}: `infos` must map info keys to dtypes (or tf.TensorSpecs), or list keys; "
            f"received {type(infos).__name__}."
        )
    if not isinstance(infos, Mapping):
        infos = dict.fromkeys(infos, tf.float32)
    specs = {}
    for key, value in sorted(infos.items()):
        if not isinstance(key, str) or not key or key.startswith("_"):
            raise ValueError(
                f"{owner}: `infos` keys must be non-empty strings not starting with '_' (those "
                f"are gymnasium's masks); received {key!r}."
            )
        if isinstance(value, tf.TensorSpec):
            specs[key] = tf.TensorSpec(value.shape, value.dtype, name=key)
            continue
        try:
            dtype = tf.as_dtype(np.dtype(value) if isinstance(value, str | type) else value)
        except TypeError as error:
            raise TypeError(
                f"{owner}: `infos[{key!r}]` must be a dtype or a tf.TensorSpec; received {value!r}."
            ) from error
        specs[key] = tf.TensorSpec([], dtype, name=key)
    return specs


def lean_infos(env_infos: Sequence[dict], keys: Sequence[str]) -> dict[str, np.ndarray]:
    """Gymnasium's vector infos for `keys` only, from one info dict per environment: `infos[k]`
    an object array of the values (None where absent) and `infos["_" + k]` the mask."""
    infos = {}
    for key in keys:
        mask = np.array([key in info for info in env_infos], bool)
        if mask.any():
            values = np.empty(len(env_infos), object)
            for i, info in enumerate(env_infos):
                values[i] = info.get(key)
            infos[key], infos["_" + key] = values, mask
    return infos


def gather_infos(infos: Mapping, specs: Mapping[str, tf.TensorSpec], num_envs: int, step: int):
    """The `[num_envs, ...]` NumPy array of each declared key, in `specs` order: the reported
    values where the mask is set, zeros elsewhere.

    Raises:
        ValueError: If a reported value does not have the declared shape or cannot take the
            declared dtype, naming the key, the environment and the step.
    """
    arrays = []
    for key, spec in specs.items():
        dtype = spec.dtype.as_numpy_dtype
        array = np.zeros((num_envs, *spec.shape), dtype)
        if key in infos:
            values = infos[key]
            mask = np.asarray(infos.get("_" + key, np.ones(num_envs, bool)), bool)
            for i in np.flatnonzero(mask):
                try:
                    value = np.asarray(values[i])
                    if value.shape != tuple(spec.shape):
                        raise ValueError(f"received shape {value.shape}")
                    if dtype == np.bool_ and value.dtype.kind in "biuf":
                        value = value != 0  # is_success as 1.0 or 1 is common
                    array[i] = value.astype(dtype, casting="same_kind")
                except (TypeError, ValueError) as error:
                    raise ValueError(
                        f"GymEnv: environment {i} reported info[{key!r}] = {values[i]!r} at step "
                        f"{step} after the reset; declared {spec.dtype.name} of shape "
                        f"{tuple(spec.shape)} ({error})."
                    ) from None
        arrays.append(array)
    return arrays
