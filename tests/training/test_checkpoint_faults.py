"""What comes from the disk: unreadable checkpoints, kills during a save, damaged saved agents
(issue 19). Each case names the file, and nothing is lost."""

import csv
import pathlib
import subprocess
import sys
import textwrap

import pytest

import reinforceable as rf
from reinforceable.agents import PPOConfig, RecurrentPPOAgent
from reinforceable.networks import actor_critic
from reinforceable.training import CheckpointError, Trainer

CONFIG = PPOConfig(num_steps=8, batch_size=16, num_epochs=1, seed=0)
STEPS = 16  # env steps per iteration (2 environments x 8 steps)
ROOT = pathlib.Path(__file__).resolve().parents[2]


def trainer(run_dir, **kwargs):
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, CONFIG)
    return Trainer(agent, run_dir=run_dir, checkpoint_every=1, **kwargs)


def iterations(run_dir):
    with (run_dir / "progress.csv").open(newline="") as file:
        return [int(float(row["iteration"])) for row in csv.DictReader(file)]


def truncate(file: pathlib.Path):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def test_an_unreadable_latest_checkpoint_is_kept_and_resume_uses_the_one_before(tmp_path, capsys):
    trainer(tmp_path).fit(4 * STEPS)
    data = tmp_path / "checkpoints" / "ckpt-4.data-00000-of-00001"
    truncate(data)
    damaged = data.read_bytes()
    resumed = trainer(tmp_path)
    with pytest.warns(UserWarning, match=r"the checkpoint .*ckpt-4 cannot be read \(") as warned:
        resumed.fit(6 * STEPS)
    assert "It is kept as ckpt-4.data-00000-of-00001.unreadable" in str(warned[0].message)
    assert "Resumed from" in capsys.readouterr().out and resumed.history[0]["iteration"] == 1
    # The damaged file is kept as it was; the resumed run wrote a new ckpt-4 beside it.
    assert (tmp_path / "checkpoints" / f"{data.name}.unreadable").read_bytes() == damaged
    assert (tmp_path / "checkpoints" / "ckpt-4.index").exists()
    assert resumed.manager.latest_checkpoint.endswith("ckpt-6")
    assert iterations(tmp_path) == [1, 2, 3, 4, 5, 6]


def test_no_readable_checkpoint_is_an_error_naming_them(tmp_path):
    trainer(tmp_path, keep_checkpoints=2).fit(3 * STEPS)
    for number in (2, 3):
        truncate(tmp_path / "checkpoints" / f"ckpt-{number}.index")
    with pytest.warns(UserWarning), pytest.raises(CheckpointError, match=r"ckpt-3 .*ckpt-2 "):
        trainer(tmp_path).fit(5 * STEPS)
    assert (tmp_path / "checkpoints" / "ckpt-3.index.unreadable").exists()


# Trains 5 iterations; with a kill point, SIGKILLs itself inside the save of that checkpoint,
# after its files are written and before the checkpoint state names it.
SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from tensorflow.python.checkpoint import checkpoint_management
    sys.path.insert(0, {tests!r})
    from test_checkpoint_faults import STEPS, trainer

    kill_at = sys.argv[2] if len(sys.argv) > 2 else None
    record = checkpoint_management.update_checkpoint_state_internal

    def record_or_die(save_dir, model_checkpoint_path, *args, **kwargs):
        if kill_at and model_checkpoint_path.endswith("ckpt-" + kill_at):
            os.kill(os.getpid(), signal.SIGKILL)
        return record(save_dir, model_checkpoint_path, *args, **kwargs)

    checkpoint_management.update_checkpoint_state_internal = record_or_die
    trainer(sys.argv[1]).fit(5 * STEPS)
    print("finished")
    """
)


def test_a_kill_during_a_checkpoint_write_resumes_from_the_one_before(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(tests=str(pathlib.Path(__file__).parent)))
    run_dir = tmp_path / "run"

    def train(*kill_at):
        return subprocess.run(
            [sys.executable, str(script), str(run_dir), *kill_at],
            capture_output=True, text=True, timeout=600, cwd=ROOT,
        )  # fmt: skip

    killed = train("3")
    assert killed.returncode == -9, killed.stderr[-3000:]
    assert (run_dir / "checkpoints" / "ckpt-3.index").exists()  # written, but never recorded
    assert iterations(run_dir) == [1, 2, 3]
    result = train()
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Resumed from" in result.stdout and "ckpt-2 (iteration 2" in result.stdout
    assert iterations(run_dir) == [1, 2, 3, 4, 5]


def test_a_failed_save_leaves_the_previous_save_whole(tmp_path, monkeypatch):
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, CONFIG)
    path = tmp_path / "agent"
    agent.save(path)
    (path / "notes.txt").write_text("mine")
    before = {file.name: file.read_bytes() for file in path.iterdir()}

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(type(agent.model), "save", fail)
    with pytest.raises(OSError, match="disk full"):
        agent.save(path)
    assert {file.name: file.read_bytes() for file in path.iterdir()} == before
    monkeypatch.undo()
    agent.save(path)  # a later save keeps the user's own files
    assert (path / "notes.txt").read_text() == "mine"
    RecurrentPPOAgent.load(path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda p: truncate(p / "policy.keras"), r"policy\.keras is not a readable Keras model"),
        (lambda p: (p / "agent.json").write_text("{"), r"agent\.json is not valid JSON"),
        (lambda p: (p / "agent.json").write_text("[]"), r"agent\.json must hold a JSON object"),
        (lambda p: truncate(p / "state.data-00000-of-00001"), r"learner state .*state\.\* cannot"),
        (lambda p: (p / "state.index").unlink(), r"learner state .*state\.\* cannot"),
    ],
)
def test_a_damaged_saved_agent_names_the_file_and_the_problem(tmp_path, damage, message):
    env = rf.GymEnv("CartPole-v1", num_envs=2, seed=0)
    agent = RecurrentPPOAgent(actor_critic(env, hidden=(8,)), env, CONFIG)
    path = agent.save(tmp_path / "agent")
    damage(path)
    with pytest.raises(ValueError, match=message):
        RecurrentPPOAgent.load(path)


@pytest.mark.parametrize(
    ("entry", "kind", "found"),
    [("checkpoints", "directory", "a file"), ("progress.csv", "file", "a directory")],
)
def test_a_run_dir_that_cannot_hold_a_run_is_refused_before_training(tmp_path, entry, kind, found):
    """Before, a `checkpoints` file failed at the first save, after the first iteration's work."""
    path = tmp_path / entry
    path.mkdir() if kind == "file" else path.write_text("not a directory")
    message = rf"{path} must be a {kind}, but it is {found}"
    with pytest.raises(ValueError, match=message):
        trainer(tmp_path)
    (tmp_path / "file").write_text("")
    with pytest.raises(ValueError, match=r"`run_dir` .*file must be a directory, but it is a file"):
        trainer(tmp_path / "file")
