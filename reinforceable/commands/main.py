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
is optimistic), and ends with the final agent's `result:` line.
`--set field=value` changes a field of the agent's config and `--set network.field=value` a
keyword of the network builder (`actor_critic` for ppo, `sac_actor` for sac and rsac);
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


def _parser() -> argparse.ArgumentParser:
    from reinforceable.commands.presets import ALGOS, PRESETS

    parser = argparse.ArgumentParser(
        prog="python -m reinforceable", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    train = commands.add_parser("train", help="train an agent")
    train.add_argument(
        "algo", choices=sorted(ALGOS), help="ppo (recurrent PPO), sac, or rsac (recurrent SAC)"
    )
    train.add_argument("--env", help="a gymnasium id (the preset's, by default)")
    train.add_argument(
        "--preset",
        choices=[*sorted(PRESETS), "default"],
        help="tuned settings (the one for --env, if any); 'default': the algorithm's defaults",
    )
    train.add_argument("--steps", type=int, help="environment steps (the preset's, or 100000)")
    train.add_argument("--num-envs", type=int, help="training environments")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--run-dir", help="checkpoints, logs and agents (runs/ALGO-ENV)")
    train.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    train.add_argument("--eval-every", type=int, default=20, help="iterations between evaluations")
    train.add_argument("--eval-episodes", type=int, help="episodes per evaluation (10)")
    train.add_argument("--stop-at", type=float, help="stop once the evaluation return reaches it")
    train.add_argument("--video", action="store_true", help="record the final evaluation")
    train.add_argument("--no-resume", action="store_true", help="start afresh in --run-dir")
    evaluate = commands.add_parser("evaluate", help="evaluate a saved agent")
    evaluate.add_argument("path", help="a saved agent, or a run directory holding one")
    evaluate.add_argument("--env", help="the environment id (the agent's, by default)")
    evaluate.add_argument("--episodes", type=int, default=10)
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


def _train(args) -> int:
    import keras

    import reinforceable as rf
    from reinforceable.commands.presets import ALGOS
    from reinforceable.envs.atari import is_atari_id
    from reinforceable.training import Evaluation, ProgressBar, StopAtReturn

    preset = _choose_preset(args)
    env_id = args.env or (preset.env_id if preset else None)
    if env_id is None:
        raise ValueError("train needs --env (or a --preset).")
    algo = ALGOS[args.algo]
    rf.training.configure_threads(algo.threads, algo.threads)
    keras.utils.set_random_seed(args.seed)  # the weights' initialisation, as the examples do
    steps = args.steps or (preset.steps if preset else 100_000)
    num_envs = args.num_envs or (preset.num_envs if preset else algo.num_envs)
    episodes = args.eval_episodes or (preset.eval_episodes if preset else 10)
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
    make = rf.envs.atari_env if is_atari_id(env_id) else rf.GymEnv  # Atari: preprocessed
    env = make(env_id, num_envs, seed=args.seed)
    eval_env = make(env_id, min(episodes, 5), seed=args.seed + 10_000)
    if preset is not None:
        model = preset.make_network(env.spec, network_changes)
    else:
        model = algo.network(env.spec, **network_changes)
    agent = algo.agent()(model, env, config)
    run_dir = pathlib.Path(args.run_dir or f"runs/{args.algo}-{env_id.replace('/', '-')}")
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


def _evaluate(args) -> int:
    import reinforceable as rf
    from reinforceable.agents import Agent

    # One thread each, as for acting in training (TF's idle threads compete with the env step);
    # it also starts TF's runtime without oneDNN's harmless first-op error line.
    rf.training.configure_threads(1, 1)
    path = pathlib.Path(args.path)
    if not (path / "agent.json").exists():
        found = [path / name for name in ("best_agent", "agent") if (path / name).exists()]
        if not found:
            raise FileNotFoundError(
                f"{path} holds no saved agent (agent.json), nor a run's best_agent or agent."
            )
        path = found[0]
    agent = Agent.load(path)
    env_id = args.env or agent.spec.env_id
    if not env_id:
        raise ValueError(f"the agent in {path} names no environment id; give --env.")
    print(f"agent: {path} ({type(agent).__name__}, {env_id})")
    _report(agent, env_id, args.episodes, args.seed, args.video, not args.stochastic)
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
