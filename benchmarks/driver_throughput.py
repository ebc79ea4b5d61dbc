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

    python benchmarks/driver_throughput.py                      # the full table (about 15 min)
    python benchmarks/driver_throughput.py --envs CartPole-v1 --num-envs 32 --modes sync
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
    x = rf.StatefulRNN("gru", 64)(x, reset_mask=start)
    spec = env.action_spec
    if spec.dtype.is_integer:
        head = rf.DenseCategorical(int(env.action_space.n))(x)
    else:
        head = rf.DenseNormal(tuple(spec.shape), output_bounds=[-1.0, 1.0], hard_bounds=True)(x)
    value = keras.ops.squeeze(keras.layers.Dense(1)(x), -1)
    return keras.Model(
        {"observation": observation, "episode_start": start}, {"action": head, "value": value}
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


def worker(args) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import tensorflow as tf

    if args.threads == ["1"]:
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.config.threading.set_intra_op_parallelism_threads(1)
    for env_id in args.envs:
        for num_envs in args.num_envs:
            for mode in args.modes:
                row = _measure_case(env_id, num_envs, mode, args.seconds, args.repeats, args.chunk)
                row.update(env=env_id, num_envs=num_envs, mode=mode, threads=args.threads[0])
                print("RESULT " + json.dumps(row), flush=True)


# --- parent: one subprocess per thread setting, then the table ----------------------------------


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    rows = []
    for threads in args.threads:
        command = [
            sys.executable, __file__, "--worker", "--threads", threads,
            "--envs", *args.envs, "--num-envs", *map(str, args.num_envs),
            "--modes", *args.modes, "--seconds", str(args.seconds), "--repeats", str(args.repeats),
            "--chunk", str(args.chunk),
        ]  # fmt: skip
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        process = subprocess.run(command, capture_output=True, text=True, env=environment)
        found = [
            json.loads(line[7:])
            for line in process.stdout.splitlines()
            if line.startswith("RESULT ")
        ]
        if process.returncode != 0 or not found:
            sys.exit(f"worker (threads={threads}) failed:\n{process.stderr[-4000:]}")
        rows += found

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


if __name__ == "__main__":
    main()
