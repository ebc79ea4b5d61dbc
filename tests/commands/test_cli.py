"""`python -m reinforceable`: train, evaluate (with video), presets, and bad input by name."""

import dataclasses
import inspect
import os
import subprocess
import sys

import pytest

from reinforceable import _startup
from reinforceable.commands.main import main, parse_set
from reinforceable.commands.presets import PRESETS, get_preset


def _run(*args, cwd):
    env = {k: v for k, v in os.environ.items() if k != "REINFORCEABLE_TF_LOGS"}
    return subprocess.run(
        [sys.executable, "-m", "reinforceable", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_parse_set_reads_python_values_and_schedules():
    assert parse_set(["a=1", "b=lin_3e-4", "c=true", "d=None", "e=(64, 64)", "f=relu"]) == {
        "a": 1,
        "b": {"linear": {"start": 3e-4}},
        "c": True,
        "d": None,
        "e": (64, 64),
        "f": "relu",
    }
    with pytest.raises(ValueError, match="field=value"):
        parse_set(["learning_rate"])


def test_train_then_evaluate_with_video(tmp_path):
    """The issue's command from a clean process: a result line, no TF start-up noise, the best
    and the final agent saved; then `evaluate` loads the run and records MP4s, as quietly."""
    run_dir = tmp_path / "run"
    arguments = ["--steps", "2048", "--run-dir", str(run_dir), "--eval-every", "1"]
    trained = _run("train", "ppo", "--env", "CartPole-v1", *arguments, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "result: evaluation return" in trained.stdout.splitlines()[-1]
    best = [line for line in trained.stdout.splitlines() if line.startswith("best agent:")]
    assert len(best) == 1 and "on the final evaluation's 10 episodes" in best[0], best
    assert not any(_startup.is_harmless(line) for line in trained.stderr.splitlines())
    assert (run_dir / "agent" / "agent.json").exists()
    assert (run_dir / "best_agent" / "best.json").exists()
    evaluated = _run("evaluate", str(run_dir), "--episodes", "2", "--video",
                     str(tmp_path / "videos"), cwd=tmp_path)  # fmt: skip
    assert evaluated.returncode == 0, evaluated.stderr
    # The run's final agent, which train's result line reports, and the best one beside it,
    # each by name (evaluate once took best_agent and printed its figure as the result).
    lines = evaluated.stdout.splitlines()
    assert lines[0].startswith(f"agent: {run_dir / 'agent'} (RecurrentPPOAgent, CartPole-v1)")
    assert lines[1].startswith(f"best agent: {run_dir / 'best_agent'} (evaluation return ")
    assert "over the same 2 episodes" in lines[1] and "over 2 episodes" in lines[-1]
    assert not any(_startup.is_harmless(line) for line in evaluated.stderr.splitlines())
    assert len(list((tmp_path / "videos").glob("*.mp4"))) == 2
    best = _run("evaluate", str(run_dir / "best_agent"), "--episodes", "1", cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    assert best.stdout.splitlines()[0].startswith(f"agent: {run_dir / 'best_agent'} (")
    assert not any(line.startswith("best agent:") for line in best.stdout.splitlines())
    # An --env whose spaces differ from the agent's is refused at load, with the differences.
    other = _run("evaluate", str(run_dir), "--env", "Pendulum-v1", cwd=tmp_path)
    assert other.returncode == 2 and "observation_space: Box shape (4,) != (3,)" in other.stderr
    assert "Traceback" not in other.stderr


def test_bad_input_names_the_valid_choices(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train", "a2c", "--env", "CartPole-v1"])
    assert "choose from 'ddpg', 'dqn', 'ppo', 'rsac', 'sac', 'td3'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "ppo", "--preset", "nope"])
    assert "ppo-cartpole-novel" in capsys.readouterr().err
    assert main(["train", "ppo", "--env", "CartPol-v1", "--run-dir", str(tmp_path)]) == 2
    assert "Did you mean: `CartPole`" in capsys.readouterr().err
    assert main(["train", "ppo", "--env", "CartPole-v1", "--set", "learning_rat=1e-3",
                 "--run-dir", str(tmp_path)]) == 2  # fmt: skip
    assert "unknown fields ['learning_rat']; known fields: ['adam_epsilon'" in (
        capsys.readouterr().err
    )
    assert main(["train", "ppo", "--env", "CartPole-v1", "--set", "network.hiden=(32,)",
                 "--run-dir", str(tmp_path)]) == 2  # fmt: skip
    assert "actor_critic: unknown network fields ['hiden']; known fields: ['activation'" in (
        capsys.readouterr().err
    )
    assert main(["train", "sac", "--preset", "ppo-cartpole-novel"]) == 2
    assert "is for ppo, not sac" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nothing")]) == 2
    assert "holds no saved agent" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [
        ["train", "ppo", "--env", "CartPole-v1", "--steps", "0"],
        ["train", "ppo", "--env", "CartPole-v1", "--num-envs", "0"],
        ["train", "ppo", "--env", "CartPole-v1", "--eval-episodes", "0"],
        ["train", "ppo", "--env", "CartPole-v1", "--eval-every", "-1"],
        ["train", "sac", "--env", "Pendulum-v1", "--threads", "0"],
        ["evaluate", "runs/x", "--episodes", "0"],
    ],
)
def test_a_count_of_zero_is_refused_with_the_valid_range_not_replaced(arguments, capsys):
    """`args.steps or 100_000` once trained 100k steps for `--steps 0`, and `--num-envs 0` made
    8 envs; `evaluate --episodes 0` failed in `statistics.mean`."""
    with pytest.raises(SystemExit) as exit_info:
        main(arguments)
    assert exit_info.value.code == 2
    flag = arguments[-2]
    assert f"argument {flag}: expected an int >= 1; received '{arguments[-1]}'" in (
        capsys.readouterr().err
    )


def test_given_values_are_used_threads_included(tmp_path, monkeypatch):
    """One env, one evaluation episode, 2 threads for ppo (whose default is 1), from a module id."""
    import reinforceable as rf
    from tests.envs.test_ids import FULL_ID

    threads = []
    monkeypatch.setattr(rf.training, "configure_threads", lambda *t: threads.append(t))
    arguments = ["--steps", "256", "--num-envs", "1", "--eval-episodes", "1", "--threads", "2",
                 "--set", "num_steps=64", "batch_size=64", "--run-dir", str(tmp_path)]  # fmt: skip
    assert main(["train", "ppo", "--env", FULL_ID, *arguments]) == 0
    assert threads == [(2, 2)]
    from reinforceable.agents import Agent

    agent = Agent.load(tmp_path / "agent")
    assert agent.spec.num_envs == 1 and agent.spec.env_id == FULL_ID
    assert int(agent.env_steps.numpy()) == 256


def test_set_reaches_the_network_builder(tmp_path, monkeypatch):
    """`--set network.FIELD=value` is a keyword of the network builder, over the preset's."""
    from reinforceable.commands import presets

    built = {}
    ppo = presets.ALGOS["ppo"]

    def builder():
        def record(spec, **kwargs):
            built.update(kwargs)
            return ppo.builder()(spec, **kwargs)

        record.__signature__ = inspect.signature(ppo.builder())
        return record

    monkeypatch.setitem(presets.ALGOS, "ppo", dataclasses.replace(ppo, builder=builder))
    arguments = ["--steps", "256", "--num-envs", "2", "--eval-episodes", "1", "--no-resume"]
    assert main(["train", "ppo", "--env", "reinforceable/CartPoleNoVel-v1", *arguments,
                 "--set", "num_steps=128", "batch_size=64", "network.units=16",
                 "network.hard_bounds=false", "--run-dir", str(tmp_path)]) == 0  # fmt: skip
    preset = get_preset("ppo-cartpole-novel")
    assert built == {**preset.network, "units": 16, "hard_bounds": False}


def test_recurrent_sac_gets_a_recurrent_actor_whatever_the_preset(tmp_path, capsys):
    """`rsac` without a preset still builds `sac_actor(recurrent="gru")` (its agent refuses a
    memoryless actor); `--set network.recurrent=...` wins, and a memoryless actor is refused
    with the agent's message, not a stack trace."""
    from reinforceable.agents import Agent
    from reinforceable.commands import presets
    from reinforceable.layers.recurrent_state import recurrent_layers

    arguments = ["--steps", "64", "--eval-episodes", "1", "--no-resume", "--preset", "default"]
    assert main(["train", "rsac", "--env", "Pendulum-v1", *arguments,
                 "--set", "warmup_steps=32", "network.recurrent=lstm",
                 "--run-dir", str(tmp_path / "lstm")]) == 0  # fmt: skip
    agent = Agent.load(tmp_path / "lstm" / "agent")
    assert type(agent).__name__ == "RecurrentSACAgent"
    assert [layer.cell_type for layer in recurrent_layers(agent.model)] == ["lstm"]
    default = presets.ALGOS["rsac"].network(agent.spec)
    assert [layer.cell_type for layer in recurrent_layers(default)] == ["gru"]
    memoryless = ["--set", "network.recurrent=none", "--run-dir", str(tmp_path / "none")]
    assert main(["train", "rsac", "--env", "Pendulum-v1", *arguments, *memoryless]) == 2
    assert "use SACAgent for a memoryless actor" in capsys.readouterr().err


def test_presets_are_listed_with_their_figures_and_commands(capsys):
    assert main(["presets"]) == 0
    listing = capsys.readouterr().out
    for preset in PRESETS.values():
        assert preset.name in listing and preset.command in listing
        assert preset.check_steps <= preset.steps
    with pytest.raises(ValueError, match=r"unknown preset .ppo-pendulum.; presets: .*ppo-cartpole"):
        get_preset("ppo-pendulum")
