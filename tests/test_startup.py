"""A quiet start: TensorFlow's harmless start-up lines filtered, everything else kept."""

import os
import subprocess
import sys

from reinforceable import _startup

STARTUP_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1796198216.247648   11004 port.cc:153] oneDNN custom operations are on. You may"
    " see slightly different numerical results.\n",
    "I0000 00:00:1796198216.248111   11004 cudart_stub.cc:31] Could not find cuda drivers on your"
    " machine, GPU will not be used.\n",
    "I0000 00:00:1796198216.304721   11004 cpu_feature_guard.cc:227] This TensorFlow binary is"
    " optimized to use available CPU instructions in performance-critical operations.\n",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with"
    " the appropriate compiler flags.\n",
    "E0000 00:00:1796198226.304013   11010 cuda_platform.cc:52] failed call to cuInit: INTERNAL:"
    " CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n",
]


def test_filter_drops_the_startup_lines_and_keeps_the_rest_in_order():
    real = [
        "E0000 00:00:1796198226.304013   11010 some_kernel.cc:12] out of memory\n",
        "Traceback (most recent call last):\n",
        "ValueError: something real\n",
    ]
    text = real[0] + "".join(STARTUP_LINES[:3]) + real[1] + "".join(STARTUP_LINES[3:]) + real[2]
    assert _startup.filter_lines(text) == "".join(real)
    assert not any(_startup.is_harmless(line) for line in real)


def _import_stderr(extra_env: dict[str, str], code: str = "import reinforceable") -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("REINFORCEABLE_TF_LOGS",)}
    env.update(extra_env)
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_import_is_quiet_and_other_output_survives_and_logs_come_back_on_request():
    # Python writes to standard error while TensorFlow is imported are kept (and later ones too).
    quiet = _import_stderr({}, "import reinforceable, sys; sys.stderr.write('after import\\n')")
    assert "oneDNN" not in quiet and "cuda" not in quiet.lower() and "absl" not in quiet
    assert quiet.strip().endswith("after import")
    loud = _import_stderr({"REINFORCEABLE_TF_LOGS": "1"})
    # what the filter removes is really printed without it
    assert any(_startup.is_harmless(line) for line in loud.splitlines())


def test_threads_can_still_be_configured_after_the_quiet_import_and_first_ops_are_quiet():
    code = (
        "import reinforceable as rf, tensorflow as tf, tensorflow_probability as tfp;"
        "assert rf.training.configure_threads(1, 1);"
        "assert tf.config.threading.get_intra_op_parallelism_threads() == 1;"
        "tf.function(lambda: tfp.distributions.Categorical(logits=tf.zeros((2, 3))).sample(4))()"
    )
    stderr = _import_stderr({}, code)
    assert not any(_startup.is_harmless(line) for line in stderr.splitlines()), stderr
