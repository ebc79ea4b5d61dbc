"""`Logger`: interim results recorded under nested scopes, to a file, TensorBoard or memory."""

from __future__ import annotations

import contextlib
import json
import pathlib
from collections.abc import Iterator
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import summary_pb2

__all__ = ["SCALAR", "FileBackend", "Logger", "MemoryBackend", "TensorBoardBackend"]

# The metadata TensorBoard's scalar plugin expects. Writing it with `tf.summary.write` (TF core)
# rather than `tf.summary.scalar` (which lives in the tensorboard package) keeps TensorBoard an
# optional install: it is needed to view the logs, not to write them.
SCALAR = summary_pb2.SummaryMetadata(
    plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
).SerializeToString()


class MemoryBackend:
    """Keeps the records in `records`: a list of `(step, name, value)`."""

    def __init__(self):
        self.records: list[tuple[int, str, Any]] = []

    def write(self, step: int, name: str, value) -> None:
        self.records.append((step, name, value))

    def values(self, name: str) -> list:
        """The values logged under the full name `name`, in order."""
        return [value for _, key, value in self.records if key == name]

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class FileBackend:
    """Appends one JSON object per value to `path`: `{"step": 3, "name": "gps/c0/eta",
    "value": 0.1}` (arrays as nested lists)."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = self.path.open("a")

    def write(self, step: int, name: str, value) -> None:
        value = np.asarray(value).tolist()
        self._file.write(json.dumps({"step": step, "name": name, "value": value}) + "\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class TensorBoardBackend:
    """Writes scalars as TensorBoard scalars under `log_dir`, and an array as the scalars
    `name/mean`, `name/min` and `name/max` (the `tensorboard` package is not needed to write)."""

    def __init__(self, log_dir):
        self._writer = tf.summary.create_file_writer(str(log_dir))

    def write(self, step: int, name: str, value) -> None:
        value = np.asarray(value, np.float64)
        scalars = {name: value} if value.ndim == 0 else {
            f"{name}/mean": value.mean(), f"{name}/min": value.min(), f"{name}/max": value.max()
        }  # fmt: skip
        with self._writer.as_default(step=step):
            for key, scalar in scalars.items():
                tf.summary.write(key, tf.constant(float(scalar), tf.float32), metadata=SCALAR)

    def flush(self) -> None:
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()


class Logger:
    """Records named values under nested scopes: `"gps/condition_0/eta"`.

    The logger is an object the caller owns and passes on (no global state), so agents on
    several Ray workers each keep their own. Scopes nest with `with logger.scope(...)`; `step`
    is the x-axis of every value logged until it is changed.

    Args:
        backend: A `MemoryBackend` (the default), `FileBackend`, `TensorBoardBackend`, or any
            object with `write(step, name, value)`, `flush()` and `close()`.

    Raises:
        TypeError: If `backend` lacks those methods.

    Example:
        >>> with Logger(FileBackend("runs/gps.jsonl")) as logger:
        ...     logger.step = iteration
        ...     with logger.scope("condition_0"):
        ...         logger.log("eta", 0.1)
    """

    def __init__(self, backend=None):
        backend = MemoryBackend() if backend is None else backend
        missing = [
            m for m in ("write", "flush", "close") if not callable(getattr(backend, m, None))
        ]
        if missing:
            raise TypeError(
                f"Logger: `backend` must have write(step, name, value), flush() and close(); "
                f"{type(backend).__name__} lacks {', '.join(missing)}."
            )
        self.backend = backend
        self.step = 0
        self._scopes: list[str] = []

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[Logger]:
        """Names logged inside are prefixed with `name/`."""
        if not isinstance(name, str) or not name or "/" in name:
            raise ValueError(f"Logger.scope: `name` must be a non-empty string without '/'; "
                             f"received {name!r}.")  # fmt: skip
        self._scopes.append(name)
        try:
            yield self
        finally:
            self._scopes.pop()

    def full_name(self, name: str) -> str:
        return "/".join([*self._scopes, name])

    def log(self, name: str, value) -> None:
        """Records `value` (a number or an array) as `scope/.../name` at the current `step`."""
        value = np.asarray(value.numpy() if hasattr(value, "numpy") else value)
        if not np.issubdtype(value.dtype, np.number) and value.dtype != bool:
            raise TypeError(f"Logger.log: `{name}` must be numeric; received {value.dtype}.")
        self.backend.write(int(self.step), self.full_name(name), value if value.ndim else
                           value.item())  # fmt: skip

    def log_dict(self, values: dict) -> None:
        for name, value in values.items():
            self.log(name, value)

    def flush(self) -> None:
        self.backend.flush()

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Logger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
