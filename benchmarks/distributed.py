"""Rollouts on Ray: overhead, scaling, learning parity, and a scaling model (issue 21).

Tasks (`--tasks`, all by default), each side in a fresh process, one after the other:

* `overhead`: env-steps/s of one Ray runner (`RayRunners(1, ...)`, runners sampling without
  waiting, counted where the chunks arrive) against the in-process Driver, same env and policy,
  one TF thread each: HalfCheetah-v5 with 16 envs (PPO's MLP policy) and Pong with 8 envs (the
  Atari example's CNN + GRU). Target: >= 0.9x.
* `scaling`: 2 Ray runners against 1 on Pong (CNN + GRU, 8 envs each). Target: >= 1.6x.
* `ppo`: `examples/recurrent_ppo_cartpole.py` (CartPoleNoVel, 8 envs, 100k steps) in one process
  and with `--runners 2` (2 x 4 envs), `--seeds` each. Target: 500, wall-clock <= 1.2x.
* `sac`: `examples/sac_pendulum.py` (20k steps) in one process and with `--runners 2`
  (asynchronous, 1 env each). Target: >= -200, wall-clock <= 1.2x.
* `apex`: `examples/sac_pendulum.py` (20k steps, 2 asynchronous Ray runners) with the replay in
  the learner and with a Ray replay of its own that the runners fill (`--replay ray`), `--seeds`
  each. No target: the same returns, and the wall-clock it costs.
* `model`: the learner's update time per env step (PPO on Pong chunks), the broadcast cost of
  the CNN + GRU acting state and a runner's sampling rate, and from them the predicted
  throughput of 1 to 64 runners on 16-core machines. Needs `overhead` or `scaling` first.

Writes `media/distributed.md` (`--output` for another file in `media/`).

    python benchmarks/distributed.py                                  # about 45 minutes
    python benchmarks/distributed.py --tasks overhead scaling model --seconds 20
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import time

from _examples import MEDIA, figure, run_example

ROOT = pathlib.Path(__file__).resolve().parents[1]
TASKS = ("overhead", "scaling", "ppo", "sac", "apex", "model")
PONG_ENVS, CHEETAH_ENVS = 8, 16


def _worker(*args: str) -> dict:
    """Runs one of this script's workers in a fresh process; returns its JSON line."""
    command = [sys.executable, __file__, "--worker", *args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def pong_envs(num_envs: int, seed: int):
    """The Atari example's environments (AtariPreprocessing, 4 stacked frames), synchronous."""
    from recurrent_ppo_atari import make_env

    import reinforceable as rf

    return rf.GymEnv([lambda: make_env("ALE/Pong-v5")] * num_envs, seed=seed)


def _agent(task: str):
    """The learner whose actor is measured: PPO with the Atari example's CNN + GRU on Pong,
    or an MLP on HalfCheetah-v5."""
    import reinforceable as rf
    from reinforceable.agents import PPOConfig, RecurrentPPOAgent

    if task == "pong":
        from recurrent_ppo_atari import Args, make_agent

        agent = make_agent(Args(num_envs=PONG_ENVS, num_steps=128, units=256))
        return agent, pong_envs, PONG_ENVS
    env = rf.GymEnv("HalfCheetah-v5", CHEETAH_ENVS, seed=0)
    # SB3's standardised advantages, as when media/distributed.md was measured.
    config = PPOConfig(num_steps=128, batch_size=512, normalize_advantages=True, seed=0)
    agent = RecurrentPPOAgent(rf.networks.actor_critic(env, hidden=(64, 64)), env, config)
    env.close()
    return agent, "HalfCheetah-v5", CHEETAH_ENVS


def _ray_init(num_cpus: int = 2):
    import ray

    paths = [str(ROOT), str(ROOT / "examples"), str(ROOT / "benchmarks")]
    path = os.pathsep.join(paths + [p for p in [os.environ.get("PYTHONPATH")] if p])
    os.environ.setdefault("RAY_worker_niceness", "0")  # as RayRunners does when it starts Ray
    ray.init(
        num_cpus=num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3"}},
    )
    return ray


def _ray_rate(runners, seconds: float) -> tuple[float, float]:
    """(env-steps/s where the chunks arrive, mean env-steps/s inside the runners) over
    `seconds` of runners sampling without waiting (after every runner's second chunk)."""
    warm = {i: 0 for i in range(runners.num_runners)}
    while min(warm.values()) < 2:  # every runner compiled and running
        for chunk in runners.poll():
            warm[chunk.runner] += 1
    steps, inner, start = 0, [], time.perf_counter()
    while time.perf_counter() - start < seconds:
        chunks = runners.poll()
        steps += sum(chunk.steps for chunk in chunks)
        inner += [chunk.steps / chunk.seconds for chunk in chunks]
    return steps / (time.perf_counter() - start), statistics.mean(inner)


def throughput_worker(task: str, num_runners: int, seconds: float, rounds: int = 3) -> dict:
    """env-steps/s of `num_runners` Ray runners and (with `num_runners` 1) of the in-process
    Driver, same env and policy, one TF thread each, alternating in `rounds` rounds."""
    import reinforceable as rf

    rf.training.configure_threads(inter_op=1, intra_op=1)
    agent, env, num_envs = _agent(task)
    collection = agent.collection
    driver = None
    if num_runners == 1:
        made = rf.distributed.runner.make_env(env, num_envs, 0)
        driver = rf.Driver(agent.policy, made, seed=0, sequence_length=collection.sequence_length)
        collection.run(driver)  # compile
    ray = _ray_init()
    runners = rf.distributed.RayRunners(num_runners, env, num_envs, threads=1)
    runners.start(agent.blueprint(), collection, seed=0)
    state = agent.acting_state()
    runners.broadcast(state)
    local, remote, inner = [], [], []
    for _ in range(rounds):
        if driver is not None:
            steps, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / rounds:
                steps += int(collection.run(driver).reward.numpy().size)
            local.append(steps / (time.perf_counter() - start))
        rate, rate_inside = _ray_rate(runners, seconds / rounds)
        remote.append(rate)
        inner.append(rate_inside)
        ray.get(list(runners._in_flight))  # the runners idle while the Driver runs
        runners._in_flight.clear()
    # Broadcast to an idle runner: ray.put of the acting state, and its assignment there.
    start = time.perf_counter()
    for _ in range(5):
        ray.get(runners.actors[0].update.remote(ray.put(state)))
    broadcast = (time.perf_counter() - start) / 5
    runners.close()
    ray.shutdown()
    return {
        "driver_steps_per_s": statistics.mean(local) if local else math.nan,
        "steps_per_s": statistics.mean(remote),
        "runner_steps_per_s": statistics.mean(inner),
        "broadcast_s": broadcast,
        "state_mb": sum(value.nbytes for value in state.values()) / 1e6,
    }


def update_worker() -> dict:
    """Seconds per env step of the learner's PPO update on Pong chunks (2 TF threads)."""
    import reinforceable as rf

    rf.training.configure_threads(inter_op=2, intra_op=2)
    agent, _, num_envs = _agent("pong")
    made = pong_envs(num_envs, 0)
    driver = rf.Driver(agent.policy, made, seed=0, sequence_length=agent.collection.sequence_length)
    trajectory = agent.collection.run(driver)
    agent.set_budget(10**7)  # the learning-rate schedule's budget
    agent.train(trajectory)  # compile
    start, updates = time.perf_counter(), 3
    for _ in range(updates):
        agent.train(trajectory)
    elapsed = (time.perf_counter() - start) / updates
    return {
        "update_s": elapsed,
        "update_s_per_step": elapsed / int(trajectory.reward.shape[0] * num_envs),
    }


def _example(script: str, runners: int, seed: int, *extra: str) -> dict:
    output = run_example(script, f"--seed={seed}", f"--runners={runners}", "--resume=false", *extra)
    return {
        "wall_s": figure(r"training: ([\d.]+) s", output),
        "return": figure(r"evaluation return ([-\d.]+)", output),
    }


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b and math.isfinite(a) and math.isfinite(b) else "n/a"


def scaling_model(rate: float, update_per_step: float, broadcast: float, chunk: int) -> str:
    """Predicted env-steps/s of N runners (one core each, 15 per 16-core machine) feeding one
    learner: asynchronous (off-policy) `min(N r, 1/u)`; synchronous (on-policy)
    `N S / (S / r + b + N S u)` (collect, broadcast and update in turn), with r a runner's rate,
    u the learner's update seconds per env step, b the broadcast and S the steps per chunk."""
    rows = [
        "| runners | 16-core machines | async | sync (PPO) | async, learner 20x faster "
        "| sync, learner 20x faster |",
        "|---|---|---|---|---|---|",
    ]
    for n in (1, 2, 4, 8, 16, 32, 64):
        cells = []
        for u in (update_per_step, update_per_step / 20):
            cells.append(min(n * rate, 1.0 / u))
            cells.append(n * chunk / (chunk / rate + broadcast + n * chunk * u))
        rows.append(
            f"| {n} | {math.ceil(n / 15)} | {cells[0]:,.0f} | {cells[1]:,.0f} | "
            f"{cells[2]:,.0f} | {cells[3]:,.0f} |"
        )
    saturation = 1.0 / (update_per_step * rate)
    return "\n".join(rows) + (
        f"\n\nAn asynchronous learner saturates at 1/(u r) = {saturation:.1f} runners of this "
        f"rate ({20 * saturation:.0f} with a learner 20x faster, as a GPU might make it: not "
        "measured); beyond that more runners only add policy lag. A synchronous (PPO) learner "
        "approaches the same 1/u ceiling, and a runner idles while the learner updates. So on "
        "CPUs this PPO update (4 epochs over the CNN + GRU) is the bottleneck, not sampling."
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--seconds", type=float, default=30.0, help="per throughput figure")
    parser.add_argument("--output", default="distributed.md", help="file name in media/")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "throughput":
            result = throughput_worker(rest[0], int(rest[1]), float(rest[2]))
        else:
            result = update_worker()
        print(json.dumps(result))
        return

    sections, figures = [], {}
    seconds = str(args.seconds)
    if "overhead" in args.tasks:
        rows = [
            "| task | in-process Driver | 1 Ray runner | ratio (target >= 0.9) |",
            "|---|---|---|---|",
        ]
        for task, label in (("cheetah", f"HalfCheetah-v5, {CHEETAH_ENVS} envs, MLP"),
                            ("pong", f"Pong, {PONG_ENVS} envs, CNN + GRU")):  # fmt: skip
            result = _worker("throughput", task, "1", seconds)
            figures[task] = result
            rows.append(
                f"| {label} | {result['driver_steps_per_s']:,.0f} | "
                f"{result['steps_per_s']:,.0f} | "
                f"{_ratio(result['steps_per_s'], result['driver_steps_per_s'])} |"
            )
            print(rows[-1], flush=True)
        sections.append(
            "## Overhead (env-steps/s; both sides in one process, alternating in 3 rounds)\n\n"
            + "\n".join(rows)
        )
    if "scaling" in args.tasks:
        one = figures.get("pong") or _worker("throughput", "pong", "1", seconds)
        two = _worker("throughput", "pong", "2", seconds)
        figures["pong"] = one
        table = (
            "| Pong, CNN + GRU, 8 envs per runner | env-steps/s |\n|---|---|\n"
            f"| 1 runner | {one['steps_per_s']:,.0f} |\n| 2 runners | {two['steps_per_s']:,.0f} |\n"
            f"| ratio (target >= 1.6) | {_ratio(two['steps_per_s'], one['steps_per_s'])} |"
        )
        print(table, flush=True)
        sections.append("## Scaling on this machine (2 cores)\n\n" + table)
    for task, script, target in (("ppo", "recurrent_ppo_cartpole.py", "500"),
                                 ("sac", "sac_pendulum.py", ">= -200")):  # fmt: skip
        if task not in args.tasks:
            continue
        rows = [
            "| seed | one process: return | wall s | 2 runners: return | wall s | wall ratio |",
            "|---|---|---|---|---|---|",
        ]
        results = {0: [], 2: []}
        for seed in args.seeds:
            one, two = _example(script, 0, seed), _example(script, 2, seed)
            results[0].append(one)
            results[2].append(two)
            rows.append(
                f"| {seed} | {one['return']:.1f} | {one['wall_s']:.0f} | {two['return']:.1f} | "
                f"{two['wall_s']:.0f} | {_ratio(two['wall_s'], one['wall_s'])} |"
            )
            print(rows[-1], flush=True)
        mean = {k: {f: statistics.mean(r[f] for r in v) for f in ("return", "wall_s")}
                for k, v in results.items()}  # fmt: skip
        rows.append(
            f"| mean | {mean[0]['return']:.1f} | {mean[0]['wall_s']:.0f} | "
            f"{mean[2]['return']:.1f} | {mean[2]['wall_s']:.0f} | "
            f"{_ratio(mean[2]['wall_s'], mean[0]['wall_s'])} |"
        )
        title = "PPO, CartPoleNoVel, 100k steps, 2 runners x 4 envs" if task == "ppo" else (
            "SAC, Pendulum-v1, 20k steps, 2 asynchronous runners x 1 env")  # fmt: skip
        sections.append(
            f"## Learning parity: {title} (target {target}, wall <= 1.2x)\n\n" + "\n".join(rows)
        )
    if "apex" in args.tasks:
        rows = [
            "| seed | replay in the learner: return | wall s | Ray replay: return | wall s "
            "| wall ratio |",
            "|---|---|---|---|---|---|",
        ]
        for seed in args.seeds:
            one = _example("sac_pendulum.py", 2, seed)
            two = _example("sac_pendulum.py", 2, seed, "--replay=ray")
            rows.append(
                f"| {seed} | {one['return']:.1f} | {one['wall_s']:.0f} | {two['return']:.1f} | "
                f"{two['wall_s']:.0f} | {_ratio(two['wall_s'], one['wall_s'])} |"
            )
            print(rows[-1], flush=True)
        sections.append(
            "## A replay of its own (Ape-X): SAC, Pendulum-v1, 20k steps, 2 asynchronous Ray "
            "runners x 1 env\n\n" + "\n".join(rows)
        )
    if "model" in args.tasks and "pong" in figures:
        pong = figures["pong"]
        update = _worker("update")
        text = (
            f"Measured here: a runner samples Pong at {pong['runner_steps_per_s']:,.0f} env-steps/s"
            f" (8 envs, CNN + GRU, 1 thread); the learner's PPO update (4 epochs) costs "
            f"{update['update_s_per_step'] * 1e3:.3f} ms per env step (2 threads); a broadcast "
            f"of the {pong['state_mb']:.1f} MB acting state (put, fetch, assign) "
            f"{pong['broadcast_s'] * 1e3:.0f} ms.\n\n"
            + scaling_model(
                pong["runner_steps_per_s"],
                update["update_s_per_step"],
                pong["broadcast_s"],
                PONG_ENVS * 128,
            )
        )
        print(text, flush=True)
        sections.append("## Scaling model (Pong, 16-core machines)\n\n" + text)
    MEDIA.mkdir(exist_ok=True)
    (MEDIA / args.output).write_text(
        "# Rollouts on Ray (issue 21)\n\nMeasured by `python benchmarks/distributed.py --tasks "
        f"{' '.join(args.tasks)}` on a 2-core CPU machine, one process at a time.\n\n"
        + "\n\n".join(sections)
        + "\n"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "examples"))
    main()
