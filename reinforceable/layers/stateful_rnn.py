"""`StatefulRNN`: a GRU or LSTM that keeps its state between calls and resets it per episode."""

from __future__ import annotations

import contextlib
from typing import NamedTuple

import keras
import tensorflow as tf

from reinforceable.layers._base import input_features

__all__ = [
    "GRUState",
    "LSTMState",
    "StatefulRNN",
    "explicit_recurrent_state",
    "get_recurrent_state",
    "recurrent_layers",
    "reset_recurrent_state",
    "set_recurrent_state",
]


class GRUState(NamedTuple):
    """State of a GRU `StatefulRNN`."""

    hidden: tf.Tensor
    """`[batch, units]`."""


class LSTMState(NamedTuple):
    """State of an LSTM `StatefulRNN`."""

    hidden: tf.Tensor
    """`[batch, units]`, the output h."""
    cell: tf.Tensor
    """`[batch, units]`, the memory c."""


_CELLS = {
    "gru": (keras.layers.GRUCell, GRUState),
    "lstm": (keras.layers.LSTMCell, LSTMState),
}


class _StateStore:
    """Holds the state out of sight of Keras and TF object tracking.

    The state belongs to a rollout, not to the model: its batch size is the number of environments,
    and saving it with the weights would tie a saved model to one batch size. So it is neither in
    `model.weights`, nor in `model.save`, nor in a `tf.train.Checkpoint` of the model.

    `variables` hold the state between calls and `rows` its batch size. `explicit`, set only inside
    `explicit_recurrent_state`, holds a state tensor that replaces the variables for those calls.
    """

    def __init__(self):
        self.variables: GRUState | LSTMState | None = None
        self.rows: tf.Variable | None = None
        self.explicit: GRUState | LSTMState | None = None


