"""Saving and loading any agent: `agent.json`, its Keras models and its learner state."""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import zipfile
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from reinforceable.agents.actor import import_object, object_path
from reinforceable.envs.env_spec import EnvSpec

if TYPE_CHECKING:
    from reinforceable.agents.base import Agent

__all__ = ["load_agent", "model_object", "save_agent"]

FORMAT = 1
INFO = "agent.json"


def save_agent(agent: Agent, path, files: dict[str, str] | None = None) -> pathlib.Path:
    """Writes `agent.json` (type, config, spec, arguments, model names), `<name>.keras` for each
    of `agent.saved_models()`, a checkpoint of `agent.saved_state()` (`state`), and the text
    `files` given (name: content).

    The files are written into a temporary directory next to `path`, which then takes the place
    of `path`, so a kill during the save leaves the previous save whole. Files in `path` that are
    not part of a save, nor among `files`, are moved into the new directory.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.saving-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir()
    models = agent.saved_models()
    for name, model in models.items():
        model.save(temporary / f"{name}.keras")
    info = {
        "format": FORMAT,
        "agent": object_path(agent),
        "config_class": object_path(agent.config),
        "config": agent.config.to_dict(),
        "spec": agent.spec.to_dict(),
        "arguments": agent.saved_arguments(),
        "models": sorted(models),
        "iterations": int(agent.iterations.numpy()),
        "env_steps": int(agent.env_steps.numpy()),
    }
    tf.train.Checkpoint(**agent.saved_state()).write(str(temporary / "state"))
    (temporary / INFO).write_text(json.dumps(info, indent=2))
    for name, text in (files or {}).items():
        if pathlib.Path(name).name != name or _part_of_a_save(name):
            shutil.rmtree(temporary)
            raise ValueError(
                f"save: `files` names plain files beside the agent's own; received {name!r}."
            )
        (temporary / name).write_text(text)
    replace_directory(temporary, path)
    return path


def replace_directory(new: pathlib.Path, path: pathlib.Path) -> None:
    """Puts the directory `new` in the place of `path` (files of `path` that are not part of a
    save and not in `new` are moved over)."""
    if not path.exists():
        new.rename(path)
        return
    if not path.is_dir():
        shutil.rmtree(new)
        raise ValueError(f"save: {path} exists and is not a directory.")
    old = path.with_name(f".{path.name}.replaced-{os.getpid()}")
    shutil.rmtree(old, ignore_errors=True)
    path.rename(old)
    new.rename(path)
    for file in old.iterdir():  # what the user keeps next to a save stays
        if not (path / file.name).exists() and not _part_of_a_save(file.name):
            file.rename(path / file.name)
    shutil.rmtree(old)


def _part_of_a_save(name: str) -> bool:
    return name in (INFO, "checkpoint") or name.endswith(".keras") or name.startswith("state.")


def _read_info(path: pathlib.Path, owner: str) -> dict[str, Any]:
    file = path / INFO
    if not file.exists():
        raise FileNotFoundError(f"{owner}: {path} holds no saved agent ({INFO} is missing).")
    try:
        info = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{owner}: {file} is not valid JSON ({error}).") from None
    if not isinstance(info, dict):
        raise ValueError(
            f"{owner}: {file} must hold a JSON object; received {type(info).__name__}."
        )
    missing = {"agent", "config_class", "config", "spec", "models"} - set(info)
    if missing:
        raise ValueError(f"{owner}: {file} lacks the fields {sorted(missing)}.")
    return info


def _read_model(file: pathlib.Path, owner: str) -> keras.Model:
    if not file.exists():
        raise FileNotFoundError(f"{owner}: the saved model {file} is missing.")
    if not zipfile.is_zipfile(file):
        raise ValueError(
            f"{owner}: {file} is not a readable Keras model: it is not a .keras zip archive "
            f"(truncated or corrupt; {file.stat().st_size} bytes)."
        )
    try:
        return keras.models.load_model(file)
    except Exception as error:
        raise ValueError(
            f"{owner}: {file} is not a readable Keras model ({type(error).__name__}: {error})."
        ) from error


def load_agent(cls, path, env, objects: dict[str, Any]) -> Agent:
    """The agent that `save_agent` wrote in `path` (see `Agent.load`)."""
    path = pathlib.Path(path)
    owner = f"{cls.__name__}.load"
    info = _read_info(path, owner)
    try:
        agent_class = import_object(info["agent"])
        config = import_object(info["config_class"]).from_dict(info["config"])
    except (ImportError, AttributeError) as error:
        raise ValueError(f"{owner}: {path / INFO} names an unknown class ({error}).") from None
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{owner}: the config in {path / INFO} is not valid: {error}") from None
    if not (isinstance(agent_class, type) and issubclass(agent_class, cls)):
        raise ValueError(
            f"{owner}: {path} holds a {getattr(agent_class, '__name__', agent_class)}, not a "
            f"{cls.__name__}; load it with that class (or with Agent.load)."
        )
    try:
        spec = EnvSpec.from_dict(info["spec"])
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{owner}: the spec in {path / INFO} is not valid: {error}") from None
    if env is not None:
        spec.check_compatible(EnvSpec.of(env, owner), owner, "`env`")
    models = {name: _read_model(path / f"{name}.keras", owner) for name in info["models"]}
    agent = agent_class._from_saved(spec, config, models, info.get("arguments", {}), objects)
    if env is not None:
        agent.env = env
    try:
        status = tf.train.Checkpoint(**agent.saved_state()).read(str(path / "state"))
        status.assert_existing_objects_matched()
    except Exception as error:  # OpError, IndexError (truncated), ValueError, ...
        reason = str(error).strip().splitlines()[0][:300] if str(error).strip() else ""
        raise ValueError(
            f"{owner}: the learner state {path / 'state'}.* cannot be read (missing, truncated "
            f"or from another agent): {type(error).__name__}: {reason}"
        ) from error
    agent.actor.update(agent.acting_state())
    return agent


def model_object(objects: dict[str, Any], owner: str, more: str = ""):
    """The `Model` a model-based agent was saved with, which `load` must be given as `model=`."""
    from reinforceable.models.base import Model

    model = objects.get("model")
    if not isinstance(model, Model):
        raise ValueError(
            f"{owner}.load: give the `model` the agent learns from, "
            f"load(path, model=<a reinforceable.models.Model>){more}."
        )
    return model
