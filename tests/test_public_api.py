"""Every public name imports, and the core import needs none of the optional dependencies."""

import importlib
import subprocess
import sys

import pytest

import reinforceable

PUBLIC_MODULES = [
    "reinforceable",
    "reinforceable.distributed",
    "reinforceable.distributions",
    "reinforceable.driver",
    "reinforceable.envs",
    "reinforceable.layers",
    "reinforceable.agents",
    "reinforceable.agents.ppo",
    "reinforceable.agents.sac",
    "reinforceable.agents.gps",
    "reinforceable.dynamics",
    "reinforceable.estimation",
    "reinforceable.models",
    "reinforceable.planning",
    "reinforceable.replay",
    "reinforceable.networks",
    "reinforceable.ops",
    "reinforceable.training",
]


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_name_in_all_imports(module_name):
    module = importlib.import_module(module_name)
    assert module.__all__, f"{module_name} exports nothing"
    assert len(set(module.__all__)) == len(module.__all__)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{module_name}.{name}"
    # `from module import *` must give exactly __all__.
    namespace = {}
    exec(f"from {module_name} import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(module.__all__)


def test_version_is_a_release_string():
    parts = reinforceable.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_layers_are_registered_for_keras_serialization():
    import keras

    for name in ["DenseNormal", "DenseCategorical", "DenseBernoulli", "StatefulRNN", "FoldTime"]:
        cls = getattr(reinforceable.layers, name)
        assert keras.saving.get_registered_name(cls) == f"reinforceable>{name}"
        assert keras.saving.get_registered_object(f"reinforceable>{name}") is cls


BLOCK_OPTIONAL = """
import importlib.abc, sys
OPTIONAL = {"ale_py", "cv2", "mujoco", "imageio", "matplotlib", "pytest", "scipy", "tensorboard",
            "ray"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in OPTIONAL:
            raise ImportError(f"{name} is blocked: optional dependency")
sys.meta_path.insert(0, Block())
"""


def test_core_import_works_without_the_optional_dependencies():
    code = BLOCK_OPTIONAL + (
        "import keras, tensorflow as tf, reinforceable as rf\n"
        "x = keras.Input((3,))\n"
        "policy = keras.Model(x, (rf.DenseNormal(2)(x), rf.DenseCategorical(2)(x)))\n"
        "print(rf.Joint(policy(tf.zeros([1, 3]))).sample()[0].shape)\n"
        # Training, with progress and TensorBoard logs, needs no optional dependency either.
        "import tempfile\n"
        "env = rf.GymEnv('CartPole-v1', num_envs=2, seed=0)\n"
        "config = rf.agents.PPOConfig(num_steps=8, batch_size=16, num_epochs=1)\n"
        "agent = rf.agents.RecurrentPPOAgent(rf.networks.actor_critic(env), env, config)\n"
        "callbacks = [rf.training.ProgressBar(), rf.training.TensorBoard()]\n"
        "agent.fit(16, callbacks=callbacks, run_dir=tempfile.mkdtemp())\n"
        "print(int(agent.env_steps.numpy()))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "(1, 2)" and lines[-1] == "16"