@keras.saving.register_keras_serializable(package="reinforceable")
class StatefulRNN(keras.layers.Layer):
    """A GRU or LSTM layer that carries its state from one call to the next.

    The layer accepts either a single step, `[batch, features]` (acting), or a sequence,
    `[batch, time, features]` (training), and runs the same cell with the same weights on both: a
    sequence run in one call gives the same outputs as the same steps run one call at a time.

    The state lives in the layer. Each call starts from the state that the previous call left,
    and leaves its final state for the next call. If the batch size changes from one call to the
    next (from 8 training environments to 1 evaluation environment, say), the call starts from
    zeros. `get_state`, `set_state` and `reset_state` read and write it, so a rollout can record
    the state at the start of each sequence and a learner can restore it before replaying the
    sequence. The module-level `get_recurrent_state(model)` and friends do this for every
    `StatefulRNN` in a model at once.

    `reset_mask` (True at the first step of an episode) zeroes the state of exactly those batch
    entries before the step is processed, and leaves the others untouched.

    Args:
        cell: `"gru"` or `"lstm"` (case-insensitive).
        units: Size of the state and of the output.
        cell_kwargs: Extra keyword arguments for `keras.layers.GRUCell` / `LSTMCell`, such as
            `activation` or `kernel_initializer`. Dropout is not supported inside the cell; put a
            `keras.layers.Dropout` before the layer instead.
        **kwargs: Passed to `keras.layers.Layer`.

    Call arguments:
        inputs: `[batch, features]` or `[batch, time, features]`.
        reset_mask: Optional boolean (or 0/1), `[batch]` or `[batch, time]` to match `inputs`.
        training: Passed to the cell.

    Output: `[batch, units]` or `[batch, time, units]`.

    Raises:
        ValueError: At construction, for an unknown `cell`, a non-positive `units` or dropout in
            `cell_kwargs`; when called, for inputs that are not rank 2 or 3 or a `reset_mask` whose
            shape does not match.

    Example:
        Functional models fix the rank of their inputs, so a recurrent functional policy declares
        a time axis and acts with `time = 1`:

        >>> obs = keras.Input((None, 4))                      # [batch, time, 4]
        >>> start = keras.Input((None,), dtype="bool")        # [batch, time]
        >>> h = StatefulRNN("gru", 64)(keras.layers.Dense(64)(obs), reset_mask=start)
        >>> model = keras.Model({"observation": obs, "episode_start": start}, h)
    """

    def __init__(
        self, cell: str = "gru", units: int = 64, cell_kwargs: dict | None = None, **kwargs
    ):
        cell_type = cell.lower() if isinstance(cell, str) else None
        if cell_type not in _CELLS:
            raise ValueError(
                f"StatefulRNN: `cell` must be one of {sorted(_CELLS)}; received {cell!r}."
            )
        if isinstance(units, bool) or not isinstance(units, int) or units <= 0:
            raise ValueError(f"StatefulRNN: `units` must be a positive int; received {units!r}.")
        if cell_kwargs is not None and not isinstance(cell_kwargs, dict):
            raise TypeError(
                f"StatefulRNN: `cell_kwargs` must be a dict or None; received "
                f"{type(cell_kwargs).__name__}."
            )
        cell_kwargs = dict(cell_kwargs or {})
        for key in ("dropout", "recurrent_dropout"):
            if cell_kwargs.get(key):
                raise ValueError(
                    f"StatefulRNN: `cell_kwargs['{key}']` is not supported; received "
                    f"{cell_kwargs[key]!r}. Put a keras.layers.Dropout before the layer instead."
                )
        super().__init__(**kwargs)
        self.cell_type = cell_type
        self.units = units
        self.cell_kwargs = cell_kwargs
        cell_class, self._state_class = _CELLS[cell_type]
        self.cell = cell_class(units, name=f"{cell_type}_cell", **cell_kwargs)
        self._store = _StateStore()
        with tf.init_scope():
            self._store.rows = tf.Variable(1, trainable=False, name=f"{self.name}_rows")
            self._store.variables = self._state_class(
                *[
                    tf.Variable(
                        self._blank(),
                        shape=tf.TensorShape([None, self.units]),
                        trainable=False,
                        name=f"{self.name}_{field}",
                    )
                    for field in self._state_class._fields
                ]
            )

    def build(self, input_shape):
        features = input_features(input_shape, "StatefulRNN")
        self.cell.build((None, features))

    def _blank(self) -> tf.Tensor:
        # "No state yet" is one row of zeros rather than an empty [0, units] tensor, so that
        # gathering a row (see `_starting_state`) is always possible. It means the same thing: a
        # call with another batch size starts from zeros, and with batch size 1 from these zeros.
        return tf.zeros([1, self.units], self.compute_dtype)

    def initial_state(self, batch_size) -> GRUState | LSTMState:
        """Zeros, the state at the start of an episode."""
        zeros = tf.zeros(tf.stack([batch_size, self.units]), self.compute_dtype)
        return self._state_class(*[zeros for _ in self._state_class._fields])

    def _variables(self) -> GRUState | LSTMState:
        if self._store.variables is None:
            raise ValueError(
                f"StatefulRNN '{self.name}': the layer has no state before it is built; call it "
                "(or the model that holds it) first."
            )
        return self._store.variables

    def get_state(self) -> GRUState | LSTMState:
        """The state that the next call starts from, `[batch, units]` per field.

        Before the first call, or after `reset_state`, this is a single row of zeros: the next
        call starts from zeros whatever its batch size.
        """
        return self._state_class(*[v.read_value() for v in self._variables()])

    def set_state(self, state) -> None:
        """Sets the state that the next call starts from (a `GRUState`/`LSTMState` or a sequence).

        Raises:
            ValueError: If the structure or the shapes do not fit the layer.
        """
        variables = self._variables()
        state = tuple(state)
        if len(state) != len(variables):
            raise ValueError(
                f"StatefulRNN '{self.name}': `state` must have {len(variables)} tensor(s) "
                f"({', '.join(self._state_class._fields)}); received {len(state)}."
            )
        state = [tf.convert_to_tensor(s, self.compute_dtype) for s in state]
        for s in state:
            if not s.shape.is_compatible_with([None, self.units]) or (
                s.shape[0] is not None
                and state[0].shape[0] is not None
                and s.shape[0] != state[0].shape[0]
            ):
                raise ValueError(
                    f"StatefulRNN '{self.name}': every tensor of `state` must have shape "
                    f"[batch, {self.units}] with the same batch; received "
                    f"{[tuple(t.shape) for t in state]}."
                )
        self._store_state(state)

    def _store_state(self, state) -> None:
        for variable, value in zip(self._variables(), state, strict=True):
            variable.assign(value)
        self._store.rows.assign(tf.shape(state[0])[0])

    def reset_state(self) -> None:
        """Forgets the state: the next call starts from zeros."""
        self._store_state([self._blank() for _ in self._state_class._fields])

    def _starting_state(self, batch_size) -> GRUState | LSTMState:
        """The stored state if its batch size is `batch_size`, zeros otherwise.

        Branch-free (no tf.cond, which costs a lot inside a driver's loop): the stored state
        always has at least one row, so gathering `min(i, rows - 1)` is safe, and a mismatch
        multiplies the result by zero.
        """
        stored = self.get_state()
        # The batch size comes from its own variable, never from tf.shape(stored): Grappler folds
        # the shape of a variable read to the shape of a later assignment in the same function,
        # which is wrong here whenever the batch size changes (TF 2.21).
        rows = self._store.rows.read_value()
        same = tf.cast(tf.equal(rows, batch_size), self.compute_dtype)
        index = tf.minimum(tf.range(batch_size), rows - 1)
        return self._state_class(*[tf.gather(s, index) * same for s in stored])

    def _check_call(self, inputs_shape, reset_shape) -> None:
        rank = len(inputs_shape)
        if rank not in (2, 3):
            raise ValueError(
                f"StatefulRNN '{self.name}': `inputs` must be [batch, features] or "
                f"[batch, time, features]; received shape {tuple(inputs_shape)}."
            )
        if reset_shape is not None and not tf.TensorShape(reset_shape).is_compatible_with(
            inputs_shape[:-1]
        ):
            raise ValueError(
                f"StatefulRNN '{self.name}': `reset_mask` must have shape "
                f"{tuple(inputs_shape[:-1])} to match `inputs` {tuple(inputs_shape)}; received "
                f"{tuple(reset_shape)}."
            )

    def compute_output_spec(self, inputs, reset_mask=None, training=None):
        self._check_call(inputs.shape, None if reset_mask is None else reset_mask.shape)
        return keras.KerasTensor((*inputs.shape[:-1], self.units), dtype=self.compute_dtype)

    def _step(self, inputs, state, reset, training):
        if reset is not None:
            state = self._state_class(
                *[tf.where(reset[:, None], tf.zeros_like(s), s) for s in state]
            )
        outputs, new_state = self.cell(inputs, list(state), training=training)
        return outputs, self._state_class(*new_state)

    def call(self, inputs, reset_mask=None, training=None):
        inputs = tf.convert_to_tensor(inputs, self.compute_dtype)
        self._check_call(inputs.shape, None if reset_mask is None else reset_mask.shape)
        reset = None if reset_mask is None else tf.cast(reset_mask, tf.bool)

        batch_size = tf.shape(inputs)[0]
        explicit = self._store.explicit
        state = self._starting_state(batch_size) if explicit is None else explicit

        if inputs.shape.rank == 2:
            outputs, state = self._step(inputs, state, reset, training)
        elif inputs.shape[1] == 1:
            # One time step (acting with a time axis): no loop needed.
            outputs, state = self._step(
                inputs[:, 0], state, None if reset is None else reset[:, 0], training
            )
            outputs = outputs[:, None]
        else:
            time_major = tf.transpose(inputs, [1, 0, 2])
            if reset is None:
                reset = tf.zeros(tf.shape(inputs)[:2], tf.bool)
            reset_time_major = tf.transpose(reset, [1, 0])

            def body(carry, step):
                outputs, state = self._step(step[0], carry[1], step[1], training)
                return outputs, state

            initial_outputs = tf.zeros(tf.stack([batch_size, self.units]), self.compute_dtype)
            outputs, states = tf.scan(
                body, (time_major, reset_time_major), initializer=(initial_outputs, state)
            )
            outputs = tf.transpose(outputs, [1, 0, 2])
            state = self._state_class(*[s[-1] for s in states])

        if explicit is None:
            self._store_state(state)
        else:
            self._store.explicit = state
        return outputs

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(cell=self.cell_type, units=self.units, cell_kwargs=self.cell_kwargs)
        return config


