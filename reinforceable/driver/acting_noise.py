"""`ActingNoise`: the exploration noise a `KerasPolicy` keeps in its policy state, for the
model's gSDE heads (`"_gsde"`: their `ε`) and `NoisyDense` layers (`"_noisy"`: their draws)."""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from reinforceable.layers.dense_normal import gsde_layers
from reinforceable.layers.gsde import GSDE_KEY, gsde_act, gsde_initial_state
from reinforceable.layers.noisy_dense import (
    NOISY_KEY,
    noisy_act,
    noisy_initial_state,
    noisy_layers,
    using_noise,
)

__all__ = ["NOISE_KEYS", "ActingNoise"]

NOISE_KEYS = (GSDE_KEY, NOISY_KEY)
"""The policy-state keys of the noise, beside the model's own state."""


class ActingNoise:
    """The noise state of a model's gSDE heads and (with `noise`) `NoisyDense` layers.

    Args:
        model: The policy's model.
        deterministic: Whether the policy takes modes (gSDE's noise then stays as it is).
        noise: Whether `NoisyDense` layers act with their noise (else with their means).
    """

    def __init__(self, model: keras.Model, deterministic: bool, noise: bool):
        self.deterministic = deterministic
        self.gsde = gsde_layers(model)
        self.noisy = noisy_layers(model) if noise else []

    def initial_state(self, state: dict, batch_size: int) -> dict:
        """`state` with the noise's initial state under its keys."""
        if self.gsde:
            state = {**state, GSDE_KEY: gsde_initial_state(self.gsde, batch_size)}
        if self.noisy:
            state = {**state, NOISY_KEY: noisy_initial_state(self.noisy, batch_size)}
        return state

    def noisy_state(self, state, seed) -> dict | None:
        """This step's `NoisyDense` draws (`noisy_act`), or `None` without noisy layers."""
        return noisy_act(self.noisy, state[NOISY_KEY], seed) if self.noisy else None

    @contextlib.contextmanager
    def acting(self, noisy_state):
        """Within the block, the `NoisyDense` layers act with `noisy_state`'s draws."""
        with using_noise(self.noisy, noisy_state["noise"] if noisy_state else {}):
            yield

    def finish(self, distributions, action, state, new_state, noisy_state, seed):
        """The step's action (gSDE heads' actions in place of their samples) and next state
        (with the noise's)."""
        if noisy_state is not None:
            new_state = {**new_state, NOISY_KEY: noisy_state}
        if not self.gsde:
            return action, new_state
        noise_state = state[GSDE_KEY]
        if not self.deterministic:
            gsde_actions, noise_state = gsde_act(distributions, noise_state, seed)
            flat = [
                gsde_actions.get(getattr(getattr(d, "gsde", None), "name", None), a)
                for d, a in zip(
                    tf.nest.flatten(distributions), tf.nest.flatten(action), strict=True
                )
            ]
            action = tf.nest.pack_sequence_as(action, flat)
        return action, {**new_state, GSDE_KEY: noise_state}
