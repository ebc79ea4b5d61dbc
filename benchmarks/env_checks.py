"""What the environment checks cost the Driver (issue 19): env-steps/s of the same Driver, with
the same GRU-64 policy weights (`driver_throughput.py`'s policy), seeds and so the very same
episodes, over four `GymEnv`s of the same task, in one process, interleaved and repeated:

* `checked`: the default, `GymEnv(env_id, n)`: every sub-environment's first reset and step
  checked against the spaces, errors that name the env, and the check for NaN and infinite
  observations and rewards (TF ops on the step's outputs inside the Driver's graph);
* `no finite check`: the same with `check_finite=False`;
* `names only`: the GymEnv as it was before issue 19: sub-environments wrapped only so that
  their errors name their index;
* `bare`: a `GymEnv` over a plain gymnasium `SyncVectorEnv`, no wrapper, no check.

Target (issue 19, item 1): the output checks cost at most 2% of the Driver's throughput on
CartPole at 32 envs, that is `no finite check / names only >= 0.98`. The non-finite check
(item 2, on by default, `check_finite=False` to opt out) is reported as `checked / no finite
check`. The spread column, (max - min) / median of the `names only` runs, is the noise to read
the ratios against. A second table times the NumPy `step` alone
(microseconds per vector step), where the finite check runs in NumPy. One TF thread (the setting
recommended for rollouts on 2 cores).

    python benchmarks/env_checks.py
    python benchmarks/env_checks.py --env-id HalfCheetah-v5 --num-envs 32
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

TARGET = 0.98


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env-id", nargs="+", default=["CartPole-v1"])
    parser.add_argument("--num-envs", nargs="+", type=int, default=[32])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--chunk", type=int, default=256)
    return parser.parse_args(argv)


def _names_only(env):
    """The GymEnv as it was before issue 19: sub-environments wrapped only to name their index
    in errors (the first-step checks switched off before any step)."""
    for sub_env in env._env.envs:
        sub_env.check_step = sub_env.check_reset = False
    return env


def measure(env_id: str, num_envs: int, seconds: float, repeats: int, chunk_steps: int):
    import gymnasium as gym
    import numpy as np
    from driver_throughput import _policy, _timed

    from reinforceable.driver import Driver
    from reinforceable.envs import GymEnv

    envs = {
        "checked": GymEnv(env_id, num_envs, seed=0),
        "no finite check": GymEnv(env_id, num_envs, seed=0, check_finite=False),
        "names only": _names_only(GymEnv(env_id, num_envs, seed=0, check_finite=False)),
        "bare": GymEnv(
            gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * num_envs),
            seed=0,
            check_finite=False,
        ),
    }
    chunk = chunk_steps * num_envs
    runs = {}
    # The same weights, env seeds and Driver seed: every variant steps the very same episodes
    # (episode lengths, and so resets, differ between random policies and would bias the rates).
    weights = None
    for name, env in envs.items():
        policy = _policy(env)
        if weights is None:
            weights = policy.get_weights()
        policy.set_weights(weights)
        driver = Driver(policy, env, seed=0)
        runs[name] = lambda driver=driver: (driver.run(steps=chunk), chunk)[1]
        runs[name]()  # warm-up: tracing and caches
    results = {name: [] for name in runs}
    for repeat in range(repeats):
        order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
        for name in order:
            results[name].append(_timed(runs[name], seconds))
    # The environment step alone, without the Driver: microseconds per vector step.
    action = [np.zeros(num_envs, envs["bare"].action_spec.dtype.as_numpy_dtype)]
    step_times = {name: [] for name in envs}
    for repeat in range(repeats):
        order = list(envs) if repeat % 2 == 0 else list(reversed(envs))
        for name in order:
            envs[name].reset()
            start = time.perf_counter()
            for _ in range(2000):
                envs[name]._step_arrays(action)
            step_times[name].append((time.perf_counter() - start) / 2000 * 1e6)
    for env in envs.values():
        env.close()
    return results, step_times


def main(argv=None) -> None:
    args = parse_args(argv)
    from reinforceable.training import configure_threads

    configure_threads(1, 1)
    rows = []
    for env_id in args.env_id:
        for num_envs in args.num_envs:
            runs, step_times = measure(env_id, num_envs, args.seconds, args.repeats, args.chunk)
            rate = {name: statistics.median(values) for name, values in runs.items()}
            micros = {name: statistics.median(values) for name, values in step_times.items()}
            base = runs["names only"]
            spread = (max(base) - min(base)) / rate["names only"]
            rows.append((env_id, num_envs, rate, spread, micros))
    names = ["checked", "no finite check", "names only", "bare"]
    print(
        "| env | envs | " + " | ".join(f"{n} (steps/s)" for n in names)
        + " | output checks: no finite check / names only | finite check: checked / no finite "
        "check | all: checked / names only | spread |"
    )  # fmt: skip
    print("|---|---|" + "---|" * (len(names) + 4))
    for env_id, num_envs, rate, spread, _ in rows:
        print(
            f"| {env_id} | {num_envs} | "
            + " | ".join(f"{rate[n]:,.0f}" for n in names)
            + f" | {rate['no finite check'] / rate['names only']:.3f}"
            f" | {rate['checked'] / rate['no finite check']:.3f}"
            f" | {rate['checked'] / rate['names only']:.3f} | {spread:.3f} |"
        )
    print()
    print("| env | envs | " + " | ".join(f"NumPy step, {n} (us)" for n in names) + " |")
    print("|---|---|" + "---|" * len(names))
    for env_id, num_envs, _, _, micros in rows:
        print(f"| {env_id} | {num_envs} | " + " | ".join(f"{micros[n]:.1f}" for n in names) + " |")
    print()
    for env_id, num_envs, rate, _, _ in rows:
        ratio = rate["no finite check"] / rate["names only"]
        verdict = "met" if ratio >= TARGET else "MISSED"
        print(f"target {env_id} {num_envs} envs: output checks, no finite check / names only "
              f"{ratio:.3f} >= {TARGET}: {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