def recurrent_layers(model: keras.layers.Layer) -> list[StatefulRNN]:
    """Every `StatefulRNN` in `model` (functional, sequential or subclassed, nested or not)."""
    # Keras 3 has no public recursive layer listing; `_flatten_layers` is what `Model.layers`
    # and weight tracking use.
    return [
        layer
        for layer in model._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, StatefulRNN)
    ]


def _by_name(model) -> dict[str, StatefulRNN]:
    layers = {}
    for layer in recurrent_layers(model):
        if layer.name in layers and layers[layer.name] is not layer:
            raise ValueError(
                f"Two StatefulRNN layers in '{model.name}' share the name '{layer.name}'; give "
                "them distinct names."
            )
        layers[layer.name] = layer
    return layers


def _layers_matching(model, state: dict, caller: str) -> dict[str, StatefulRNN]:
    """The model's StatefulRNNs by name, checked to be exactly the layers named in `state`."""
    layers = _by_name(model)
    if set(state) != set(layers):
        raise ValueError(
            f"{caller}: `state` must hold the layers {sorted(layers)}; received {sorted(state)}."
        )
    return layers


def get_recurrent_state(model: keras.layers.Layer) -> dict[str, GRUState | LSTMState]:
    """The state of every `StatefulRNN` in `model`, keyed by layer name (empty if none)."""
    return {name: layer.get_state() for name, layer in _by_name(model).items()}


