"""What the environment-output checks cost the Driver (issue 19): env-steps/s of the same Driver
and GRU-64 policy (`driver_throughput.py`'s) over three `GymEnv`s of the same task, in one
process, interleaved and repeated:

* `checked`: the default, `GymEnv(env_id, n)`: each sub-environment wrapped to name its index in
  errors and to check its first reset and step against the spaces, plus the batch-level check
  for NaN and infinite observations and rewards;
* `no finite check`: the same with `check_finite=False`;
* `bare`: a `GymEnv` over a plain gymnasium `SyncVectorEnv` (no wrapper at all) with
  `check_finite=False`: what the Driver costs with no checks of any kind.

Target: `checked` at least 0.98 of `bare` on CartPole at 32 envs. One TF thread (the setting
recommended for rollouts on 2 cores). Medians of `--repeats` runs of `--seconds` each; the
spread column is (max - min) / median of the `bare` runs, the noise to read the ratio against.

    python benchmarks/env_checks.py
    python benchmarks/env_checks.py --env-id HalfCheetah-v5 --num-envs 32
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

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


def measure(env_id: str, num_envs: int, seconds: float, repeats: int, chunk_steps: int) -> dict:
    import gymnasium as gym
    from driver_throughput import _policy, _timed

    from reinforceable.driver import Driver
    from reinforceable.envs import GymEnv

    envs = {
        "checked": GymEnv(env_id, num_envs, seed=0),
        "no finite check": GymEnv(env_id, num_envs, seed=0, check_finite=False),
        "bare": GymEnv(
            gym.vector.SyncVectorEnv([lambda: gym.make(env_id)] * num_envs), check_finite=False
        ),
    }
    chunk = chunk_steps * num_envs
    runs = {}
    for name, env in envs.items():
        driver = Driver(_policy(env), env, seed=0)
        runs[name] = lambda driver=driver: (driver.run(steps=chunk), chunk)[1]
        runs[name]()  # warm-up: tracing and caches
    results = {name: [] for name in runs}
    for repeat in range(repeats):
        order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
        for name in order:
            results[name].append(_timed(runs[name], seconds))
    for env in envs.values():
        env.close()
    return results


def main(argv=None) -> None:
    args = parse_args(argv)
    from reinforceable.training import configure_threads

    configure_threads(1, 1)
    print(
        "| env | envs | checked (steps/s) | no finite check | bare | checked / bare | "
        "no finite check / bare | spread of bare |"
    )
    print("|---|---|---|---|---|---|---|---|")
    verdicts = []
    for env_id in args.env_id:
        for num_envs in args.num_envs:
            runs = measure(env_id, num_envs, args.seconds, args.repeats, args.chunk)
            median = {name: statistics.median(values) for name, values in runs.items()}
            spread = (max(runs["bare"]) - min(runs["bare"])) / median["bare"]
            ratio = median["checked"] / median["bare"]
            print(
                f"| {env_id} | {num_envs} | {median['checked']:,.0f} | "
                f"{median['no finite check']:,.0f} | {median['bare']:,.0f} | {ratio:.3f} | "
                f"{median['no finite check'] / median['bare']:.3f} | {spread:.3f} |",
                flush=True,
            )
            verdicts.append((env_id, num_envs, ratio))
    print()
    for env_id, num_envs, ratio in verdicts:
        verdict = "met" if ratio >= TARGET else "MISSED"
        print(f"target {env_id} {num_envs} envs: checked / bare {ratio:.3f} >= {TARGET}: {verdict}")


if __name__ == "__main__":
    main()
