"""Shared test helpers: run a function eagerly and inside tf.function, quiet TF logging, and TF's
thread pools sized to the cores each pytest-xdist worker has."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
import tensorflow as tf

if "PYTEST_XDIST_WORKER_COUNT" in os.environ:
    # pytest-xdist workers share the cores: TF's default pools (one thread per core each) would
    # spin against the other workers' environment steps.
    _threads = max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    tf.config.threading.set_inter_op_parallelism_threads(_threads)
    tf.config.threading.set_intra_op_parallelism_threads(_threads)

EXECUTION_MODES = ("eager", "tf.function")


def run(fn, mode, *args):
    """Calls `fn(*args)` eagerly or through a fresh `tf.function`, returning NumPy values."""
    if mode == "tf.function":
        fn = tf.function(fn, autograph=False)
    return tf.nest.map_structure(lambda t: t.numpy(), fn(*args))


def n_step_reference(rewards, ended, terminated, gamma, n, t, b):
    """The n-step return of row `t`, column `b`, by a plain loop: `(return, discount, row of the
    bootstrap observation)`. It stops at the episode's end, the rollout's end or after n steps."""
    steps = len(rewards)
    total, scale, j = 0.0, 1.0, t
    while True:
        total += scale * rewards[j, b]
        scale *= gamma
        if ended[j, b] or j + 1 == steps or j + 1 - t == n:
            break
        j += 1
    return total, 0.0 if terminated[j, b] else scale, j + 1


@pytest.fixture(params=EXECUTION_MODES)
def mode(request):
    """Runs a test once eagerly and once inside tf.function."""
    return request.param


@pytest.fixture(autouse=True)
def _fresh_keras_names():
    """Keep Keras auto-generated layer names independent of test order."""
    import keras

    keras.backend.clear_session()
    yield
