"""The README's quickstart runs as written, and its test command is what CI runs."""

import pathlib
import re

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r".*?\n```\w*\n(.*?)\n```", README, re.S)
    assert match, f"no code block after {marker!r} in README.md"
    return match.group(1)


def test_quickstart_trains_saves_and_reloads(tmp_path, monkeypatch):
    """The quickstart as written, with 2 rollouts instead of 100k steps, in a scratch directory."""
    code = block_after("<!-- readme:quickstart")
    assert "agent.fit(100_000" in code
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(code.replace("agent.fit(100_000", "agent.fit(512"), namespace)
    assert [row["env_steps"] for row in namespace["history"]] == [256, 512]
    assert (tmp_path / "runs" / "quickstart" / "agent" / "policy.keras").exists()
    assert (tmp_path / "runs" / "quickstart" / "agent" / "agent.json").exists()
    assert (tmp_path / "runs" / "quickstart" / "checkpoints" / "checkpoint").exists()


def test_policy_snippet_runs_and_gives_the_documented_shapes():
    namespace = {}
    exec(block_after("<!-- readme:policy"), namespace)
    action, log_prob = namespace["action"], namespace["log_prob"]
    assert action["axis"].shape == (4, 1) and action["axis"].dtype.name == "int32"
    assert action["move"].shape == (4, 1, 1)
    assert np.all(np.abs(action["move"].numpy()) <= 1.0)
    assert log_prob.shape == (4, 1)
    assert namespace["outputs"]["state"]["rnn"][0].shape == (4, 64)  # the state comes out


def test_driver_snippet_runs_and_gives_the_documented_shapes():
    namespace = {}
    exec(block_after("<!-- readme:driver"), namespace)
    trajectory = namespace["trajectory"]
    assert trajectory.observation.shape == (128, 16, 2)
    assert trajectory.action.shape == (128, 16)
    assert namespace["driver"].metrics()["env_steps"] == 16 * 128


def test_ci_runs_the_readme_test_command():
    command = block_after("<!-- ci:test-command")
    assert "pytest" in command and "pip install" in command
    ci = (ROOT / ".ci" / "run").read_text()
    assert "ci:test-command" in ci  # .ci/run reads the command from the README, not a copy
