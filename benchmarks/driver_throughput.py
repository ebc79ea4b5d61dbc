"""Driver throughput: env-steps/s of the graph-mode Driver against raw gymnasium and a Python loop.

Three ways to drive the same vector environment, in the same process, one after the other:

* raw: gymnasium's SyncVectorEnv / AsyncVectorEnv stepped with random actions
  (`env.action_space.sample()`), no policy at all: the ceiling;
* driver: `reinforceable.Driver` running a recurrent policy (Dense 64 -> GRU 64 -> action head)
  with its default observers, the whole loop inside one `tf.function`, in rollouts of `--chunk`
  steps per environment (256 by default, a typical PPO rollout);
* python loop: the same policy as a `tf.function` called once per step from a Python loop that
  steps the same `GymEnv` (how SB3 and CleanRL drive environments).

Each measurement runs for `--seconds`, the three are interleaved and repeated `--repeats` times,
and the table shows medians. Machines here are noisy, so read the ratios.

TensorFlow's thread pools are process-wide and must be set before TF starts, so each thread
setting runs in its own subprocess: `default` (TF's choice) and `1` (one inter-op and one
intra-op thread, recommended for rollouts on small CPUs: TF's idle threads otherwise spin and
compete with the Python environment step).

The second table (`--tables tfenv`) puts in-graph environments next to gymnasium: a `TFEnv` of
the Pendulum and CartPole models (their step, reward, termination and auto-reset in TF ops)
driven by a random policy and by the same GRU-64 policy, in the graph loop and with the whole
loop compiled by XLA (`Driver(..., jit_compile=True)`), against gymnasium's SyncVectorEnv of
`Pendulum-v1` and `CartPole-v1` with the same number of environments: stepped with random
actions (`action_space.sample()`), and driven by the Driver with the GRU policy. Target: at
1024 environments, the TFEnv with a random policy at least 10x gymnasium's random-action rate.

    python benchmarks/driver_throughput.py                      # both tables (about 20 min)
    python benchmarks/driver_throughput.py --envs CartPole-v1 --num-envs 32 --modes sync
    python benchmarks/driver_throughput.py --tables tfenv --threads default
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

TARGETS = {"CartPole-v1": 0.5, "HalfCheetah-v5": 0.8}
TASKS = {"Pendulum": "Pendulum-v1", "CartPole": "CartPole-v1"}  # model -> gymnasium task
TFENV_TARGET = 10.0  # TFEnv (random policy) / gymnasium (random actions) at 1024 envs


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "HalfCheetah-v5"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[8, 32, 64])
    parser.add_argument("--modes", nargs="+", default=["sync", "async"], choices=["sync", "async"])
    parser.add_argument("--threads", nargs="+", default=["default", "1"], choices=["default", "1"])
    parser.add_argument("--seconds", type=float, default=1.5, help="per measurement")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--chunk", type=int, default=256, help="vector steps per Driver.run (a rollout's length)"
    )
    parser.add_argument("--tables", nargs="+", default=["main", "tfenv"], choices=["main", "tfenv"])
    parser.add_argument("--tfenv-num-envs", nargs="+", type=int, default=[1, 64, 1024, 4096])
    parser.add_argument(
        "--tfenv-models", nargs="+", default=["Pendulum", "CartPole"], choices=list(TASKS)
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# --- worker: runs inside one TF thread configuration --------------------------------------------


def _policy(env):
    import keras

    import reinforceable as rf

    obs_shape = tuple(env.observation_spec.shape)
    observation = keras.Input((None, *obs_shape), name="observation")
    start = keras.Input((None,), dtype="bool", name="episode_start")
    x = keras.layers.Dense(64, activation="tanh")(observation)
    rnn = rf.StatefulRNN("gru", 64, name="rnn")
    state = rnn.state_inputs()
    x, final = rnn(x, reset_mask=start, initial_state=state, return_state=True)
    spec = env.action_spec
    if spec.dtype.is_integer:
        head = rf.DenseCategorical(int(env.action_space.n))(x)
    else:
        head = rf.DenseNormal(tuple(spec.shape), output_bounds=[-1.0, 1.0], hard_bounds=True)(x)
    value = keras.ops.squeeze(keras.layers.Dense(1)(x), -1)
    return keras.Model(
        {"observation": observation, "episode_start": start, "state": {"rnn": state}},
        {"action": head, "value": value, "state": {"rnn": list(final)}},
    )


def _timed(step_chunk, seconds: float) -> float:
    """Env-steps/s of repeated `step_chunk()` calls (each returns its env-step count)."""
    steps, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        steps += step_chunk()
    return steps / elapsed


def _measure_case(env_id, num_envs, mode, seconds, repeats, chunk_steps) -> dict:
    import gymnasium as gym
    import numpy as np
    import tensorflow as tf

    from reinforceable.driver import Driver, KerasPolicy
    from reinforceable.envs import GymEnv

    asynchronous = mode == "async"
    vector_class = gym.vector.AsyncVectorEnv if asynchronous else gym.vector.SyncVectorEnv
    raw = vector_class([lambda: gym.make(env_id)] * num_envs)
    raw.action_space.seed(0)
    raw.reset(seed=0)

    def raw_chunk(n=50):
        for _ in range(n):
            raw.step(raw.action_space.sample())
        return n * num_envs

    env = GymEnv(env_id, num_envs, asynchronous=asynchronous, seed=0)
    driver = Driver(_policy(env), env, seed=0)
    chunk = chunk_steps * num_envs

    def driver_chunk():
        driver.run(steps=chunk)
        return chunk

    loop_env = GymEnv(env_id, num_envs, asynchronous=asynchronous, seed=0)
    loop_policy = KerasPolicy(_policy(loop_env))
    timestep = loop_env.reset()
    loop_policy.build(tf.nest.map_structure(tf.convert_to_tensor, timestep))
    policy_step = tf.function(loop_policy.step, autograph=False)
    state = loop_policy.initial_state(num_envs)
    counter = [0]

    def loop_chunk(n=50):
        nonlocal timestep, state
        for _ in range(n):
            counter[0] += 1
            step = policy_step(
                tf.nest.map_structure(tf.convert_to_tensor, timestep),
                state,
                tf.constant([0, counter[0]], tf.int32),
            )
            state = step.state
            timestep = loop_env.step(tf.nest.map_structure(lambda a: a.numpy(), step.action))
        return n * num_envs

    for chunk_fn in (raw_chunk, driver_chunk, loop_chunk):  # warm-up: tracing, XLA, caches
        chunk_fn()
    results = {"raw": [], "driver": [], "python_loop": []}
    for _ in range(repeats):
        results["raw"].append(_timed(raw_chunk, seconds))
        results["driver"].append(_timed(driver_chunk, seconds))
        results["python_loop"].append(_timed(loop_chunk, seconds))
    raw.close()
    env.close()
    loop_env.close()
    del np
    return {key: statistics.median(values) for key, values in results.items()}


def _measure_tfenv(model_name, num_envs, seconds, repeats, chunk_steps) -> dict:
    """Env-steps/s of gymnasium's vector env of the task and of a TFEnv of its model."""
    import gymnasium as gym

    import reinforceable as rf

    model = getattr(rf.models, model_name)()
    raw = gym.vector.SyncVectorEnv([lambda: gym.make(TASKS[model_name])] * num_envs)
    raw.action_space.seed(0)
    raw.reset(seed=0)
    chunk = chunk_steps * num_envs

    raw_steps = max(1, 4096 // num_envs)

    def raw_chunk():
        for _ in range(raw_steps):
            raw.step(raw.action_space.sample())
        return raw_steps * num_envs

    cases = {"gym_random": raw_chunk}
    gym_env = rf.GymEnv(TASKS[model_name], num_envs, seed=0)
    gym_driver = rf.Driver(_policy(gym_env), gym_env, seed=0)
    gym_chunk = max(1, min(chunk_steps, 16384 // num_envs)) * num_envs
    cases["gym_gru"] = lambda: (gym_driver.run(steps=gym_chunk), gym_chunk)[1]
    for policy_name in ("random", "gru"):
        for jit in (False, True):
            env = rf.TFEnv(model, num_envs, seed=0)
            policy = rf.RandomPolicy(env.action_space) if policy_name == "random" else _policy(env)
            driver = rf.Driver(policy, env, seed=0, jit_compile=jit)
            name = f"tfenv_{policy_name}_{'xla' if jit else 'graph'}"
            cases[name] = lambda driver=driver: (driver.run(steps=chunk), chunk)[1]
    for run in cases.values():  # warm-up: tracing, XLA, caches
        run()
    results = {name: [] for name in cases}
    for _ in range(repeats):
        for name, run in cases.items():
            results[name].append(_timed(run, seconds))
    raw.close()
    gym_env.close()
    return {key: statistics.median(values) for key, values in results.items()}


def worker(args) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    if args.threads == ["1"]:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    if "tfenv" in args.tables:
        for model_name in args.tfenv_models:
            for num_envs in args.tfenv_num_envs:
                row = _measure_tfenv(model_name, num_envs, args.seconds, args.repeats, args.chunk)
                row.update(table="tfenv", model=model_name, num_envs=num_envs,
                           threads=args.threads[0])  # fmt: skip
                print("RESULT " + json.dumps(row), flush=True)
    if "main" not in args.tables:
        return
    for env_id in args.envs:
        for num_envs in args.num_envs:
            for mode in args.modes:
                row = _measure_case(env_id, num_envs, mode, args.seconds, args.repeats, args.chunk)
                row.update(env=env_id, num_envs=num_envs, mode=mode, threads=args.threads[0])
                row["table"] = "main"
                print("RESULT " + json.dumps(row), flush=True)


# --- parent: one subprocess per thread setting, then the table ----------------------------------


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    rows = []
    # One process per table and thread setting: what one table leaves behind (thousands of
    # environments, XLA programs, a large heap for the garbage collector) slows the next.
    for table in args.tables:
        for threads in args.threads:
            command = [
                sys.executable, __file__, "--worker", "--threads", threads, "--tables", table,
                "--envs", *args.envs, "--num-envs", *map(str, args.num_envs),
                "--modes", *args.modes, "--seconds", str(args.seconds),
                "--repeats", str(args.repeats), "--chunk", str(args.chunk),
                "--tfenv-num-envs", *map(str, args.tfenv_num_envs),
                "--tfenv-models", *args.tfenv_models,
            ]  # fmt: skip
            environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
            process = subprocess.run(command, capture_output=True, text=True, env=environment)
            found = [
                json.loads(line[7:])
                for line in process.stdout.splitlines()
                if line.startswith("RESULT ")
            ]
            if process.returncode != 0 or not found:
                sys.exit(f"worker ({table}, threads={threads}) failed:\n{process.stderr[-4000:]}")
            rows += found

    tfenv_rows = [r for r in rows if r["table"] == "tfenv"]
    rows = [r for r in rows if r["table"] == "main"]
    if rows:
        _print_main(rows)
    if tfenv_rows:
        _print_tfenv(tfenv_rows)


def _print_main(rows) -> None:
    print(
        "| env | envs | mode | TF threads | raw random (steps/s) | Driver (steps/s) "
        "| Python loop (steps/s) | Driver / raw | Driver / Python loop |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r['env']} | {r['num_envs']} | {r['mode']} | {r['threads']} | {r['raw']:,.0f} "
            f"| {r['driver']:,.0f} | {r['python_loop']:,.0f} | {r['driver'] / r['raw']:.2f} "
            f"| {r['driver'] / r['python_loop']:.2f} |"
        )
    print()
    for r in rows:
        target = TARGETS.get(r["env"])
        if target is not None and r["num_envs"] == 32:
            ratio = r["driver"] / r["raw"]
            verdict = "met" if ratio >= target else "MISSED"
            print(
                f"target {r['env']} 32 {r['mode']} threads={r['threads']}: Driver/raw "
                f"{ratio:.2f} >= {target}: {verdict}"
            )
    slower = [r for r in rows if r["driver"] <= r["python_loop"]]
    print(
        "Driver faster than the Python loop in every case: "
        + ("yes" if not slower else f"NO ({len(slower)} cases)")
    )
    print()


def _print_tfenv(rows) -> None:
    print(
        "| task | envs | TF threads | gymnasium random | gymnasium + GRU (Driver) "
        "| TFEnv random | TFEnv random, XLA | TFEnv GRU | TFEnv GRU, XLA "
        "| TFEnv random / gymnasium random | TFEnv GRU / gymnasium + GRU |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        random = max(r["tfenv_random_graph"], r["tfenv_random_xla"])
        gru = max(r["tfenv_gru_graph"], r["tfenv_gru_xla"])
        print(
            f"| {r['model']} | {r['num_envs']} | {r['threads']} | {r['gym_random']:,.0f} "
            f"| {r['gym_gru']:,.0f} | {r['tfenv_random_graph']:,.0f} "
            f"| {r['tfenv_random_xla']:,.0f} | {r['tfenv_gru_graph']:,.0f} "
            f"| {r['tfenv_gru_xla']:,.0f} | {random / r['gym_random']:.1f} "
            f"| {gru / r['gym_gru']:.1f} |"
        )
    print()
    for r in rows:
        if r["num_envs"] == 1024:
            ratio = max(r["tfenv_random_graph"], r["tfenv_random_xla"]) / r["gym_random"]
            verdict = "met" if ratio >= TFENV_TARGET else "MISSED"
            print(
                f"target TFEnv({r['model']}) 1024 threads={r['threads']}: TFEnv random / "
                f"gymnasium random {ratio:.1f} >= {TFENV_TARGET:.0f}: {verdict}"
            )


if __name__ == "__main__":
    main()
