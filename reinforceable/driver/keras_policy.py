"""`KerasPolicy`: a Keras model of distribution layers as a Driver policy."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

import keras
import tensorflow as tf
import tensorflow_probability as tfp

from reinforceable._checks import check_instance
from reinforceable._nest import conform, leaf_paths
from reinforceable.distributions.joint import Joint
from reinforceable.driver.acting_noise import NOISE_KEYS, ActingNoise
from reinforceable.driver.masks import AllMaskedRows
from reinforceable.driver.model_io import (
    canonical,
    discrete_entropy,
    distribution_support,
    drop_time_axis,
    is_distribution,
)
from reinforceable.driver.policy import Policy, PolicyStep
from reinforceable.envs.timestep import Timestep
from reinforceable.layers.recurrent_state import recurrent_layers

__all__ = ["KerasPolicy", "SequenceEvaluation"]

tfd = tfp.distributions


class SequenceEvaluation(NamedTuple):
    """`KerasPolicy.evaluate`'s result: recorded actions re-evaluated on `[B, T]` sequences."""

    log_prob: tf.Tensor
    """`[B, T]`, log-probability of the recorded action under the current parameters."""
    entropy: tf.Tensor
    """`[B, T]`, entropy of the action distribution."""
    discrete_entropy: tf.Tensor
    """`[B, T]`, the part of `entropy` that its discrete heads (integer or bool samples) have."""
    extras: dict
    """The model's tensor outputs next to the action (`value`, ...), `[B, T, ...]`."""
    final_state: Any
    """The policy state after the last step."""


