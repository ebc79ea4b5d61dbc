"""`ActionCodec`: SAC's view of a hybrid action, a continuous part and discrete heads."""

from __future__ import annotations

import itertools
import re

import gymnasium as gym
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable._nest import conform, leaf_paths, structure_difference
from reinforceable.envs.specs import space_leaves

__all__ = ["ActionCodec"]

tfd = tfp.distributions


class ActionCodec:
    """Sorts the leaves of an action space into a continuous part and discrete heads, checks
    that the actor's heads fit them, and encodes actions for the critics.

    The critics see an action as `[continuous (C), one-hot of each discrete head (Σ n_h)]`; the
    soft value sums exactly over the `K = Π n_h` combinations of the discrete choices, so the
    codec also holds every combination and its one-hot code.

    Args:
        space: The gymnasium action space (Box and Discrete leaves, in Dict/Tuple nests).
        spec: Its TF spec (`EnvSpec.action_spec`).
        distributions: The actor's distribution nest for a batch of observations.
        owner: The name in error messages.

    Raises:
        ValueError: For heads that do not have the space's structure, a head of the wrong kind
            for its part, or a part that is not Box or Discrete (the message names the part).
    """

    def __init__(self, space: gym.Space, spec, distributions, owner: str = "SACAgent"):
        difference = structure_difference(spec, conform(spec, distributions))
        if difference:
            raise ValueError(
                f"{owner}: the actor's distributions must have the structure of the action space "
                f"{space} ({difference}); received "
                f"{tf.nest.map_structure(lambda d: type(d).__name__, distributions)}."
            )
        distributions = conform(spec, distributions)
        self.kinds: list[str] = []
        self.classes: list[int] = []
        self.dims: list[int] = []
        self.discrete_names: list[str] = []
        for path, leaf_space, distribution in zip(
            leaf_paths(spec), space_leaves(space), tf.nest.flatten(distributions), strict=True
        ):
            where = f"action_space{path}" if path else "the action space"
            if isinstance(leaf_space, gym.spaces.Discrete):
                if not isinstance(distribution, tfd.Categorical):
                    raise ValueError(
                        f"{owner}: {where} is Discrete, so its head must be a "
                        f"DenseCategorical; received a {type(distribution).__name__}."
                    )
                self.kinds.append("discrete")
                self.classes.append(int(leaf_space.n))
                self.discrete_names.append(".".join(re.findall(r"\w+", path)) or "action")
            elif isinstance(leaf_space, gym.spaces.Box):
                if isinstance(distribution, tfd.Categorical | tfd.Bernoulli):
                    raise ValueError(
                        f"{owner}: {where} is a Box, so its head must be a DenseNormal; "
                        f"received a {type(distribution).__name__}."
                    )
                self.kinds.append("continuous")
                self.dims.append(int(np.prod(leaf_space.shape)))
            else:
                raise ValueError(
                    f"{owner}: {where} is a {type(leaf_space).__name__}; SAC supports Discrete "
                    "and Box parts (and Dict/Tuple nests of them)."
                )
        self.continuous_dim = int(sum(self.dims))
        # Every combination of the discrete heads' choices, [K, number of discrete heads].
        combos = list(itertools.product(*[range(n) for n in self.classes])) or [()]
        self.combos = np.array(combos, np.int32).reshape(len(combos), len(self.classes))
        codes = [
            np.concatenate(
                [np.eye(n, dtype=np.float32)[c] for n, c in zip(self.classes, combo, strict=True)]
            )
            if self.classes
            else np.zeros([0], np.float32)
            for combo in combos
        ]
        self.combo_codes = np.stack(codes)  # [K, Σ n_h]

    @property
    def action_dim(self) -> int:
        """Width of an encoded action: `C + Σ n_h`."""
        return self.continuous_dim + int(sum(self.classes))

    def encode(self, action) -> tuple[tf.Tensor, tf.Tensor]:
        """Stored actions as (continuous `[B, C]`, one-hot discrete `[B, Σ n_h]`)."""
        continuous, discrete = [], []
        batch = tf.shape(tf.nest.flatten(action)[0])[0]
        classes = iter(self.classes)
        for kind, leaf in zip(self.kinds, tf.nest.flatten(action), strict=True):
            if kind == "continuous":
                continuous.append(tf.reshape(tf.cast(leaf, tf.float32), [batch, -1]))
            else:
                discrete.append(tf.one_hot(tf.cast(leaf, tf.int32), next(classes)))
        empty = tf.zeros([batch, 0])
        return (
            tf.concat(continuous, 1) if continuous else empty,
            tf.concat(discrete, 1) if discrete else empty,
        )

    def sample(self, distributions, batch, seed):
        """Samples the continuous part and scores every discrete combination.

        `batch` is the number of elements of the distributions' batch shape (`B`, or `B·T` for
        distributions over `[B, T]` sequences): the results are flattened to it.

        Returns:
            `(continuous [B, C], log π_c [B], P [B, K], entropies [B, H])`: a reparameterised
            sample of the continuous part and its log-probability, the probability of each
            discrete combination, and each discrete head's entropy.
        """
        flat = tf.nest.flatten(distributions)
        seeds = tf.unstack(tf.random.split(seed, max(len(flat), 1)), num=max(len(flat), 1))
        continuous, continuous_log_prob = [], tf.zeros([batch])
        discrete_log_prob = tf.zeros([batch, self.combos.shape[0]])
        entropies = []
        head = 0
        for kind, distribution, leaf_seed in zip(self.kinds, flat, seeds, strict=False):
            if kind == "continuous":
                sample, log_prob = distribution.experimental_sample_and_log_prob(seed=leaf_seed)
                continuous.append(tf.reshape(sample, [batch, -1]))
                continuous_log_prob += tf.reshape(log_prob, [batch])
            else:
                logits = distribution.logits_parameter()
                log_probs = tf.nn.log_softmax(tf.reshape(logits, [batch, logits.shape[-1]]))
                discrete_log_prob += tf.gather(log_probs, self.combos[:, head], axis=1)
                entropies.append(
                    -tf.reduce_sum(tf.math.multiply_no_nan(log_probs, tf.exp(log_probs)), axis=1)
                )
                head += 1
        continuous = tf.concat(continuous, 1) if continuous else tf.zeros([batch, 0])
        entropy = tf.stack(entropies, 1) if entropies else tf.zeros([batch, 0])
        return continuous, continuous_log_prob, tf.exp(discrete_log_prob), entropy

    def q_all(
        self, critics, features, continuous, reduce: str = "min", subset=None, training=None
    ) -> tf.Tensor:
        """Q(s, c, k) for every discrete combination k, reduced over `critics`: `[B, K]`.

        Args:
            critics: The critic models.
            features: `[B, D]` observation features.
            continuous: `[B, C]` continuous actions.
            reduce: `"min"` (clipped double Q-learning) or `"mean"` (REDQ's actor).
            subset: int32 `[M]`, the indices of the critics to reduce over (REDQ's random
                subset), or None for all.
            training: Passed to the critics (True: their dropout is on).
        """
        batch = tf.shape(features)[0]
        inputs = self.q_inputs(features, continuous)
        qs = tf.stack([self.per_combination(c(inputs, training=training), batch) for c in critics])
        return self.reduce_critics(qs, reduce, subset)

    def q_inputs(self, features, continuous) -> tf.Tensor:
        """The critics' inputs for every discrete combination: `[B * K, F]`, combination-minor."""
        batch = tf.shape(features)[0]
        state = tf.concat([features, continuous], 1)
        tiled = tf.repeat(state, self.combo_codes.shape[0], axis=0)
        codes = tf.tile(tf.constant(self.combo_codes), [batch, 1])
        return tf.concat([tiled, codes], 1)

    def per_combination(self, q, batch) -> tf.Tensor:
        """A critic's output on `q_inputs`, `[B * K]`, as `[B, K]`."""
        return tf.reshape(q, [batch, self.combo_codes.shape[0]])

    @staticmethod
    def reduce_critics(qs, reduce: str = "min", subset=None) -> tf.Tensor:
        """`[N, B, K]` of N critics reduced to `[B, K]` (see `q_all`)."""
        if subset is not None:
            qs = tf.gather(qs, subset)
        return tf.reduce_min(qs, axis=0) if reduce == "min" else tf.reduce_mean(qs, axis=0)
