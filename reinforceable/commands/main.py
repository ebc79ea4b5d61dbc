"""`python -m reinforceable`: train, evaluate and list presets from the command line.

    python -m reinforceable train ppo --env CartPole-v1
    python -m reinforceable train ppo --env reinforceable/CartPoleNoVel-v1   # its preset
    python -m reinforceable train sac --env Pendulum-v1 --steps 20000 --set learning_rate=1e-3
    python -m reinforceable train rsac --env reinforceable/PendulumNoVel-v1   # recurrent SAC
    python -m reinforceable train ppo --env CartPole-v1 --set "network.hidden=(32, 32)"
    python -m reinforceable evaluate runs/ppo-CartPole-v1 --episodes 20 --video videos/
    python -m reinforceable presets

`train` uses the preset for the algorithm and environment when there is one (`--preset
default` for the algorithm's defaults instead), prints progress, keeps the best agent
(`<run-dir>/best_agent`), saves the final one (`<run-dir>/agent`), resumes from the last
checkpoint when run again with the same `--run-dir`, evaluates the best agent on the final
evaluation's episodes (its score when kept was the best of several noisy evaluations, so it
is optimistic), and ends with the final agent's `result:` line. `evaluate RUN_DIR` evaluates
the run's final agent (the one that line reports) and the best agent beside it, by name;
`evaluate RUN_DIR/best_agent` the best agent alone. Counts (`--steps`, `--num-envs`,
`--episodes`, ...) are used as given or refused with the valid range, never replaced.
`--env` takes gymnasium ids and gymnasium's `module:id` form (`popgym:popgym-...`), which
imports the module that registers the id.
`--set field=value` changes a field of the agent's config and `--set network.field=value` a
keyword of the network builder (`actor_critic` for ppo, `sac_actor` for sac, rsac, td3 and
ddpg, `q_network` for dqn);
`lin_1e-3` is a linear schedule from 1e-3 to 0; `true`, `false`, `none`, numbers and tuples
are as in Python.
TensorFlow starts quietly (`REINFORCEABLE_TF_LOGS=1` shows its start-up lines).
"""

from __future__ import annotations

import argparse
import ast
import os
import pathlib
import statistics
import sys
import time

__all__ = ["main", "parse_set"]


def parse_set(items: list[str]) -> dict:
    """`["a=1", "b=lin_3e-4", "c=true"]` -> `{"a": 1, "b": {"linear": {"start": 3e-4}}, "c": True}`.

    Raises:
        ValueError: For an item without `=`.
    """
    changes = {}
    for item in items:
        field, sep, text = item.partition("=")
        if not sep or not field:
            raise ValueError(f"--set takes field=value; received {item!r}.")
        changes[field.strip()] = _value(text.strip())
    return changes


