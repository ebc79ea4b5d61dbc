"""The defaults of PPO, SAC and recurrent SAC on hybrid tasks whose discrete action ends the
episode, over several seeds: do they learn with the ready-made networks and default configs?

* `--suite ppo` (10 seeds): `RecurrentPPOAgent(actor_critic(env), env, PPOConfig(seed=s))` in 8
  environments (the command line's `train ppo` without a preset) on
  `reinforceable/MoveThenCommit1D-v0` and `MoveThenCommit2D-v0`: move with a continuous step,
  then stop on the target; stopping after a single move is a local optimum (about 50% in 1-D).
  Target (issue 36): >= 95% success on 10 of 10 seeds (MixedAction2D's preset: still 5 of 5,
  `benchmarks/ppo_defaults.py`).
* `--suite sac` (3 seeds): `SACAgent(sac_actor(env), env, SACConfig(seed=s))`, one environment
  (`train sac`), on the same tasks.
* `--suite rsac` (3 seeds): `RecurrentSACAgent(sac_actor(env, recurrent="gru"), env,
  RecurrentSACConfig(seed=s))`, one environment, 60k steps, on memory tasks: the target shown on
  the first step only (`MemoryMoveThenCommit1D-v0`, 2 targets, chance 1/2;
  `MemoryMoveThenCommit2D-v0`, 4 targets, chance 1/4; and `MemoryMixedAction2D-v0`).

Each run then measures the deterministic policy's success over 500 (SAC: 300) episodes.
`--before` runs the same seeds with the earlier defaults next to the current ones (no peer
library has Dict actions, so the comparison is with ourselves): PPO without an entropy bonus
and with standardised advantages (`entropy_coef=0.0, normalize_advantages=True`, SB3's), SAC
with the continuous part's entropy bonus in the critics' target (`backup_entropy="continuous"`;
before that, every bonus: `True`). Runs go `--jobs` (2)
at a time; each suite writes `media/hybrid_defaults_<suite>.md`. `--finished FILE` records each
run as it ends and skips the runs already recorded (a long suite resumes); `--table-only`
writes the table from that file alone, with the runs not yet made as `not run`.

    python benchmarks/hybrid_defaults.py                       # PPO, both tasks, 10 seeds
    python benchmarks/hybrid_defaults.py --suite rsac --before --before-seeds 0
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import statistics
import subprocess
import sys
import time

from _examples import write_report

BACKUP_CHANGE = (
    "the current defaults keep every entropy bonus of a hybrid action out of the critics' target "
    "(`backup_entropy='auto'`), the earlier ones backed up the continuous part's "
    "(`backup_entropy='continuous'`)"
)
"""How SAC's defaults changed (both SAC suites)."""
SUITES = {
    "ppo": {
        "tasks": {
            "reinforceable/MoveThenCommit1D-v0": 300_000,
            "reinforceable/MoveThenCommit2D-v0": 500_000,
        },
        "seeds": list(range(10)),
        "num_envs": 8,
        "episodes": 500,
        "before": {"entropy_coef": 0.0, "normalize_advantages": True},
        "what": "`RecurrentPPOAgent(actor_critic(env), env, PPOConfig(seed=s))` in 8 "
        "environments; the current defaults weigh the discrete heads' entropy by 0.05 "
        "(`PPOConfig.entropy_coef=None`) and leave the advantages unstandardised "
        "(`normalize_advantages=False`), the earlier ones had no entropy bonus and standardised "
        "each minibatch's advantages (`entropy_coef=0.0, normalize_advantages=True`)",
    },
    "sac": {
        "tasks": {
            "reinforceable/MoveThenCommit1D-v0": 50_000,
            "reinforceable/MoveThenCommit2D-v0": 50_000,
        },
        "seeds": [0, 1, 2],
        "num_envs": 1,
        "episodes": 300,
        "before": {"backup_entropy": "continuous"},
        "what": "`SACAgent(sac_actor(env), env, SACConfig(seed=s))` in one environment; "
        + BACKUP_CHANGE,
    },
    "rsac": {
        "tasks": {
            "reinforceable/MemoryMoveThenCommit1D-v0": 60_000,
            "reinforceable/MemoryMoveThenCommit2D-v0": 60_000,
            "reinforceable/MemoryMixedAction2D-v0": 60_000,
        },
        "seeds": [0, 1, 2],
        "num_envs": 1,
        "episodes": 300,
        "before": {"backup_entropy": "continuous"},
        "what": "`RecurrentSACAgent(sac_actor(env, recurrent='gru'), env, "
        "RecurrentSACConfig(seed=s))` in one environment; " + BACKUP_CHANGE,
    },
}
BAR = 0.95


