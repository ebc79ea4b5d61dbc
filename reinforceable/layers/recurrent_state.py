"""The interactive state of every `StatefulRNN` in a model, read and written at once.

Policies pass the recurrent state explicitly (see `StatefulRNN`); these helpers are for calling a
model step by step by hand, where each layer keeps its own state between calls.
"""

from __future__ import annotations

import keras

from reinforceable.layers.stateful_rnn import GRUState, LSTMState, StatefulRNN

__all__ = [
    "get_recurrent_state",
    "recurrent_layers",
    "reset_recurrent_state",
    "set_recurrent_state",
]


def recurrent_layers(model: keras.layers.Layer) -> list[StatefulRNN]:
    """Every `StatefulRNN` in `model`: the model itself, its layers and those of nested models
    (functional, Sequential or subclassed) and wrappers (`FoldTime`), found with Keras's public
    `layers` and `layer` attributes."""
    found, seen = [], set()

    def visit(layer) -> None:
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, StatefulRNN):
            found.append(layer)
        for child in layer.layers if isinstance(layer, keras.Model) else ():
            visit(child)
        wrapped = getattr(layer, "layer", None)  # wrappers: FoldTime, TimeDistributed, ...
        if isinstance(wrapped, keras.layers.Layer):
            visit(wrapped)

    visit(model)
    return found


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


def reset_recurrent_state(model: keras.layers.Layer) -> None:
    """Forgets the state of every `StatefulRNN` in `model`."""
    for layer in recurrent_layers(model):
        layer.reset_state()