def _value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    if lowered.startswith("lin_"):
        return {"linear": {"start": float(text[4:])}}
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _at_least(minimum: int):
    """An argparse type: an int >= `minimum`, or argparse's error naming the valid range (a value
    the user gives is used or refused, never replaced by a default)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < minimum:
            raise argparse.ArgumentTypeError(f"expected an int >= {minimum}; received {text!r}")
        return value

    parse.__name__ = f"int >= {minimum}"
    return parse


def _parser() -> argparse.ArgumentParser:
    from reinforceable.commands.presets import ALGOS, PRESETS

    parser = argparse.ArgumentParser(
        prog="python -m reinforceable", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train an agent")
    train.add_argument(
        "algo",
        choices=sorted(ALGOS),
        help="ppo (recurrent PPO), sac, rsac (recurrent SAC), td3, ddpg or dqn",
    )
    train.add_argument("--env", help="a gymnasium id (the preset's, by default)")
    train.add_argument(
        "--preset",
        choices=[*sorted(PRESETS), "default"],
        help="tuned settings (the one for --env, if any); 'default': the algorithm's defaults",
    )
    positive = _at_least(1)
    train.add_argument(
        "--steps", type=positive, help="environment steps, >= 1 (the preset's, or 100000)"
    )
    train.add_argument("--num-envs", type=positive, help="training environments, >= 1")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--run-dir", help="checkpoints, logs and agents (runs/ALGO-ENV)")
    train.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    train.add_argument(
        "--eval-every", type=positive, default=20, help="iterations between evaluations"
    )
    train.add_argument("--eval-episodes", type=positive, help="episodes per evaluation (10)")
    train.add_argument(
        "--threads", type=positive, help="TF threads per pool (the algorithm's: 1 ppo, 2 sac)"
    )
    train.add_argument("--stop-at", type=float, help="stop once the evaluation return reaches it")
    train.add_argument("--video", action="store_true", help="record the final evaluation")
    train.add_argument("--no-resume", action="store_true", help="start afresh in --run-dir")
    evaluate = commands.add_parser("evaluate", help="evaluate a saved agent")
    evaluate.add_argument("path", help="a saved agent, or a run directory holding one")
    evaluate.add_argument("--env", help="the environment id (the agent's, by default)")
    evaluate.add_argument("--episodes", type=positive, default=10, help="episodes, >= 1")
    evaluate.add_argument("--threads", type=positive, default=1, help="TF threads per pool")
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument("--video", metavar="DIR", help="record the episodes to MP4 in DIR")
    evaluate.add_argument("--stochastic", action="store_true", help="sample actions")
    commands.add_parser("presets", help="list the presets")
    return parser


def main(argv: list[str] | None = None) -> int:
    from reinforceable.training.episodes import VideoError

    args = _parser().parse_args(argv)
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    if "DISPLAY" not in os.environ:  # off-screen rendering for --video
        os.environ.setdefault("MUJOCO_GL", "egl")
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    try:
        if args.command == "presets":
            return _presets()
        if args.command == "train":
            return _train(args)
        return _evaluate(args)
    except (ValueError, TypeError, FileNotFoundError, VideoError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


def _presets() -> int:
    from reinforceable.commands.presets import PRESETS

    print("| preset | algo | env | steps | mean return | measured by |")
    print("|---|---|---|---|---|---|")
    for preset in PRESETS.values():
        print(
            f"| {preset.name} | {preset.algo} | {preset.env_id} | {preset.steps:,} | "
            f"{preset.figure} ({preset.measured}) | `{preset.command}` |"
        )
    return 0


def _choose_preset(args):
    from reinforceable.commands.presets import get_preset, preset_for

    if args.preset == "default":
        return None
    if args.preset is None:
        return preset_for(args.algo, args.env) if args.env else None
    preset = get_preset(args.preset)
    if preset.algo != args.algo:
        raise ValueError(f"preset {preset.name!r} is for {preset.algo}, not {args.algo}.")
    if args.env and args.env != preset.env_id:
        raise ValueError(f"preset {preset.name!r} is for --env {preset.env_id}, not {args.env}.")
    return preset


def _given(value, default):
    """The user's value where given (0 and "" included), else the default."""
    return default if value is None else value


def _train(args) -> int:
    import keras

    import reinforceable as rf
    from reinforceable.commands.presets import ALGOS
    from reinforceable.training import Evaluation, ProgressBar, StopAtReturn

    preset = _choose_preset(args)
    env_id = _given(args.env, preset.env_id if preset else None)
    if env_id is None:
        raise ValueError("train needs --env (or a --preset).")
    algo = ALGOS[args.algo]
    threads = _given(args.threads, algo.threads)
    rf.training.configure_threads(threads, threads)
    keras.utils.set_random_seed(args.seed)  # the weights' initialisation, as the examples do
    steps = _given(args.steps, preset.steps if preset else 100_000)
    num_envs = _given(args.num_envs, preset.num_envs if preset else algo.num_envs)
    episodes = _given(args.eval_episodes, preset.eval_episodes if preset else 10)
    changes, network_changes = {}, {}
    for field, value in parse_set(args.set).items():
        if field.startswith("network."):
            network_changes[field.removeprefix("network.")] = value
        else:
            changes[field] = value
    algo.check_network_fields(network_changes)
    if preset is not None:
        config = preset.make_config(args.seed, changes)
        print(f"preset {preset.name}: {preset.figure} ({preset.measured})")
    else:
        config = algo.config().from_dict({**changes, "seed": args.seed})
    env = _make_env(env_id, num_envs, args.seed)
    eval_env = _make_env(env_id, min(episodes, 5), args.seed + 10_000)
    if preset is not None:
        model = preset.make_network(env.spec, network_changes)
    else:
        model = algo.network(env.spec, **network_changes)
    agent = algo.agent()(model, env, config)
    name = env_id.replace("/", "-").replace(":", "-")
    run_dir = pathlib.Path(_given(args.run_dir, f"runs/{args.algo}-{name}"))
    evaluation = Evaluation(eval_env, every=args.eval_every, episodes=episodes, save_best=True)
    callbacks = [ProgressBar(), evaluation]
    if args.stop_at is not None:
        callbacks.append(StopAtReturn(args.stop_at))
    start = time.perf_counter()
    agent.fit(
        steps, callbacks=callbacks, run_dir=run_dir, resume=not args.no_resume, seed=args.seed
    )
    wall = time.perf_counter() - start
    agent.save(run_dir / "agent")
    print(f"training: {wall:.1f} s; saved agent: {run_dir / 'agent'}")
    seed = args.seed + 20_000  # the final evaluation's episodes, for both agents
    if (evaluation.best.path / "agent.json").exists():
        from reinforceable.agents import Agent

        best = Agent.load(evaluation.best.path)
        mean, spread = _returns(best, env_id, episodes, seed, None, deterministic=True)
        print(
            f"best agent: {evaluation.best.path} (return {evaluation.best.score:.1f} when kept; "
            f"{mean:.1f} +- {spread:.1f} on the final evaluation's {episodes} episodes)"
        )
    video = run_dir / "videos" if args.video else None
    _report(agent, env_id, episodes, seed, video, deterministic=True)
    return 0