def set_recurrent_state(model: keras.layers.Layer, state: dict) -> None:
    """Sets the state of every `StatefulRNN` in `model` from `get_recurrent_state`'s format.

    Raises:
        ValueError: If the layer names in `state` are not those of the model.
    """
    for name, layer in _layers_matching(model, state, "set_recurrent_state").items():
        layer.set_state(state[name])


@contextlib.contextmanager
def explicit_recurrent_state(model: keras.layers.Layer, state: dict):
    """Runs `model` on an explicit recurrent state instead of the layers' stored state.

    Inside the `with` block, every `StatefulRNN` in `model` starts from `state[layer.name]` and
    leaves its stored state untouched; when the block ends, the dict it yielded holds each layer's
    final state. The state flows as ordinary tensors, so this is what a graph-mode loop uses to
    carry the state (the Driver does), and what a learner uses to replay a sequence from its
    recorded initial state.

    Example:
        >>> with explicit_recurrent_state(policy, state) as final:
        ...     outputs = policy(inputs)
        >>> state = final   # {layer name: GRUState/LSTMState}

    Raises:
        ValueError: If the layer names in `state` are not those of the model.
    """
    layers = _layers_matching(model, state, "explicit_recurrent_state")
    for name, layer in layers.items():
        layer._store.explicit = layer._state_class(*state[name])
    final = {}
    try:
        yield final
    finally:
        for name, layer in layers.items():
            final[name] = layer._store.explicit
            layer._store.explicit = None


def reset_recurrent_state(model: keras.layers.Layer) -> None:
    """Forgets the state of every `StatefulRNN` in `model`."""
    for layer in recurrent_layers(model):
        layer.reset_state()
