"""Raw Atari stepping (random actions, env-steps/s): ale-py's C++ `AtariVectorEnv`, envpool and
gymnasium's Python wrappers, with the same preprocessing (frame skip 4, max-pool, 84x84 grayscale,
4 stacked frames, no-op starts, clipped rewards).

Rows: ale-py's vector env bare and behind `rf.envs.atari_env` (the `GymEnv` the Driver steps),
gymnasium's `AtariPreprocessing` + `FrameStackObservation` stepped in process and in an
`AsyncVectorEnv` (through `atari_env(backend="gymnasium")`), and envpool 1.2.5 bare (the last
release with a Python 3.11 wheel; it runs in a venv of its own, built on first use in
`~/.cache/reinforceable-envpool`, since the project does not depend on it). C++ backends get
`--threads` threads (default: one per core). Each cell runs in a fresh process, `--repeats`
times interleaved; the table gives the median. Writes `media/atari_envs.md`.

    python benchmarks/atari_envs.py                      # Pong, 8 and 32 envs
    python benchmarks/atari_envs.py --num-envs 8 --seconds 5
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
ENVPOOL_VENV = pathlib.Path.home() / ".cache" / "reinforceable-envpool" / "venv"
ROWS = {
    "ale": "ale-py AtariVectorEnv (C++), bare",
    "ale_gymenv": "ale-py AtariVectorEnv behind rf.envs.atari_env (GymEnv)",
    "envpool": "envpool 1.2.5 (C++), bare",
    "gymnasium_sync": "gymnasium wrappers, in process (GymEnv: LeanSyncVectorEnv)",
    "gymnasium_async": "gymnasium wrappers, AsyncVectorEnv (GymEnv)",
}


def envpool_python() -> str:
    """The python of a venv with envpool 1.2.5 (made on first use, about a minute)."""
    python = ENVPOOL_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(ENVPOOL_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "envpool==1.2.5"], check=True)
    return str(python)


def _measure(step, reset, actions, seconds: float) -> float:
    reset()
    for action in actions[:20]:  # warm up: first frames, thread start
        step(action)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for action in actions:
            step(action)
        steps += len(actions) * len(actions[0])
    return steps / (time.perf_counter() - start)


def worker(kind: str, game: str, num_envs: int, threads: int, seconds: float) -> float:
    """Env-steps/s of one backend (runs in its own process)."""
    import numpy as np

    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 6, num_envs).astype(np.int32) for _ in range(100)]
    if kind == "envpool":
        import envpool

        env = envpool.make(
            f"{game}-v5",
            env_type="gymnasium",
            num_envs=num_envs,
            batch_size=num_envs,
            num_threads=threads,
            seed=0,
            episodic_life=False,
            reward_clip=True,
            repeat_action_probability=0.25,
        )
        return _measure(env.step, env.reset, actions, seconds)
    if kind == "ale":
        from ale_py.vector_env import AtariVectorEnv

        env = AtariVectorEnv(
            game.lower(), num_envs, num_threads=threads, repeat_action_probability=0.25
        )
        return _measure(env.step, lambda: env.reset(seed=0), actions, seconds)
    import reinforceable as rf

    if kind == "ale_gymenv":
        env = rf.envs.atari_env(game, num_envs, seed=0, num_threads=threads)
    else:
        asynchronous = kind == "gymnasium_async"
        env = rf.envs.atari_env(
            game, num_envs, seed=0, backend="gymnasium", asynchronous=asynchronous
        )
    try:
        return _measure(env.step, env.reset, actions, seconds)
    finally:
        env.close()


def measure(kind: str, game: str, num_envs: int, threads: int, seconds: float) -> float:
    python = envpool_python() if kind == "envpool" else sys.executable
    command = [python, __file__, "--worker", kind, game, str(num_envs), str(threads), str(seconds)]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    output = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    return json.loads(output.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="Pong")
    parser.add_argument("--num-envs", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, game, num_envs, threads, seconds = args.worker
        print(json.dumps(worker(kind, game, int(num_envs), int(threads), float(seconds))))
        return

    results = {(kind, n): [] for kind in ROWS for n in args.num_envs}
    for repeat in range(args.repeats):
        for kind, n in results:
            rate = measure(kind, args.game, n, args.threads, args.seconds)
            results[kind, n].append(rate)
            print(f"repeat {repeat}: {kind}, {n} envs: {rate:,.0f} env-steps/s", flush=True)
    header = " | ".join(f"{n} envs" for n in args.num_envs)
    rows = [f"| {args.game}, env-steps/s | {header} |", "|---" * (len(args.num_envs) + 1) + "|"]
    for kind, name in ROWS.items():
        cells = " | ".join(f"{statistics.median(results[kind, n]):,.0f}" for n in args.num_envs)
        rows.append(f"| {name} | {cells} |")
    best = {
        n: statistics.median(results["ale", n]) / statistics.median(results["envpool", n])
        for n in args.num_envs
    }
    rows.append(
        "| ale-py bare / envpool bare | "
        + " | ".join(f"{best[n]:.2f}" for n in args.num_envs)
        + " |"
    )
    table = "\n".join(rows)
    print("\n" + table)
    (ROOT / "media").mkdir(exist_ok=True)
    (ROOT / "media" / "atari_envs.md").write_text(
        "# Raw Atari stepping: ale-py's C++ vector env, envpool and gymnasium's wrappers\n\n"
        f"Measured by `python benchmarks/atari_envs.py` on a {os.cpu_count()}-core CPU machine: "
        f"random actions, {args.threads} threads for the C++ backends, median of "
        f"{args.repeats} interleaved {args.seconds:g}-second runs, each in a fresh process.\n\n"
        + table
        + "\n"
    )


if __name__ == "__main__":
    main()
