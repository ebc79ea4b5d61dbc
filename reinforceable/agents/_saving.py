"""Saving and loading agents: the model, the config and the learner state, in one directory."""

from __future__ import annotations

import json
import pathlib
from typing import Any

import keras
import tensorflow as tf


def save_agent(path, model: keras.Model | None, config, state: dict[str, Any]) -> pathlib.Path:
    """Writes `model.keras` (unless `model` is None: a policy held in variables, like ARS's),
    `config.json` (`config.to_dict()`) and a checkpoint of `state`."""
    path = pathlib.Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if model is not None:
        model.save(path / "model.keras")
    (path / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    tf.train.Checkpoint(**state).write(str(path / "state"))
    return path


def read_config(path, config_class, caller: str):
    """The config that `save_agent` wrote in `path`.

    Raises:
        FileNotFoundError: If `path` holds no saved agent.
    """
    path = pathlib.Path(path)
    if not (path / "config.json").exists():
        raise FileNotFoundError(f"{caller}: {path} holds no saved agent (config.json is missing).")
    return config_class.from_dict(json.loads((path / "config.json").read_text()))


def read_model_and_config(path, config_class, caller: str) -> tuple[keras.Model, Any]:
    """The model and the config that `save_agent` wrote in `path`.

    Raises:
        FileNotFoundError: If `path` holds no saved agent.
    """
    path = pathlib.Path(path)
    if not (path / "model.keras").exists() or not (path / "config.json").exists():
        raise FileNotFoundError(
            f"{caller}: {path} holds no saved agent (model.keras and config.json are missing)."
        )
    config = read_config(path, config_class, caller)
    return keras.models.load_model(path / "model.keras"), config


def restore_state(path, state: dict[str, Any]) -> None:
    """Restores the checkpoint `save_agent` wrote into the objects of `state`."""
    tf.train.Checkpoint(**state).read(str(pathlib.Path(path) / "state")).assert_consumed()