class KerasPolicy(Policy):
    """Acts with a Keras model whose outputs are distributions from `reinforceable.layers`.

    Outputs: either a nest of distributions (the action distribution), or a dict with an
    `"action"` entry holding that nest plus other entries holding tensors (a `"value"`, say), which
    go to the extras. The action is sampled from `Joint(distributions)` (or its mode when
    `deterministic`), and its log-probability is always in the extras as `"log_prob"`.

    Inputs are chosen by the model's signature:

    * a functional model with named dict inputs gets `"observation"` (the whole observation),
      `"episode_start"`, `"state"` (the recurrent state, see below), and, for a dict
      observation, any of the observation's own keys (an `"action_mask"`, say);
    * a functional model with one input, or with inputs shaped like the observation nest, gets
      the observation;
    * a subclassed model is called as `model(observation, episode_start=..., state=...)`, with
      the keyword arguments its `call` takes.

    A functional input declared with one more axis than the value it receives (a recurrent policy
    declared as `[batch, time, ...]`) gets a time axis of length 1, which is removed from the
    outputs again.

    **Recurrent state** goes in and out explicitly: a recurrent model takes an input `"state"`
    (a nest of `[batch, ...]` tensors: for each `StatefulRNN`, `{layer name: layer.state_inputs()}`)
    and returns the final state as an output `"state"` of the same structure
    (`StatefulRNN(..., initial_state=..., return_state=True)`). That nest, as lists and dicts, is
    the policy state that the Driver carries, resets and records; `evaluate` replays sequences
    from it. A subclassed recurrent model takes `state=` and returns `{"state": ...}` too, and
    has an `initial_state(batch_size)` method. The initial state is zeros.

    **gSDE heads** (`DenseNormal(..., sde=True)`) explore with a noise matrix per environment
    held fixed between resamples (see `reinforceable.layers.gsde`); it is part of the policy
    state, under `"_gsde"` next to the model's own state (for a memoryless model too), which
    the model never sees. Deterministic policies act with the mode and ignore it.

    **Noisy layers** (`NoisyDense`) act with draws per environment kept in the policy state
    under `"_noisy"` and redrawn on each layer's schedule (see `reinforceable.layers.noisy_dense`)
    when `noise` is on (by default for a sampling policy, off for a deterministic one); with it
    off they use their means.

    Args:
        model: The Keras policy model.
        deterministic: Act with the mode of the action distribution instead of a sample.
        noise: Whether `NoisyDense` layers act with noise; `None`: `not deterministic` (a
            deterministic actor that explores through noisy layers, TD3's, sets it).
        preprocess: A function applied to the observation nest before the model sees it (an
            agent's observation normaliser, say), in acting and in `evaluate` alike.

    Raises:
        ValueError: For a model with `StatefulRNN` layers that does not take its state as the
            input `"state"` (the message says how to declare it).
    """

    def __init__(
        self,
        model: keras.Model,
        deterministic: bool = False,
        preprocess: Callable[[Any], Any] | None = None,
        noise: bool | None = None,
    ):
        check_instance("KerasPolicy", "model", model, keras.Model, "a keras.Model")
        self.model = model
        self.deterministic = bool(deterministic)
        self.noise = not self.deterministic if noise is None else bool(noise)
        self.preprocess = preprocess
        try:
            self._inputs = model.input
        except (AttributeError, ValueError):
            self._inputs = None  # a subclassed model
        parameters = inspect.signature(model.call).parameters
        self._takes_episode_start = "episode_start" in parameters
        if self._inputs is None:
            self.recurrent = "state" in parameters
        else:
            # {"observation", "state", ...}; a Dict observation may have a key "state" too
            self.recurrent = isinstance(self._inputs, dict) and {"observation", "state"} <= set(
                self._inputs
            )
        if not self.recurrent and recurrent_layers(model):
            raise ValueError(
                f"KerasPolicy: the model '{model.name}' has StatefulRNN layers but no input named "
                "'state': declare each layer's state, `state = rnn.state_inputs()`, call it as "
                "`rnn(x, initial_state=state, return_state=True)`, and give the model the input "
                "'state': {rnn.name: state} and the output 'state': {rnn.name: list(final)} "
                "(rf.networks.actor_critic builds such models)."
            )
        self._noise = ActingNoise(model, self.deterministic, self.noise)
        self._time_axis = None
        self._masks = AllMaskedRows()

    def build(self, timestep: Timestep) -> None:
        batch = timestep.reward.shape[0] or tf.shape(timestep.reward)[0]
        state = self.initial_state(batch) if self.recurrent else None
        outputs, self._time_axis = self._call(timestep.observation, timestep.episode_start, state)
        distributions, _, _ = self._split_outputs(outputs)
        self._support = [distribution_support(d) for d in tf.nest.flatten(distributions)]
        self._masks.paths = leaf_paths(distributions)

    def action_support(self) -> Any:
        """Per action leaf in `tf.nest.flatten` order, `(low, high)` of what the head can emit
        (categorical: `(0, n - 1)`; Bernoulli: `(0, 1)`; hard-bounded Normal: its bounds),
        `None` for an unbounded head."""
        return getattr(self, "_support", None)

    def initial_state(self, batch_size: int) -> Any:
        """Zeros of the model's `"state"` input, `[batch_size, ...]` each (lists and dicts);
        `{}` for a memoryless model; with gSDE heads, their noise state under `"_gsde"` too."""
        return self._noise.initial_state(self._model_initial_state(batch_size), batch_size)

    def _model_initial_state(self, batch_size: int) -> Any:
        if not self.recurrent:
            return {}
        if self._inputs is None:
            return canonical(self.model.initial_state(batch_size))
        return tf.nest.map_structure(
            lambda t: tf.zeros(tf.concat([[batch_size], t.shape[1:]], 0), t.dtype),
            canonical(self._inputs["state"]),
        )

    def _model_inputs(self, observation, episode_start, state) -> tuple[Any, bool]:
        """The model's inputs, and whether a time axis was added."""
        if self.preprocess is not None:
            observation = self.preprocess(observation)
        if self._inputs is None:
            return observation, False
        declared = self._inputs
        if isinstance(declared, dict):
            values = {}
            for key in declared:
                if not self.recurrent and isinstance(observation, dict) and key in observation:
                    values[key] = observation[key]  # a memoryless model of a Dict observation
                elif key == "observation":
                    values[key] = conform(declared[key], observation)
                elif key == "episode_start":
                    values[key] = episode_start
                elif key == "state":
                    values[key] = tf.nest.pack_sequence_as(
                        declared["state"], tf.nest.flatten(state)
                    )
                elif isinstance(observation, dict) and key in observation:
                    values[key] = observation[key]
                else:
                    available = ["observation", "episode_start", "state"]
                    if isinstance(observation, dict):
                        available += sorted(observation)
                    raise ValueError(
                        f"KerasPolicy: the model has an input named {key!r}, which the "
                        f"environment does not provide; available inputs: {available}."
                    )
        elif tf.nest.is_nested(declared):
            values = conform(declared, observation)
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

    def _split_outputs(self, outputs) -> tuple[Any, dict, Any]:
        """(distributions, extras, final state or `{}`)."""
        state = {}
        if isinstance(outputs, dict) and "action" in outputs:
            distributions = outputs["action"]
            extras = {
                key: value for key, value in outputs.items() if key not in ("action", "state")
            }
            if self.recurrent:
                if "state" not in outputs:
                    raise ValueError(
                        "KerasPolicy: a recurrent model must return its final state as the "
                        "output 'state' (next to 'action')."
                    )
                state = canonical(outputs["state"])
        else:
            distributions, extras = outputs, {}
            if self.recurrent:
                raise ValueError(
                    "KerasPolicy: a recurrent model must output a dict {'action': ..., "
                    "'state': <its final state>}."
                )
        if not all(is_distribution(d) for d in tf.nest.flatten(distributions)):
            raise TypeError(
                "KerasPolicy: the model must output distributions (reinforceable.layers), or a "
                "dict whose 'action' entry holds them; received "
                f"{tf.nest.map_structure(lambda x: type(x).__name__, distributions)}."
            )
        for key, value in extras.items():
            if is_distribution(value) or not tf.is_tensor(value):
                raise TypeError(
                    f"KerasPolicy: the model output {key!r} next to 'action' must be a tensor; "
                    f"received {type(value).__name__}."
                )
        return distributions, extras, state

    def _call(self, observation, episode_start, state=None):
        """Calls the model; returns its outputs and whether a time axis was added."""
        if isinstance(state, dict) and any(key in state for key in NOISE_KEYS):
            state = {k: v for k, v in state.items() if k not in NOISE_KEYS}
        inputs, time_axis = self._model_inputs(observation, episode_start, state)
        if self._inputs is None:
            kwargs = {}
            if self._takes_episode_start:
                kwargs["episode_start"] = episode_start
            if self.recurrent:
                kwargs["state"] = state
            return self.model(inputs, **kwargs), time_axis
        return self.model(inputs), time_axis

    @property
    def takes_sequences(self) -> bool:
        """Whether the model is fed `[batch, time, ...]` sequences: a functional model that
        declares a time axis, or a recurrent subclassed model."""
        if self._inputs is None:
            return self.recurrent
        if self._time_axis is None:
            raise ValueError("KerasPolicy: call `build` with a first timestep first.")
        return self._time_axis

    def distributions(self, observation, episode_start=None) -> tuple[Any, dict]:
        """The action distributions (a nest) and the extras for a batch of observations `[B, ...]`
        (before `preprocess`), for learners of memoryless policies.

        Raises:
            ValueError: If the model is recurrent (use `evaluate` on sequences instead).
        """
        if self.recurrent:
            raise ValueError(
                "KerasPolicy.distributions: the model is recurrent; use `evaluate` on sequences."
            )
        if episode_start is None:
            batch = tf.shape(tf.nest.flatten(observation)[0])[0]
            episode_start = tf.zeros([batch], tf.bool)
        outputs, time_axis = self._call(observation, episode_start)
        distributions, extras, _ = self._split_outputs(outputs)
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
            distributions, extras, final_state = self.sequence_distributions(
                observation, episode_start, state
            )
            joint = Joint(distributions)
            return SequenceEvaluation(
                joint.log_prob(action),
                joint.entropy(),
                discrete_entropy(distributions),
                extras,
                final_state,
            )
        # A memoryless model sees the steps as one flat batch.
        batch_shape = tf.shape(episode_start)
        flat = lambda x: tf.reshape(x, tf.concat([[-1], tf.shape(x)[2:]], 0))  # noqa: E731
        unflat = lambda x: tf.reshape(x, tf.concat([batch_shape, tf.shape(x)[1:]], 0))  # noqa: E731
        outputs, _ = self._call(tf.nest.map_structure(flat, observation), flat(episode_start))
        distributions, extras, _ = self._split_outputs(outputs)
        joint = Joint(distributions)
        flat_action = tf.nest.map_structure(flat, action)
        return SequenceEvaluation(
            unflat(joint.log_prob(flat_action)),
            unflat(joint.entropy()),
            unflat(discrete_entropy(distributions)),
            tf.nest.map_structure(unflat, extras),
            {k: v for k, v in state.items() if k in NOISE_KEYS} if isinstance(state, dict) else {},
        )

    def sequence_distributions(self, observation, episode_start, state) -> tuple[Any, dict, Any]:
        """For a model fed sequences (`takes_sequences`): the action distributions (batch shape
        `[B, T]`), the extras `[B, T, ...]` and the final state, for `[B, T, ...]` observations
        (before `preprocess`) from `state`. Learners that need the distributions themselves
        (recurrent SAC's reparameterised samples) use this; `evaluate` scores recorded actions.

        Raises:
            ValueError: If the model does not take sequences.
        """
        if not self.takes_sequences:
            raise ValueError(
                "KerasPolicy.sequence_distributions: the model takes single steps, not "
                "[batch, time] sequences; use `distributions`."
            )
        # Sequences match a declared time axis, so `_call` adds none.
        outputs, _ = self._call(observation, episode_start, state)
        distributions, extras, final_state = self._split_outputs(outputs)
        for key in NOISE_KEYS:  # carried through, as the learner never acts with it
            if isinstance(state, dict) and key in state:
                final_state = {**final_state, key: state[key]}
        return distributions, extras, final_state

    def step(self, timestep: Timestep, state: Any, seed: tf.Tensor) -> PolicyStep:
        noisy_state = self._noise.noisy_state(state, seed)
        with self._noise.acting(noisy_state):
            outputs, time_axis = self._call(
                timestep.observation, timestep.episode_start, state if self.recurrent else None
            )
        distributions, extras, new_state = self._split_outputs(outputs)
        distribution = Joint(distributions)
        action = distribution.mode() if self.deterministic else distribution.sample(seed=seed)
        action = self._masks.watch(distributions, action)
        action, new_state = self._noise.finish(
            distributions, action, state, new_state, noisy_state, seed
        )
        extras = {**extras, "log_prob": distribution.log_prob(action)}
        if time_axis:
            action, extras = drop_time_axis(action), drop_time_axis(extras)
        return PolicyStep(action=action, state=new_state, extras=extras)

    def take_warnings(self) -> list[str]:
        """Once per policy: the first batch row where an action mask allowed no action."""
        return self._masks.take_warnings()
