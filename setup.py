"""Packaging for reinforceable.

Core requirements are what `import reinforceable` needs. Everything else is an extra:
`atari`, `mujoco`, `robotics`, `plot`, `video`, `distributed`, `test` and `all`.
"""

import pathlib
import re

from setuptools import find_packages, setup

ROOT = pathlib.Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (ROOT / "reinforceable" / "__init__.py").read_text(), re.M
).group(1)

EXTRAS = {
    # gymnasium's AtariPreprocessing resizes frames with OpenCV.
    "atari": ["ale-py>=0.10", "opencv-python-headless>=4.8"],
    "mujoco": ["mujoco>=3.1", "imageio>=2.30"],
    # The Fetch goal tasks (`FetchReach-v4`, `FetchPush-v4`): gymnasium-robotics 1.4.2 fails to
    # build them with mujoco 3.12 and later (an assertion on joint types in `set_joint_qpos`).
    "robotics": ["gymnasium-robotics>=1.4,<1.5", "mujoco>=3.1,<3.12"],
    "plot": ["matplotlib>=3.8"],
    # Evaluation videos (gymnasium's RecordVideo writes MP4 with moviepy; classic control
    # renders with pygame).
    "video": ["moviepy>=1.0", "pygame>=2.1"],
    # Runners in Ray actors (reinforceable.distributed.RayRunners): plain Ray core, no RLlib.
    "distributed": ["ray>=2.50"],
    # The tests run every example: the Atari and MuJoCo ones and the learning-curve plots included.
    "test": [
        "pytest>=8.0",
        "pytest-xdist>=3.5",
        "scipy>=1.11",
        "matplotlib>=3.8",
        "ale-py>=0.10",
        "opencv-python-headless>=4.8",
        "mujoco>=3.1,<3.12",
        "gymnasium-robotics>=1.4,<1.5",
        "imageio>=2.30",
        "ray>=2.50",
        "moviepy>=1.0",
        "pygame>=2.1",
    ],
}
EXTRAS["all"] = sorted({req for reqs in EXTRAS.values() for req in reqs})

setup(
    name="reinforceable",
    version=VERSION,
    description=(
        "Reinforcement learning and optimal control on TensorFlow, TensorFlow Probability "
        "and Keras 3."
    ),
    long_description=(ROOT / "README.md").read_text(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["reinforceable", "reinforceable.*"]),
    package_data={"reinforceable": ["py.typed"]},
    install_requires=[
        "tensorflow==2.21.*",
        # The [tf] extra pulls in tf-keras, without which TFP 0.25 refuses to import. It is never
        # imported here: every layer in this package is Keras 3.
        "tensorflow-probability[tf]==0.25.*",
        "keras>=3.10,<4",
        "gymnasium>=1.2",
        "numpy>=1.26",
    ],
    extras_require=EXTRAS,
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