def worker(suite: str, env_id: str, steps: int, seed: int, before: bool) -> dict:
    import keras

    import reinforceable as rf
    from reinforceable import agents

    settings = SUITES[suite]
    rf.training.configure_threads(1, 1)  # runs go --jobs at a time on a 2-core machine
    keras.utils.set_random_seed(seed)
    env = rf.GymEnv(env_id, settings["num_envs"], seed=seed)
    changes = {"seed": seed, **(settings["before"] if before else {})}
    if suite == "ppo":
        model = rf.networks.actor_critic(env)
        agent = agents.RecurrentPPOAgent(model, env, agents.PPOConfig(**changes))
    elif suite == "sac":
        agent = agents.SACAgent(rf.networks.sac_actor(env), env, agents.SACConfig(**changes))
    else:
        model = rf.networks.sac_actor(env, recurrent="gru")
        config = agents.RecurrentSACConfig(**changes)
        agent = agents.RecurrentSACAgent(model, env, config)
    start = time.perf_counter()
    agent.fit(steps, seed=seed)
    wall = time.perf_counter() - start
    eval_env = rf.GymEnv(env_id, 10, seed=seed + 10_000, infos={"is_success": "bool"})
    episodes = rf.driver.EpisodeStatistics(window=settings["episodes"])
    driver = rf.Driver(agent.eval_policy, eval_env, [episodes, rf.driver.SuccessRate()])
    driver.run(episodes=settings["episodes"])
    metrics = driver.metrics()
    return {
        "success": metrics["success_rate"],
        "return": metrics["episode_return"],
        "length": metrics["episode_length"],
        "wall_s": wall,
    }


def run(suite: str, env_id: str, steps: int, seed: int, before: bool) -> dict:
    command = [sys.executable, __file__, "--worker", suite, env_id, str(steps), str(seed),
               str(before)]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _finished(path: str | None, keys: list[tuple]) -> dict:
    """The runs of `keys` already recorded in the JSON-lines file `path` (none if it is absent)."""
    if path is None:
        return {}
    try:
        with open(path) as file:
            lines = [json.loads(line) for line in file if line.strip()]
    except FileNotFoundError:
        return {}
    recorded = {tuple(line["key"]): line["result"] for line in lines}
    return {key: recorded[key] for key in keys if key in recorded}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", choices=sorted(SUITES), default="ppo")
    parser.add_argument("--tasks", nargs="+", help="env ids (the suite's, by default)")
    parser.add_argument("--seeds", type=int, nargs="+", help="the suite's, by default")
    parser.add_argument("--steps", type=int, help="env steps per run (each task's own)")
    parser.add_argument("--before", action="store_true", help="also the earlier defaults")
    parser.add_argument("--before-seeds", type=int, nargs="+", help="seeds of --before")
    parser.add_argument("--before-tasks", nargs="+", help="tasks of --before (all, by default)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--report", help="the file in media/ (hybrid_defaults_<suite>.md)")
    parser.add_argument("--table-only", action="store_true", help="from --finished alone")
    parser.add_argument(
        "--finished",
        help="a JSON-lines file: each run is appended when it ends, and runs "
        "already in it are not run again (to resume a long suite)",
    )
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        suite, env_id, steps, seed, before = args.worker
        print(json.dumps(worker(suite, env_id, int(steps), int(seed), before == "True")))
        return
    settings = SUITES[args.suite]
    tasks = args.tasks or list(settings["tasks"])
    seeds = args.seeds or settings["seeds"]
    every_task = tasks + [env_id for env_id in args.before_tasks or [] if env_id not in tasks]
    budget = {env_id: args.steps or settings["tasks"].get(env_id, 100_000) for env_id in every_task}
    runs = {False: seeds, True: (args.before_seeds or seeds) if args.before else []}
    before_tasks = args.before_tasks or tasks
    keys = [  # seed by seed, so that each task's first seeds finish early
        (args.suite, env_id, budget[env_id], seed, before)
        for before, chosen in runs.items()
        for seed in chosen
        for env_id in (before_tasks if before else tasks)
    ]
    results = _finished(args.finished, keys)
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        missing = [] if args.table_only else [key for key in keys if key not in results]
        futures = {pool.submit(run, *key): key for key in missing}
        for future in concurrent.futures.as_completed(futures):
            key = futures[future]
            results[key] = future.result()
            print(f"{key}: {results[key]}", flush=True)
            if args.finished:
                with open(args.finished, "a") as file:
                    file.write(json.dumps({"key": list(key), "result": results[key]}) + "\n")
    lines = [
        f"| task | defaults | steps | success per seed ({', '.join(map(str, seeds))}) | "
        "seeds >= 95% | mean success |",
        "|---|---|---|---|---|---|",
    ]
    for env_id in every_task:
        for before, chosen in runs.items():
            if not chosen or (before and env_id not in before_tasks):
                continue
            rows = [results.get((args.suite, env_id, budget[env_id], s, before)) for s in chosen]
            successes = [row["success"] for row in rows if row is not None]
            if not successes:
                continue
            lines.append(
                f"| {env_id} | {'earlier' if before else 'current'} | {budget[env_id]:,} | "
                + ", ".join(
                    ("not run" if row is None else f"{100 * row['success']:.1f}%")
                    + ("" if chosen == seeds else f" (seed {seed})")
                    for row, seed in zip(rows, chosen, strict=True)
                )
                + f" | {sum(s >= BAR for s in successes)} of {len(successes)} | "
                f"{100 * statistics.mean(successes):.1f}% |"
            )
    flags = f" --suite {args.suite}" + (" --before" if args.before else "")
    write_report(
        args.report or f"hybrid_defaults_{args.suite}.md",
        f"The defaults of {args.suite} on hybrid tasks whose discrete action ends the episode",
        f"hybrid_defaults.py{flags}",
        f"{settings['what']}; success of the deterministic policy over {settings['episodes']} "
        "episodes per seed.",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
