"""`StatefulRNN`: a GRU or LSTM whose state goes in and out explicitly, reset per episode.

A policy declares the state of each `StatefulRNN` as a model input and returns the final state as
a model output (`initial_state=`, `return_state=True`), so that the Driver carries it through its
loop and a learner replays a sequence from a recorded state with nothing hidden in the layer.
Called without `initial_state` (interactively, outside a policy), the layer keeps its state
between calls instead.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from reinforceable.layers._base import input_features

__all__ = ["GRUState", "LSTMState", "StatefulRNN"]


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
    """Holds the state of interactive calls, out of sight of Keras and TF object tracking.

    The state belongs to a rollout, not to the model: its batch size is the number of environments,
    and saving it with the weights would tie a saved model to one batch size. So it is neither in
    `model.weights`, nor in `model.save`, nor in a `tf.train.Checkpoint` of the model.

    `variables` hold the state between calls and `rows` its batch size. Calls with an explicit
    `initial_state` (every policy's) neither read nor write them.
    """

    def __init__(self):
        self.variables: GRUState | LSTMState | None = None
        self.rows: tf.Variable | None = None


@keras.saving.register_keras_serializable(package="reinforceable")
class StatefulRNN(keras.layers.Layer):
    """A GRU or LSTM layer with explicit state in and out, reset where episodes start.

    The layer accepts either a single step, `[batch, features]` (acting), or a sequence,
    `[batch, time, features]` (training), and runs the same cell with the same weights on both: a
    sequence run in one call gives the same outputs as the same steps run one call at a time.

    In a policy, the state goes in and out explicitly: `layer(x, initial_state=state,
    return_state=True)` starts from `state` (a list of `[batch, units]` tensors: hidden, and cell
    for an LSTM) and returns `(outputs, final_state)`. A functional policy declares the inputs
    with `state_inputs()` and gives them and the final states to the model under `"state"`,
    keyed by layer name (see the example); `KerasPolicy` then carries the state through the
    Driver's loop, records it, and replays sequences from it.

    Called without `initial_state` (step by step, interactively), the layer keeps its state
    between calls instead: each call starts from the state the previous call left (from zeros if
    the batch size changed), and `get_state`, `set_state` and `reset_state` (or
    `get_recurrent_state(model)` and friends in `recurrent_state.py`, for every `StatefulRNN` in a
    model) read and write it.

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
        initial_state: Optional list of `[batch, units]` tensors (`GRUState`/`LSTMState` order):
            the state to start from; the stored state is then neither read nor written.
        return_state: Also return the final state.

    Output: `[batch, units]` or `[batch, time, units]`; with `return_state`, `(outputs, state)`
    where `state` is a `GRUState` or `LSTMState` of `[batch, units]` tensors.

    Raises:
        ValueError: At construction, for an unknown `cell`, a non-positive `units` or dropout in
            `cell_kwargs`; when called, for inputs that are not rank 2 or 3, a `reset_mask` whose
            shape does not match, or an `initial_state` of the wrong structure.

    Example:
        Functional models fix the rank of their inputs, so a recurrent functional policy declares
        a time axis and acts with `time = 1`:

        >>> obs = keras.Input((None, 4), name="observation")          # [batch, time, 4]
        >>> start = keras.Input((None,), dtype="bool", name="episode_start")
        >>> rnn = StatefulRNN("gru", 64, name="rnn")
        >>> state = rnn.state_inputs()                                # [keras.Input((64,))]
        >>> h, final = rnn(keras.layers.Dense(64)(obs), reset_mask=start, initial_state=state,
        ...                return_state=True)
        >>> model = keras.Model(
        ...     {"observation": obs, "episode_start": start, "state": {"rnn": state}},
        ...     {"action": rf.DenseCategorical(2)(h), "state": {"rnn": list(final)}})
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

    def state_inputs(self) -> list:
        """`keras.Input`s for the state, `[batch, units]` each (hidden, and cell for an LSTM),
        named `<layer>_<field>`: what a functional policy declares under `"state"`."""
        return [
            keras.Input((self.units,), dtype=self.compute_dtype, name=f"{self.name}_{field}")
            for field in self._state_class._fields
        ]

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

    def compute_output_spec(
        self, inputs, reset_mask=None, training=None, initial_state=None, return_state=False
    ):
        self._check_call(inputs.shape, None if reset_mask is None else reset_mask.shape)
        outputs = keras.KerasTensor((*inputs.shape[:-1], self.units), dtype=self.compute_dtype)
        if not return_state:
            return outputs
        shape = (inputs.shape[0], self.units)
        return outputs, self._state_class(
            *[keras.KerasTensor(shape, dtype=self.compute_dtype) for _ in self._state_class._fields]
        )

    def _step(self, inputs, state, reset, training):
        if reset is not None:
            state = self._state_class(
                *[tf.where(reset[:, None], tf.zeros_like(s), s) for s in state]
            )
        outputs, new_state = self.cell(inputs, list(state), training=training)
        return outputs, self._state_class(*new_state)

    def call(self, inputs, reset_mask=None, training=None, initial_state=None, return_state=False):
        inputs = tf.convert_to_tensor(inputs, self.compute_dtype)
        self._check_call(inputs.shape, None if reset_mask is None else reset_mask.shape)
        reset = None if reset_mask is None else tf.cast(reset_mask, tf.bool)

        batch_size = tf.shape(inputs)[0]
        if initial_state is None:
            state = self._starting_state(batch_size)
        else:
            state = self._given_state(initial_state)
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

        if initial_state is None:
            self._store_state(state)
        return (outputs, state) if return_state else outputs

    def _given_state(self, initial_state) -> GRUState | LSTMState:
        fields = self._state_class._fields
        if not isinstance(initial_state, list | tuple) or len(initial_state) != len(fields):
            received = type(initial_state).__name__
            if isinstance(initial_state, list | tuple):
                received += f" of {len(initial_state)}"
            raise ValueError(
                f"StatefulRNN '{self.name}': `initial_state` must be a list of {len(fields)} "
                f"[batch, {self.units}] tensor(s) ({', '.join(fields)}); received {received}."
            )
        return self._state_class(
            *[tf.convert_to_tensor(s, self.compute_dtype) for s in initial_state]
        )

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(cell=self.cell_type, units=self.units, cell_kwargs=self.cell_kwargs)
        return config
