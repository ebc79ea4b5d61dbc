import keras
import numpy as np
import pytest
import tensorflow as tf

from reinforceable.layers import (
    GRUState,
    LSTMState,
    StatefulRNN,
    get_recurrent_state,
    recurrent_layers,
    reset_recurrent_state,
    set_recurrent_state,
)
from tests.conftest import run
from tests.layers.common import (
    assert_gradients_reach_every_weight,
    config_round_trip,
    save_and_load,
)

CELLS = ["gru", "lstm"]


def make(cell, units=6, features=3):
    layer = StatefulRNN(cell, units)
    layer.build((None, features))
    return layer


@pytest.mark.parametrize("cell, weights", [("gru", 3), ("lstm", 3)])
def test_shapes_for_step_and_sequence(cell, weights):
    layer = StatefulRNN(cell, 6)
    assert layer(tf.random.normal([4, 3])).shape == (4, 6)
    assert layer(tf.random.normal([4, 5, 3])).shape == (4, 5, 6)
    assert len(layer.trainable_weights) == weights  # kernel, recurrent kernel, bias
    state = layer.get_state()
    assert isinstance(state, GRUState if cell == "gru" else LSTMState)
    assert all(s.shape == (4, 6) for s in state)


@pytest.mark.parametrize("cell", CELLS)
def test_sequence_in_one_call_equals_the_same_steps_one_at_a_time(cell):
    layer = make(cell)
    x = tf.random.normal([4, 9, 3])
    reset = np.zeros([4, 9], bool)
    reset[0, 3] = reset[2, 0] = reset[1, 7] = reset[3, 3] = True

    layer.reset_state()
    sequence = layer(x, reset_mask=reset).numpy()
    final_sequence = layer.get_state()

    layer.reset_state()
    steps = np.stack([layer(x[:, t], reset_mask=reset[:, t]).numpy() for t in range(9)], axis=1)
    final_steps = layer.get_state()

    np.testing.assert_allclose(sequence, steps, rtol=1e-6, atol=1e-6)
    for a, b in zip(final_sequence, final_steps, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("cell", CELLS)
def test_reset_zeroes_exactly_the_masked_entries(cell):
    layer = make(cell)
    history = tf.random.normal([3, 4, 3])
    x = tf.random.normal([3, 3])
    layer.reset_state()
    layer(history)
    before = layer.get_state()
    assert all(np.all(s.numpy() != 0.0) for s in before)

    out = layer(x, reset_mask=tf.constant([True, False, True])).numpy()

    # Entry 1 continues from its state: the same as running it without a mask.
    layer.set_state(before)
    continued = layer(x).numpy()
    # Entries 0 and 2 start from zeros: the same as a fresh layer state.
    layer.set_state(tuple(tf.zeros_like(s) for s in before))
    fresh = layer(x).numpy()

    np.testing.assert_allclose(out[1], continued[1], rtol=1e-6)
    np.testing.assert_allclose(out[[0, 2]], fresh[[0, 2]], rtol=1e-6)
    assert not np.allclose(out[1], fresh[1])


@pytest.mark.parametrize("cell", CELLS)
def test_a_reset_inside_a_sequence_splits_it_into_independent_episodes(cell):
    layer = make(cell)
    x = tf.random.normal([2, 8, 3])
    reset = np.zeros([2, 8], bool)
    reset[:, 5] = True
    layer.reset_state()
    whole = layer(x, reset_mask=reset).numpy()
    layer.reset_state()
    layer(x[:, :5])
    layer.reset_state()
    second_episode = layer(x[:, 5:]).numpy()
    np.testing.assert_allclose(whole[:, 5:], second_episode, rtol=1e-6, atol=1e-6)


def test_state_carries_over_between_calls_and_can_be_read_and_written():
    layer = make("lstm")
    x = tf.random.normal([2, 6, 3])
    layer.reset_state()
    full = layer(x).numpy()
    layer.reset_state()
    layer(x[:, :2])
    saved = layer.get_state()  # the state at the start of the second chunk
    second = layer(x[:, 2:]).numpy()
    np.testing.assert_allclose(second, full[:, 2:], rtol=1e-6, atol=1e-6)

    layer.set_state(saved)  # replaying the chunk from its stored initial state
    np.testing.assert_allclose(layer(x[:, 2:]).numpy(), full[:, 2:], rtol=1e-6, atol=1e-6)


def test_a_new_batch_size_starts_from_zeros():
    layer = make("gru")
    x = tf.random.normal([1, 3])
    layer(tf.random.normal([4, 5, 3]))  # leaves a state for batch 4
    from_zeros = layer(x).numpy()
    layer.set_state([tf.zeros([1, 6])])
    np.testing.assert_allclose(from_zeros, layer(x).numpy(), rtol=1e-6)
    assert layer.get_state().hidden.shape == (1, 6)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("time", [None, 3], ids=["step", "sequence"])
def test_first_call_inside_tf_function(cell, time):
    """Building and first calling the layer in a graph (as a graph-mode driver does) works.

    Regression test: an empty initial state made Grappler miscompile the step call.
    """
    layer = StatefulRNN(cell, 6)
    shape = [4, 3] if time is None else [4, time, 3]
    reset = tf.ones(shape[:-1], bool)

    @tf.function
    def act(x):
        return layer(x, reset_mask=reset)

    x = tf.random.normal(shape)
    first = act(x).numpy()
    layer.reset_state()
    np.testing.assert_allclose(act(x).numpy(), first, rtol=1e-6)
    expected = layer(x, reset_mask=reset).numpy()  # the same inputs, eagerly, with a reset
    np.testing.assert_allclose(first, expected, rtol=1e-6)
    assert layer.get_state().hidden.shape == (4, 6)


def test_eager_and_tf_function_agree(mode):
    layer = make("lstm")
    x = tf.random.normal([3, 4, 3])
    reset = tf.constant([[False, False, True, False]] * 3)

    def compute(inputs):
        layer.reset_state()
        outputs = layer(inputs, reset_mask=reset)
        return dict(outputs=outputs, state=tuple(layer.get_state()))

    eager, other = run(compute, "eager", x), run(compute, mode, x)
    np.testing.assert_allclose(other["outputs"], eager["outputs"], rtol=1e-6, atol=1e-7)
    for a, b in zip(other["state"], eager["state"], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("cell", CELLS)
def test_gradients_reach_every_weight_through_time(cell):
    layer = make(cell)
    x = tf.random.normal([2, 6, 3])
    layer.reset_state()
    layer(x[:, :1])
    initial = layer.get_state()

    def loss():
        layer.set_state(initial)
        return tf.reduce_sum(tf.square(layer(x)[:, -1]))

    assert_gradients_reach_every_weight(layer, loss)


def test_state_is_not_a_weight_and_not_saved(tmp_path):
    inputs = keras.Input((None, 3))
    starts = keras.Input((None,), dtype="bool")
    layer = StatefulRNN("lstm", 6, cell_kwargs={"kernel_initializer": "glorot_normal"})
    model = keras.Model([inputs, starts], layer(inputs, reset_mask=starts))
    assert len(model.weights) == 3
    x = tf.random.normal([2, 5, 3])
    no_reset = tf.zeros([2, 5], bool)
    model([x, no_reset])
    loaded = save_and_load(model, tmp_path)
    reset_recurrent_state(model)
    reset_recurrent_state(loaded)
    np.testing.assert_allclose(
        model([x, no_reset]).numpy(), loaded([x, no_reset]).numpy(), rtol=1e-6
    )
    clone = config_round_trip(layer)
    assert clone.cell_type == "lstm" and clone.cell_kwargs == {
        "kernel_initializer": "glorot_normal"
    }


def test_model_level_state_helpers_cover_nested_models():
    inner_in = keras.Input((None, 3))
    inner = keras.Model(inner_in, StatefulRNN("gru", 4, name="inner_rnn")(inner_in))
    outer_in = keras.Input((None, 3))
    outer = keras.Model(outer_in, StatefulRNN("lstm", 5, name="outer_rnn")(inner(outer_in)))
    assert {layer.name for layer in recurrent_layers(outer)} == {"inner_rnn", "outer_rnn"}

    outer(tf.random.normal([2, 3, 3]))
    state = get_recurrent_state(outer)
    assert set(state) == {"inner_rnn", "outer_rnn"}
    assert state["outer_rnn"].cell.shape == (2, 5)

    x = tf.random.normal([2, 1, 3])
    expected = outer(x).numpy()
    set_recurrent_state(outer, state)
    np.testing.assert_allclose(outer(x).numpy(), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"must hold the layers \['inner_rnn', 'outer_rnn'\]"):
        set_recurrent_state(outer, {"inner_rnn": state["inner_rnn"]})


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(cell="rnn"), ValueError, r"`cell` must be one of \['gru', 'lstm'\]; received 'rnn'"),
        (dict(cell=keras.layers.GRUCell(3)), ValueError, "`cell` must be one of"),
        (dict(units=0), ValueError, "`units` must be a positive int"),
        (dict(units=2.0), ValueError, "`units` must be a positive int"),
        (dict(cell_kwargs={"dropout": 0.1}), ValueError, "dropout"),
        (dict(cell_kwargs=[1]), TypeError, "`cell_kwargs` must be a dict"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs, error, message):
    with pytest.raises(error, match=message):
        StatefulRNN(**{"cell": "gru", "units": 4, **kwargs})


def test_bad_call_shapes_raise_clear_errors():
    layer = make("gru")
    with pytest.raises(ValueError, match=r"`reset_mask` must have shape \(2, 5\)"):
        layer(tf.zeros([2, 5, 3]), reset_mask=tf.zeros([2], bool))
    with pytest.raises(ValueError, match=r"`inputs` must be \[batch, features\] or"):
        layer(tf.zeros([2, 5, 4, 3]))
    with pytest.raises(ValueError, match="`reset_mask` must have shape"):
        StatefulRNN("gru", 4)(keras.Input((None, 3)), reset_mask=keras.Input((None, 2)))
    with pytest.raises(ValueError, match=r"`state` must have 2 tensor\(s\) \(hidden, cell\)"):
        make("lstm").set_state([tf.zeros([2, 6])])
    with pytest.raises(ValueError, match=r"must have shape \[batch, 6\]"):
        layer.set_state([tf.zeros([2, 7])])


def test_explicit_state_replays_a_sequence_and_leaves_the_stored_state_alone():
    """A model with its state as input and output (`initial_state`, `return_state`) replays the
    second chunk of a sequence from the state recorded after the first, gives the same final
    state as the stored-state run, and touches no stored state; it survives save and load."""
    inputs = keras.Input((None, 3))
    rnn = StatefulRNN("lstm", 6, name="rnn")
    state = rnn.state_inputs()
    assert [t.shape for t in state] == [(None, 6), (None, 6)]
    assert [t.name for t in state] == ["rnn_hidden", "rnn_cell"]
    outputs, final = rnn(inputs, initial_state=state, return_state=True)
    assert final[0] is not final[1]
    model = keras.Model({"x": inputs, "state": state}, {"y": outputs, "state": list(final)})
    x = tf.random.normal([2, 5, 3])
    reset_recurrent_state(model)
    rnn(x[:, :2])  # interactive calls keep the stored state
    start = get_recurrent_state(model)["rnn"]  # recorded at the start of the second chunk
    expected = rnn(x[:, 2:]).numpy()
    stored = get_recurrent_state(model)["rnn"]

    replayed = model({"x": x[:, 2:], "state": list(start)})
    np.testing.assert_allclose(replayed["y"].numpy(), expected, rtol=1e-6, atol=1e-6)
    for a, b in zip(replayed["state"], stored, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)
    # The stored state is untouched by the explicit run.
    for a, b in zip(get_recurrent_state(model)["rnn"], stored, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match=r"`initial_state` must be a list of 2 \[batch, 6\]"):
        rnn(x, initial_state=[start[0]])
    # The explicit wiring is part of the model's configuration.
    again = keras.models.model_from_json(model.to_json())
    again.set_weights(model.get_weights())
    np.testing.assert_allclose(
        again({"x": x[:, 2:], "state": list(start)})["y"].numpy(), expected, rtol=1e-6, atol=1e-6
    )
