"""A quiet start: TensorFlow's harmless start-up lines kept off the terminal, and its thread
pools (`configure_threads`, public as `rf.training.configure_threads`).

Importing TensorFlow on a machine without a GPU prints lines such as

    I0000 00:00:... port.cc:153] oneDNN custom operations are on. ...
    I0000 00:00:... cudart_stub.cc:31] Could not find cuda drivers on your machine, ...
    E0000 00:00:... cuda_platform.cc:52] failed call to cuInit: ...

from C++ (absl) logging that `TF_CPP_MIN_LOG_LEVEL` does not reach; the `E0000` lines look like
real errors and are not. `import_tensorflow()` imports TensorFlow and lists its devices (where
CUDA is probed) with the process's standard error (file descriptor 2) sent to a temporary file,
then writes back every line that is not one of those known start-up lines, so nothing else is
lost; if the import fails, every line is written back. It does not start TensorFlow's runtime,
so `rf.training.configure_threads` still works afterwards. This module runs it when it is
imported, which `reinforceable/__init__.py` does before anything else. `start_runtime()`
(called by `configure_threads`) keeps oneDNN's first-op error line off the terminal too.

Set `REINFORCEABLE_TF_LOGS=1` to see TensorFlow's start-up lines again. When TensorFlow was
imported before `reinforceable`, nothing is filtered.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import warnings

ENV_VAR = "REINFORCEABLE_TF_LOGS"

# One pattern per known harmless start-up line (CPU-only machines, CUDA wheels without a GPU).
HARMLESS = tuple(
    re.compile(pattern)
    for pattern in (
        r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
        r"oneDNN custom operations are on",
        r"Could not find cuda drivers on your machine",
        r"This TensorFlow binary is optimized to use available CPU instructions",
        r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate",
        r"failed call to cuInit",
        r"Unable to register cu(DNN|FFT|BLAS) factory",
        r"TF-TRT Warning: Could not find TensorRT",
        r"computation placer already registered",
        r"oneDNN supports DT_[A-Z0-9]+ only on platforms with AVX-512",
    )
)


def is_harmless(line: str, patterns=HARMLESS) -> bool:
    """Whether `line` is one of the known harmless lines (TensorFlow's start-up lines)."""
    return any(pattern.search(line) for pattern in patterns)


def filter_lines(text: str, patterns=HARMLESS) -> str:
    """`text` without its harmless lines (the others kept, in order)."""
    kept = [line for line in text.splitlines(keepends=True) if not is_harmless(line, patterns)]
    return "".join(kept)


def wants_logs(env_var: str = ENV_VAR) -> bool:
    return os.environ.get(env_var, "").strip().lower() in ("1", "true", "yes", "on")


@contextlib.contextmanager
def quiet(patterns=HARMLESS, env_var: str = ENV_VAR):
    """Within it, the process's standard error goes to a temporary file; on leaving, every line
    but the harmless ones (`patterns`) is written back (every line, if the block raised, or if
    `env_var` asks for the logs)."""
    if wants_logs(env_var):
        yield
        return
    try:
        saved = os.dup(2)
    except OSError:  # no usable standard error (some embedded interpreters)
        yield
        return
    failed = True
    with tempfile.TemporaryFile(mode="w+b") as captured:
        try:
            _flush_stderr()
            os.dup2(captured.fileno(), 2)
            yield
            failed = False
        finally:
            _flush_stderr()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode("utf-8", errors="replace")
            text = text if failed else filter_lines(text, patterns)
            if text and sys.stderr is not None:
                sys.stderr.write(text)
                sys.stderr.flush()


def import_tensorflow() -> None:
    """Imports TensorFlow (and probes its devices) without its harmless start-up lines."""
    if "tensorflow" in sys.modules:
        return
    with quiet():
        import tensorflow as tf

        tf.config.list_physical_devices()  # CUDA is probed here (the cuInit line)


def start_runtime() -> None:
    """Starts TensorFlow's runtime without its harmless first-op lines.

    oneDNN logs "oneDNN supports DT_INT32 only on platforms with AVX-512" as an error, once per
    process and dtype, at the first op of that dtype it rewrites in a graph (a categorical
    policy's first sample: int32; a mask: bool); one small graph with such an op for each
    common dtype runs here. `rf.training.configure_threads` calls this after setting the thread
    pools, which the runtime fixes when it starts.
    """
    import tensorflow as tf

    dtypes = (tf.int32, tf.int64, tf.bool, tf.uint8, tf.int8, tf.int16, tf.float16, tf.float64)
    with quiet():  # the inputs too: making them can log (DT_HALF, seen on an AMD EPYC)
        inputs = [tf.zeros((1, 2), dtype) for dtype in dtypes]
        # arguments, not constants: Grappler would fold constants away first
        tf.function(lambda *xs: [tf.transpose(x) for x in xs])(*inputs)


def _flush_stderr() -> None:
    if sys.stderr is not None:
        sys.stderr.flush()


def configure_threads(inter_op: int = 1, intra_op: int = 1) -> bool:
    """Sets TensorFlow's thread pools, if TF has not started yet; returns whether it did.

    On small CPUs (2 cores), one inter-op and one intra-op thread make rollouts of small models
    about 1.5x faster: TF's idle threads otherwise spin and compete with the Python environment
    step. Convolutional models train faster with 2 of each. TF fixes its pools when it first
    runs an op, so call this at the top of a script; later calls (a script imported into a
    process where TF already ran, as in tests) leave the pools alone with a warning. It then
    starts TF's runtime with one op, so that oneDNN's harmless first-op error line ("oneDNN
    supports DT_INT32 only...") stays off the terminal (`REINFORCEABLE_TF_LOGS=1` shows it).
    """
    import tensorflow as tf

    try:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)
    except RuntimeError:
        warnings.warn(
            "configure_threads: TensorFlow has already started; its thread pools are unchanged.",
            stacklevel=2,
        )
        return False
    start_runtime()  # without oneDNN's harmless first-op error line
    return True


import_tensorflow()  # on import: `reinforceable/__init__.py` imports this module first