def _make_env(env_id: str, num_envs: int, seed: int):
    """`num_envs` environments of `env_id` as `train` makes them (Atari ids preprocessed; a
    goal task's carry `is_success`)."""
    import reinforceable as rf
    from reinforceable.envs.atari import is_atari_id

    if is_atari_id(env_id):
        return rf.envs.atari_env(env_id, num_envs, seed=seed)
    env = rf.GymEnv(env_id, num_envs, seed=seed)
    if env.spec.compute_reward is None:
        return env
    env.close()  # a goal task: again, carrying `is_success` for the success rate
    return rf.GymEnv(env_id, num_envs, seed=seed, infos={"is_success": "bool"})


def _saved_agents(path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path | None]:
    """(the agent to evaluate, the run's best agent to report beside it or None). A saved
    agent is itself; a run directory gives its final agent (what `train`'s result line
    reports) and its best agent, or its best agent alone when training did not finish."""
    if (path / "agent.json").exists():
        return path, None
    final, best = path / "agent", path / "best_agent"
    has_best = (best / "agent.json").exists()
    if (final / "agent.json").exists():
        return final, best if has_best else None
    if has_best:
        print(f"{path} has no final agent (training did not finish); evaluating its best agent.")
        return best, None
    raise FileNotFoundError(
        f"{path} holds no saved agent (agent.json), nor a run's agent or best_agent."
    )


def _evaluate(args) -> int:
    import reinforceable as rf
    from reinforceable.agents import Agent

    # One thread each by default, as for acting in training (TF's idle threads compete with the
    # env step); it also starts TF's runtime without oneDNN's harmless first-op error line.
    rf.training.configure_threads(args.threads, args.threads)
    path, best_path = _saved_agents(pathlib.Path(args.path))
    if args.env is None:
        agent = Agent.load(path)
    else:  # refused here, listing the differences, if its spaces are not the agent's
        env = _make_env(args.env, 1, args.seed)
        try:
            agent = Agent.load(path, env)
        finally:
            env.close()
    env_id = _given(args.env, agent.spec.env_id)
    if not env_id:
        raise ValueError(f"the agent in {path} names no environment id; give --env.")
    print(f"agent: {path} ({type(agent).__name__}, {env_id})")
    deterministic = not args.stochastic
    if best_path is not None:
        best = Agent.load(best_path)
        mean, spread = _returns(best, env_id, args.episodes, args.seed, None, deterministic)
        print(
            f"best agent: {best_path} (evaluation return {mean:.1f} +- {spread:.1f} over the same "
            f"{args.episodes} episodes)"
        )
    _report(agent, env_id, args.episodes, args.seed, args.video, deterministic)
    return 0


def _returns(agent, env_id, episodes, seed, video_dir, deterministic) -> tuple[float, float]:
    """The mean and standard deviation of `agent`'s returns over `episodes` episodes."""
    from reinforceable.training.episodes import run_episodes

    returns = run_episodes(agent, env_id, episodes, seed, video_dir, deterministic)
    return statistics.mean(returns), statistics.pstdev(returns) if len(returns) > 1 else 0.0


def _report(agent, env_id, episodes, seed, video_dir, deterministic) -> None:
    mean, spread = _returns(agent, env_id, episodes, seed, video_dir, deterministic)
    if video_dir is not None:
        print(f"videos: {video_dir}")
    print(
        f"result: evaluation return {mean:.1f} +- {spread:.1f} over "
        f"{episodes} episodes ({'deterministic' if deterministic else 'stochastic'} policy)"
    )
