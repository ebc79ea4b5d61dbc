"""Generalised state-dependent exploration (gSDE; Raffin, Kober and Stulp, 2021).

A `DenseNormal(..., sde=True)` head explores with noise that is a function of the state, held
fixed over several steps, instead of independent Gaussian noise at every step: with the head's
input features `z(s)` (`[F]`, gradients stopped), a learned log standard deviation `log σ`
(`[F, A]`) and an exploration matrix `ε ~ N(0, σ²)` (`[F, A]`) drawn per environment, the
action before any squashing is

    u = μ(s) + z(s) ε,                       so  u ~ N(μ(s), diag(z(s)² σ²))

for a given state. The distribution the head returns is that Normal (what PPO's ratio and
SAC's reparameterised samples use); acting draws `ε` into the policy state and keeps it until it
is resampled, every `sde_sample_freq` steps of an environment and at each of its episode starts
(`-1`: at episode starts only), so that nearby states get nearby noise and exploration is
smooth in time. `KerasPolicy` carries the standard-normal draws `ε / σ` in its policy state
under `"_gsde"` (`{"noise": {head: [B, F, A]}, "steps": [B]}`), so the draws stay meaningful
as `σ` learns.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["GSDE_KEY", "GSDENoise", "gsde_act", "gsde_initial_state", "gsde_noise"]

GSDE_KEY = "_gsde"


class GSDENoise:
    """What a gSDE head attaches to its distribution (as `distribution.gsde`): the layer's name,
    its latent features `[..., F]` (gradients stopped), its std matrix `σ` `[F, A]`, the event
    shape and the map from `u` to the action (the head's squashing, or none)."""

    def __init__(self, name: str, latent, std, event_shape, to_action, sample_freq: int):
        self.name = name
        self.latent = latent
        self.std = std
        self.event_shape = tuple(event_shape)
        self.to_action = to_action
        self.sample_freq = int(sample_freq)

    def action(self, loc: tf.Tensor, draws: tf.Tensor) -> tf.Tensor:
        """The action for standard-normal draws `[B, F, A]` (one matrix per environment)."""
        u = loc + gsde_noise(self.latent, draws, self.std, self.event_shape)
        return self.to_action(u)


def gsde_noise(latent: tf.Tensor, draws: tf.Tensor, std: tf.Tensor, event_shape=()) -> tf.Tensor:
    """The state-dependent noise `z(s) ε` with `ε = draws * σ`.

    `noise[b, ..., a] = Σ_f latent[b, ..., f] · draws[b, f, a] · std[f, a]`.

    Args:
        latent: `[B, ..., F]` features (`...`: a time axis, say).
        draws: `[B, F, A]` standard-normal draws, one matrix per batch entry.
        std: `[F, A]` standard deviations `σ`.
        event_shape: The action event shape, with `prod(event_shape) == A`.

    Returns:
        `[B, ..., *event_shape]`.
    """
    noise = tf.einsum("b...f,bfa->b...a", latent, draws * std)
    if len(event_shape) == 1:
        return noise
    outer = tf.shape(noise)[:-1]
    return tf.reshape(noise, tf.concat([outer, tf.constant(event_shape, tf.int32)], 0))


def gsde_initial_state(layers, batch_size) -> dict:
    """Zero draws and step counts: the next step draws afresh (a count of 0 resamples)."""
    return {
        "noise": {
            layer.name: tf.zeros([batch_size, *layer.sde_log_std.shape], tf.float32)
            for layer in layers
        },
        "steps": tf.zeros([batch_size], tf.int32),
    }


def gsde_act(distributions, state: dict, seed: tf.Tensor) -> tuple[dict, Any]:
    """The gSDE actions of the heads in `distributions` that have `gsde`, and the next state.

    Each head's draws are resampled where the step count is a multiple of its `sample_freq`
    (or 0, for `-1`); counts are reset to 0 by the Driver at episode starts.

    Returns:
        `{head name: action}` and the next `"_gsde"` state.
    """
    steps = state["steps"]
    actions, noise = {}, dict(state["noise"])
    for index, distribution in enumerate(tf.nest.flatten(distributions)):
        parts = getattr(distribution, "gsde", None)
        if parts is None:
            continue
        old = noise[parts.name]
        resample = steps == 0 if parts.sample_freq <= 0 else steps % parts.sample_freq == 0
        fresh = tf.random.stateless_normal(
            tf.shape(old), tf.random.experimental.stateless_fold_in(seed, 7919 + index)
        )
        draws = tf.where(resample[:, None, None], fresh, old)
        noise[parts.name] = draws
        actions[parts.name] = parts.action(_loc(distribution), draws)
    return actions, {"noise": noise, "steps": steps + 1}


def _loc(distribution):
    """The Normal's location under `Independent` and `BoundedNormal` wrappers."""
    while not hasattr(distribution, "loc"):
        distribution = distribution.distribution
    return distribution.loc
