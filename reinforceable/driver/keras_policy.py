"""`KerasPolicy`: a Keras model of distribution layers as a Driver policy."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable._checks import check_instance
from reinforceable._nest import leaf_paths
from reinforceable.distributions.joint import Joint
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.envs.timestep import Timestep
from reinforceable.layers.stateful_rnn import explicit_recurrent_state, recurrent_layers

__all__ = ["KerasPolicy", "SequenceEvaluation"]

tfd = tfp.distributions


class SequenceEvaluation(NamedTuple):
    """`KerasPolicy.evaluate`'s result: recorded actions re-evaluated on `[B, T]` sequences."""

    log_prob: tf.Tensor
    """`[B, T]`, log-probability of the recorded action under the current parameters."""
    entropy: tf.Tensor
    """`[B, T]`, entropy of the action distribution."""
    extras: dict
    """The model's tensor outputs next to the action (`value`, ...), `[B, T, ...]`."""
    final_state: Any
    """The policy state after the last step."""


def _is_distribution(value) -> bool:
    return isinstance(value, tfd.Distribution)


class KerasPolicy(Policy):
    """Acts with a Keras model whose outputs are distributions from `reinforceable.layers`.

    Outputs: either a nest of distributions (the action distribution), or a dict with an
    `"action"` entry holding that nest plus other entries holding tensors (a `"value"`, say), which
    go to the extras. The action is sampled from `Joint(distributions)` (or its mode when
    `deterministic`), and its log-probability is always in the extras as `"log_prob"`.

    Inputs are chosen by the model's signature:

    * a functional model with named dict inputs gets `"observation"` (the whole observation),
      `"episode_start"`, and, for a dict observation, any of the observation's own keys (an
      `"action_mask"`, say);
    * a functional model with one input, or with inputs shaped like the observation nest, gets
      the observation;
    * a subclassed model is called as `model(observation, episode_start=...)` when its `call`
      takes `episode_start`, and as `model(observation)` otherwise.

    A functional input declared with one more axis than the value it receives (a recurrent policy
    declared as `[batch, time, ...]`) gets a time axis of length 1, which is removed from the
    outputs again. The hidden state of every `StatefulRNN` in the model is the policy state.

    Args:
        model: The Keras policy model.
        deterministic: Act with the mode of the action distribution instead of a sample.
        preprocess: A function applied to the observation nest before the model sees it (an
            agent's observation normaliser, say), in acting and in `evaluate` alike.
    """

    def __init__(
        self,
        model: keras.Model,
        deterministic: bool = False,
        preprocess: Callable[[Any], Any] | None = None,
    ):
        check_instance("KerasPolicy", "model", model, keras.Model, "a keras.Model")
        self.model = model
        self.deterministic = bool(deterministic)
        self.preprocess = preprocess
        self._recurrent_layers = recurrent_layers(model)
        try:
            self._inputs = model.input
        except (AttributeError, ValueError):
            self._inputs = None  # a subclassed model
        self._takes_episode_start = "episode_start" in inspect.signature(model.call).parameters
        self._time_axis = None

    def build(self, timestep: Timestep) -> None:
        _, self._time_axis = self._call(timestep.observation, timestep.episode_start)

    def initial_state(self, batch_size: int) -> dict:
        if not all(layer.built for layer in self._recurrent_layers):
            raise ValueError(
                "KerasPolicy: the model's recurrent layers are not built yet; call `build` "
                "with a first timestep (the Driver does this when it is constructed)."
            )
        return {layer.name: layer.initial_state(batch_size) for layer in self._recurrent_layers}

    def _model_inputs(self, observation, episode_start) -> tuple[Any, bool]:
        """The model's inputs, and whether a time axis was added."""
        if self.preprocess is not None:
            observation = self.preprocess(observation)
        if self._inputs is None:
            return observation, False
        declared = self._inputs
        if isinstance(declared, dict):
            values = {}
            for key in declared:
                if key == "observation":
                    values[key] = observation
                elif key == "episode_start":
                    values[key] = episode_start
                elif isinstance(observation, dict) and key in observation:
                    values[key] = observation[key]
                else:
                    available = ["observation", "episode_start"]
                    if isinstance(observation, dict):
                        available += sorted(observation)
                    raise ValueError(
                        f"KerasPolicy: the model has an input named {key!r}, which the "
                        f"environment does not provide; available inputs: {available}."
                    )
        elif tf.nest.is_nested(declared):
            values = observation
        else:
            if tf.nest.is_nested(observation):
                raise ValueError(
                    "KerasPolicy: the model has a single input but the observation is a nest; "
                    "declare named dict inputs (keras.Input(..., name=key)) instead."
                )
            values = observation
        try:
            tf.nest.assert_same_structure(declared, values)
        except (ValueError, TypeError):
            raise ValueError(
                "KerasPolicy: the model's inputs do not match the observation's structure: "
                f"model inputs {tf.nest.map_structure(lambda t: t.shape, declared)}, observation "
                f"{tf.nest.map_structure(lambda t: t.shape, values)}."
            ) from None
        time_axis = any(
            len(d.shape) == len(v.shape) + 1
            for d, v in zip(tf.nest.flatten(declared), tf.nest.flatten(values), strict=True)
        )
        if time_axis:
            values = tf.nest.map_structure(
                lambda d, v: tf.expand_dims(v, 1) if len(d.shape) == len(v.shape) + 1 else v,
                declared,
                values,
            )
        return values, time_axis

    def _split_outputs(self, outputs) -> tuple[Any, dict]:
        if isinstance(outputs, dict) and "action" in outputs:
            distributions = outputs["action"]
            extras = {key: value for key, value in outputs.items() if key != "action"}
        else:
            distributions, extras = outputs, {}
        if not all(_is_distribution(d) for d in tf.nest.flatten(distributions)):
            raise TypeError(
                "KerasPolicy: the model must output distributions (reinforceable.layers), or a "
                "dict whose 'action' entry holds them; received "
                f"{tf.nest.map_structure(lambda x: type(x).__name__, distributions)}."
            )
        for key, value in extras.items():
            if _is_distribution(value) or not tf.is_tensor(value):
                raise TypeError(
                    f"KerasPolicy: the model output {key!r} next to 'action' must be a tensor; "
                    f"received {type(value).__name__}."
                )
        return distributions, extras

    def _call(self, observation, episode_start):
        """Calls the model; returns its outputs and whether a time axis was added."""
        inputs, time_axis = self._model_inputs(observation, episode_start)
        if self._inputs is None and self._takes_episode_start:
            return self.model(inputs, episode_start=episode_start), time_axis
        return self.model(inputs), time_axis

    @property
    def takes_sequences(self) -> bool:
        """Whether the model is fed `[batch, time, ...]` sequences: a functional model that
        declares a time axis, or a subclassed model with recurrent layers."""
        if self._inputs is None:
            return bool(self._recurrent_layers)
        if self._time_axis is None:
            raise ValueError("KerasPolicy: call `build` with a first timestep first.")
        return self._time_axis

    def distributions(self, observation, episode_start=None) -> tuple[Any, dict]:
        """The action distributions (a nest) and the extras for a batch of observations `[B, ...]`
        (before `preprocess`), for learners of memoryless policies.

        Raises:
            ValueError: If the model is recurrent (use `evaluate` on sequences instead).
        """
        if self._recurrent_layers:
            raise ValueError(
                "KerasPolicy.distributions: the model is recurrent; use `evaluate` on sequences."
            )
        if episode_start is None:
            batch = tf.shape(tf.nest.flatten(observation)[0])[0]
            episode_start = tf.zeros([batch], tf.bool)
        outputs, time_axis = self._call(observation, episode_start)
        distributions, extras = self._split_outputs(outputs)
        if time_axis:
            raise ValueError(
                "KerasPolicy.distributions: the model declares a time axis; use `evaluate`."
            )
        return distributions, extras

    @property
    def takes_episode_start(self) -> bool:
        """Whether the model receives `episode_start` (a named input, or a `call` argument)."""
        if self._inputs is None:
            return self._takes_episode_start
        return isinstance(self._inputs, dict) and "episode_start" in self._inputs

    def evaluate(self, observation, episode_start, state, action) -> SequenceEvaluation:
        """Re-evaluates recorded actions on sequences, as a learner does.

        Args:
            observation: `[B, T, ...]` (any nest), as recorded (before `preprocess`).
            episode_start: bool `[B, T]`; the recurrent state is reset where it is True.
            state: The policy state before the first step (`initial_state`'s structure).
            action: `[B, T, ...]` (the action nest).

        Returns:
            A `SequenceEvaluation` with `[B, T]` log-probabilities and entropies, the model's
            extras `[B, T, ...]` and the final state.
        """
        if self.takes_sequences:
            with explicit_recurrent_state(self.model, state) as final_state:
                # Sequences match a declared time axis, so `_call` adds none.
                outputs, _ = self._call(observation, episode_start)
            distributions, extras = self._split_outputs(outputs)
            joint = Joint(distributions)
            return SequenceEvaluation(joint.log_prob(action), joint.entropy(), extras, final_state)
        # A memoryless model sees the steps as one flat batch.
        batch_shape = tf.shape(episode_start)
        flat = lambda x: tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))  # noqa: E731
        unflat = lambda x: tf.reshape(x, tf.concat([batch_shape, tf.shape(x)[1:]], 0))  # noqa: E731
        outputs, _ = self._call(tf.nest.map_structure(flat, observation), flat(episode_start))
        distributions, extras = self._split_outputs(outputs)
        joint = Joint(distributions)
        flat_action = tf.nest.map_structure(flat, action)
        return SequenceEvaluation(
            unflat(joint.log_prob(flat_action)),
            unflat(joint.entropy()),
            tf.nest.map_structure(unflat, extras),
            {},
        )

    def step(self, timestep: Timestep, state: Any, seed: tf.Tensor) -> PolicyStep:
        if self._recurrent_layers:
            with explicit_recurrent_state(self.model, state) as new_state:
                outputs, time_axis = self._call(timestep.observation, timestep.episode_start)
        else:
            outputs, time_axis = self._call(timestep.observation, timestep.episode_start)
            new_state = {}
        distributions, extras = self._split_outputs(outputs)
        distribution = Joint(distributions)
        action = distribution.mode() if self.deterministic else distribution.sample(seed=seed)
        extras = {**extras, "log_prob": distribution.log_prob(action)}
        if time_axis:
            action, extras = _drop_time_axis(action), _drop_time_axis(extras)
        return PolicyStep(action=action, state=new_state, extras=extras)


def _drop_time_axis(nest):
    """Removes the length-1 time axis that `KerasPolicy` added, checking every output has it."""

    def drop(path, value):
        if value.shape.rank is None or value.shape.rank < 2 or value.shape[1] not in (1, None):
            raise ValueError(
                f"KerasPolicy: the model takes a time axis ([batch, time, ...]), so every output "
                f"must keep it, but the output at {path or 'the root'} has shape {value.shape}."
            )
        return tf.squeeze(value, 1)

    flat = [drop(p, v) for p, v in zip(leaf_paths(nest), tf.nest.flatten(nest), strict=True)]
    return tf.nest.pack_sequence_as(nest, flat)
