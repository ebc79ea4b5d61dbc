"""Recurrent SAC and recurrent policy search on partially observed tasks, with the peers in the
same run.

* `pendulum`: PendulumNoVel-v1 (cos and sin of the angle only) at `--pendulum-steps` env steps
  (50k) per seed, evaluated on 10 deterministic episodes: our recurrent SAC
  (`examples/recurrent_sac_pendulum.py`: GRU actor, GRU critics, sequences of 16 with a burn-in
  of 8), our recurrent PPO and sb3-contrib RecurrentPPO (both with the RL Zoo's ppo_lstm settings
  for this task: 4 envs, 1024 steps per rollout, γ 0.9, 10 epochs, learning rate 1e-3, LSTM 64,
  normalised observations; the peer also uses gSDE, which we lack), and SB3 SAC on a stack of the
  last 4 observations, the usual workaround (`benchmarks/peers/`). Runs alternate per seed.
  Target: recurrent SAC >= -200 (mean over the seeds). Writes `media/recurrent_sac_pendulum.md`.
* `mountain_car`: our recurrent SAC on MountainCarContinuousNoVel-v0 at `--mountain-car-steps`
  (100k). Target: >= 90 (RL Zoo ppo_lstm: 91.5 at 300k).
* `memory`: `examples/memory_mixed_action.py` (the hybrid memory task; chance is 25% success):
  recurrent PPO (1M steps) and SAC (`--memory-sac-steps`, 60k), and the same agents without
  memory, on the first seed. Target: >= 90% with memory, within 10 points of chance without.
  Writes `media/recurrent_memory.md`.
* `analytic`: `examples/policy_search_pendulum.py --observation angle` (a GRU policy learned
  through the angle-only Pendulum model, evaluated on 100 episodes of PendulumNoVel-v1). Target:
  >= -200.
* `timing`: wall-clock per gradient update of recurrent SAC (L = 16, B = 8, 32 sequences: 256
  trained steps) against memoryless SAC (batch 256), on PendulumNoVel, one process, measured
  after compilation over `--timing-updates` updates.

Results of `mountain_car`, `analytic` and `timing` go to `media/recurrent_sac_other.md`. The
runs go `--jobs` (2) at a time, in subprocesses, and the timing alone after them.

    python benchmarks/recurrent_sac.py                        # everything, about 1.5 hours
    python benchmarks/recurrent_sac.py --tasks timing analytic --seeds 0
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from _examples import figure, run_example, write_report
from _peers import run_peer

ROOT = pathlib.Path(__file__).resolve().parents[1]
PEERS = ROOT / "benchmarks" / "peers"
TASKS = ("pendulum", "mountain_car", "memory", "analytic", "timing")


def _worker(*args: str) -> dict:
    """Runs one of this script's workers in a fresh process; returns its JSON line."""
    command = [sys.executable, __file__, "--worker", *args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def _ours_sac(env_id: str, steps: int, seed: int, extra: tuple[str, ...] = ()) -> dict:
    with tempfile.TemporaryDirectory() as run_dir:
        output = subprocess.run(
            [
                sys.executable,
                str(ROOT / "examples" / "recurrent_sac_pendulum.py"),
                f"--env-id={env_id}",
                f"--total-steps={steps}",
                f"--seed={seed}",
                f"--run-dir={run_dir}",
                "--resume=false",
                "--eval-episodes=10",
                *extra,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    return {
        "wall_s": figure(r"training: ([\d.]+) s", output),
        "eval_mean_return": figure(r"evaluation return ([-\d.]+)", output),
    }


def ppo_worker(steps: int, seed: int, sde: bool = False) -> dict:
    """Our recurrent PPO on PendulumNoVel-v1 with the RL Zoo's ppo_lstm settings
    (`RL_ZOO_PENDULUM_NOVEL_CONFIG` and `_NETWORK`; without `sde`, that network without gSDE),
    on the preset `ppo-pendulum-novel`'s environment count."""
    import keras

    import reinforceable as rf
    from reinforceable.agents import RecurrentPPOAgent
    from reinforceable.commands import presets

    rf.training.configure_threads(inter_op=1, intra_op=1)
    keras.utils.set_random_seed(seed)
    preset = presets.get_preset("ppo-pendulum-novel")
    env = rf.GymEnv(preset.env_id, num_envs=preset.num_envs, seed=seed)
    model = rf.networks.actor_critic(env, **{**presets.RL_ZOO_PENDULUM_NOVEL_NETWORK, "sde": sde})
    config = dataclasses.replace(preset, config=presets.RL_ZOO_PENDULUM_NOVEL_CONFIG).make_config(
        seed
    )
    agent = RecurrentPPOAgent(model, env, config)
    start = time.perf_counter()
    agent.fit(steps, seed=seed)
    wall = time.perf_counter() - start
    evaluation = rf.training.Evaluation(
        rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=5, seed=seed + 10_000), episodes=10
    )
    result = evaluation.evaluate_policy(agent.eval_policy)["eval/episode_return"]
    return {"wall_s": wall, "eval_mean_return": result}


def timing_worker(updates: int) -> dict:
    """Milliseconds per gradient update, recurrent (L 16, B 8, 32 sequences) and memoryless
    (batch 256) SAC on PendulumNoVel-v1, after compilation."""
    import reinforceable as rf
    from reinforceable.agents import RecurrentSACAgent, RecurrentSACConfig, SACAgent, SACConfig

    rf.training.configure_threads(inter_op=2, intra_op=2)
    results = {}
    for name in ("recurrent", "memoryless"):
        env = rf.GymEnv("reinforceable/PendulumNoVel-v1", num_envs=1, seed=0)
        if name == "recurrent":
            actor = rf.networks.sac_actor(env, recurrent="gru")
            agent = RecurrentSACAgent(actor, env, RecurrentSACConfig(seed=0))
        else:
            agent = SACAgent(rf.networks.sac_actor(env), env, SACConfig(seed=0))
        driver = rf.Driver(agent.policy, env, sequence_length=agent.collection.sequence_length)
        for _ in range(8):
            agent.observe(driver.run(agent.rollout_steps))
        agent._update_graph(tf_constant(10))  # compile
        start = time.perf_counter()
        agent._update_graph(tf_constant(updates))
        results[name] = 1000 * (time.perf_counter() - start) / updates
        env.close()
    return results


def tf_constant(value):
    import tensorflow as tf

    return tf.constant(value)


PENDULUM = {
    "sac": "reinforceable recurrent SAC (GRU)",
    "ppo": "reinforceable recurrent PPO (LSTM 64)",
    "peer_ppo": "sb3-contrib RecurrentPPO (LSTM 64, gSDE)",
    "peer_sac": "SB3 SAC, 4 stacked observations",
}
MEMORY = {("ppo", "true"): 1_000_000, ("ppo", "false"): 1_000_000}


def pendulum_jobs(steps: int, seeds: list[int]) -> dict:
    """The runs of `pendulum`, keyed `("pendulum", method, seed)`, alternating per seed."""
    jobs = {}
    for seed in seeds:
        jobs["pendulum", "sac", seed] = lambda s=seed: _ours_sac(
            "reinforceable/PendulumNoVel-v1", steps, s
        )
        jobs["pendulum", "ppo", seed] = lambda s=seed: _worker("ppo", str(steps), str(s))
        jobs["pendulum", "peer_ppo", seed] = lambda s=seed: run_peer(
            str(PEERS / "sb3_contrib_recurrent_ppo_novel.py"), steps, s
        )
        jobs["pendulum", "peer_sac", seed] = lambda s=seed: run_peer(
            str(PEERS / "sb3_sac_frame_stack.py"), steps, s
        )
    return jobs


def pendulum_table(results: dict, steps: int, seeds: list[int]) -> None:
    rows = [
        f"| PendulumNoVel-v1, {steps:,} env steps | mean evaluation return | per seed | "
        "wall-clock per run (s) |",
        "|---|---|---|---|",
    ]
    for key, name in PENDULUM.items():
        done = [s for s in seeds if ("pendulum", key, s) in results]
        if not done:
            rows.append(f"| {name} | failed | | |")
            continue
        returns = [results["pendulum", key, s]["eval_mean_return"] for s in done]
        walls = [results["pendulum", key, s]["wall_s"] for s in done]
        rows.append(
            f"| {name} | {statistics.mean(returns):.1f} | "
            + ", ".join(f"{r:.1f}" for r in returns)
            + f" | {statistics.mean(walls):.0f} |"
        )
    write_report(
        "recurrent_sac_pendulum.md",
        "Recurrent SAC on PendulumNoVel-v1, with the peers",
        "recurrent_sac.py --tasks pendulum",
        f"seeds {seeds}, every row in the same run; 10 deterministic evaluation episodes per run. "
        "Runs went two at a time (`--jobs`), so the wall-clock column compares runs that shared "
        "the machine alike. Target: recurrent SAC >= -200.",
        "\n".join(rows),
    )


def memory_jobs(seed: int, sac_steps: int) -> dict:
    """The memory-task runs, keyed `("memory", algo, memory, seed)`."""
    budgets = {**MEMORY, ("sac", "true"): sac_steps, ("sac", "false"): sac_steps}

    def run(algo, memory_, steps):
        output = run_example(
            "memory_mixed_action.py",
            f"--algo={algo}",
            f"--memory={memory_}",
            f"--total-steps={steps}",
            f"--seed={seed}",
            "--resume=false",
        )
        return {
            "steps": steps,
            "success": figure(r"success ([\d.]+)%", output),
            "wall_s": figure(r"training: ([\d.]+) s", output),
        }

    return {
        ("memory", algo, memory_, seed): lambda a=algo, m=memory_, n=steps: run(a, m, n)
        for (algo, memory_), steps in budgets.items()
    }


def memory_table(results: dict, seed: int) -> None:
    rows = [
        "| MemoryMixedAction2D (chance 25%) | env steps | success | wall-clock (s) |",
        "|---|---|---|---|",
    ]
    for (_, algo, memory_, _), result in sorted(
        (k, v) for k, v in results.items() if k[0] == "memory"
    ):
        kind = "recurrent (GRU)" if memory_ == "true" else "memoryless (MLP)"
        rows.append(
            f"| {algo.upper()}, {kind} | {result['steps']:,} | {result['success']:.1f}% | "
            f"{result['wall_s']:.0f} |"
        )
    write_report(
        "recurrent_memory.md",
        "Hybrid-action memory task: recurrent against memoryless agents",
        "recurrent_sac.py --tasks memory",
        f"seed {seed}; success of the deterministic policy over 1000 episodes, every row in the "
        "same run. Targets: >= 90% with memory, within 10 points of chance (25%) without.",
        "\n".join(rows),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pendulum-steps", type=int, default=50_000)
    parser.add_argument("--mountain-car-steps", type=int, default=100_000)
    parser.add_argument("--mountain-car-seeds", type=int, default=1)
    parser.add_argument("--memory-sac-steps", type=int, default=60_000)
    parser.add_argument("--timing-updates", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        result = (
            ppo_worker(int(rest[0]), int(rest[1]), sde=rest[2:] == ["sde"])
            if kind == "ppo"
            else timing_worker(int(rest[0]))
        )
        print(json.dumps(result))
        return

    jobs = {}
    if "pendulum" in args.tasks:
        jobs.update(pendulum_jobs(args.pendulum_steps, args.seeds))
    if "memory" in args.tasks:
        jobs.update(memory_jobs(args.seeds[0], args.memory_sac_steps))
    if "mountain_car" in args.tasks:
        for seed in args.seeds[: args.mountain_car_seeds]:
            jobs["mountain_car", seed] = lambda s=seed: _ours_sac(
                "reinforceable/MountainCarContinuousNoVel-v0", args.mountain_car_steps, s
            )
    if "analytic" in args.tasks:

        def analytic():
            output = run_example(
                "policy_search_pendulum.py", "--observation=angle", "--total-steps=2000000"
            )
            return {
                "result": figure(r"evaluation return ([-\d.]+)", output),
                "wall_s": figure(r"training: ([\d.]+) s", output),
            }

        jobs["analytic"] = analytic
    if "timing" in args.tasks:
        jobs["timing"] = lambda: _worker("timing", str(args.timing_updates))

    def run(item):
        """One run; a run that fails is reported and left out, and the others go on."""
        key, job = item
        try:
            result = job()
        except Exception as error:  # a failed run must not cancel the others
            print(key, "failed:", error, flush=True)
            return key, None
        print(key, result, flush=True)
        return key, result

    # Timing runs alone, after the rest, so that no other run shares the machine with it.
    timed = jobs.pop("timing", None)
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = dict(pool.map(run, jobs.items()))
    if timed is not None:
        results.update([run(("timing", timed))])
    results = {key: value for key, value in results.items() if value is not None}

    if "pendulum" in args.tasks:
        pendulum_table(results, args.pendulum_steps, args.seeds)
    if "memory" in args.tasks:
        memory_table(results, args.seeds[0])
    other = ["| task | figure | target |", "|---|---|---|"]
    car = [v for k, v in results.items() if k[0] == "mountain_car"]
    if car:
        returns = ", ".join(f"{r['eval_mean_return']:.1f}" for r in car)
        other.append(
            f"| recurrent SAC, MountainCarContinuousNoVel-v0, {args.mountain_car_steps:,} steps, "
            f"per seed | {returns} | >= 90 |"
        )
    if "analytic" in results:
        result = results["analytic"]
        other.append(
            "| recurrent analytic policy search, angle-only Pendulum model (2M model steps, "
            f"{result['wall_s']:.0f} s), 100 episodes of PendulumNoVel-v1 | "
            f"{result['result']:.1f} | >= -200 |"
        )
    if "timing" in results:
        timing = results["timing"]
        ratio = timing["recurrent"] / timing["memoryless"]
        other.append(
            f"| ms per gradient update: recurrent SAC (L 16, B 8, 32 sequences) / memoryless "
            f"SAC (batch 256), measured alone | {timing['recurrent']:.1f} / "
            f"{timing['memoryless']:.1f} ({ratio:.1f}x) | report |"
        )
    if len(other) > 2:
        tasks = " ".join(t for t in args.tasks if t not in ("pendulum", "memory"))
        write_report(
            "recurrent_sac_other.md",
            "Recurrent SAC and recurrent policy search: other figures",
            f"recurrent_sac.py --tasks {tasks}",
            "each figure from this run.",
            "\n".join(other),
        )


if __name__ == "__main__":
    main()
