"""MPPI on Pendulum-v1 against pytorch-mppi, side by side, at the same K and H.

* Random starts: gymnasium's own initial states, reset seeds 0-19, one 200-step episode each.
  Ours plans the 20 episodes at once (`examples/mppi_pendulum.py`), once per bounds mode; the
  peer plans one episode at a time (`benchmarks/peers/pytorch_mppi_pendulum.py`, with the
  dynamics and cost of `../shared/peers/mppi_pendulum_latency.py`).
* Hanging start: every episode starts hanging at rest. Ours: 20 episodes per bounds mode; the
  peer: the one swing-up of `../shared/peers/mppi_pendulum_latency.py`.
* Latency, after compilation, two ways: (a) one call of the compiled planning step for one
  pendulum from Python, median over 200 calls (what the peer's script times around
  `MPPI.command`); (b) the time per control step of a 1-env Driver run of 200 steps, where the
  planner runs inside the loop's graph: it includes the env step, which the peer's figure does
  not. The peer's figure comes from its latency script.

Both use K = 1000, H = 30, σ = 1, λ = 1 and the same model.

* MuJoCo: `examples/mppi_mujoco.py` on InvertedPendulum-v5 with the simulator itself as the
  model (`rf.models.MujocoModel`): the return of one 1000-step episode and the control rate.
  There is no peer for this row.

Writes `media/mppi.md`.

    python benchmarks/mppi.py            # about 5 min
"""

from __future__ import annotations

import argparse
import pathlib
import re
import time

from _examples import figure, run_example, write_report
from _peers import PEERS, run_peer

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODES = ("squash", "truncate", "clamp")


def ours(start: str, bounds: str, k: int, h: int) -> tuple[float, str]:
    output = run_example(
        "mppi_pendulum.py", f"--start={start}", f"--bounds={bounds}", f"--num-samples={k}",
        f"--horizon={h}", "--episodes=20", run_dir=False,
    )  # fmt: skip
    result = figure(r"mean return ([-\d.]+)", output)
    within = re.search(r"actions within (\[[^\]]+\])", output).group(1)
    print(f"ours {start} {bounds}: {result:.1f}, actions {within}", flush=True)
    return result, within


def our_latency(k: int, h: int, calls: int = 200) -> float:
    import numpy as np
    import tensorflow as tf

    import reinforceable as rf
    from reinforceable.planning import MPPI, MPPIConfig

    rf.training.configure_threads(inter_op=2, intra_op=2)
    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=k, horizon=h))
    plan_step = tf.function(planner._plan)
    state, plan = tf.constant([[np.pi, 0.0]], tf.float32), planner.initial_plan(1)
    latencies = []
    for i in range(calls + 10):
        start = time.perf_counter()
        action, plan, _ = plan_step(state, plan, tf.constant([i, 0]))
        action.numpy()
        latencies.append(time.perf_counter() - start)
    return float(np.median(latencies[10:]) * 1e3)


def our_driver_step(k: int, h: int) -> float:
    import tensorflow as tf  # noqa: F401

    import reinforceable as rf
    from reinforceable.planning import MPPI, MPPIConfig

    planner = MPPI(rf.models.Pendulum(), MPPIConfig(num_samples=k, horizon=h))
    driver = rf.Driver(planner, rf.GymEnv("Pendulum-v1", num_envs=1, seed=0), [], seed=0)
    driver.run(200)  # compile
    times = []
    for _ in range(3):
        start = time.perf_counter()
        driver.run(200)
        times.append((time.perf_counter() - start) / 200 * 1e3)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-samples", type=int, default=1000)
    parser.add_argument("--horizon", type=int, default=30)
    args = parser.parse_args(argv)
    k, h = args.num_samples, args.horizon
    peer_random = run_peer(
        ROOT / "benchmarks" / "peers" / "pytorch_mppi_pendulum.py", k, h, 1.0, 0, 19
    )
    peer_random_mean = peer_random["mean_return"]
    print(f"pytorch-mppi, random starts: {peer_random}", flush=True)
    peer_timing = run_peer(PEERS / "mppi_pendulum_latency.py", k, h, 1.0)
    print(f"pytorch-mppi, latency and hanging start: {peer_timing}", flush=True)
    peer_latency = peer_timing["latency_ms_median"]
    peer_hanging = peer_timing["swingup_return"]

    random = {mode: ours("random", mode, k, h) for mode in MODES}
    hanging = {mode: ours("hanging", mode, k, h) for mode in MODES}
    mujoco_output = run_example("mppi_mujoco.py", run_dir=False)
    mujoco_return = figure(r"result: return ([-\d.]+)", mujoco_output)
    mujoco_rate = figure(r"control: ([\d.]+) steps/s", mujoco_output)
    print(f"ours MuJoCo InvertedPendulum: {mujoco_return:.1f}, {mujoco_rate:.1f} steps/s")
    latency = our_latency(k, h)
    in_driver = our_driver_step(k, h)
    print(
        f"ours latency: {latency:.2f} ms per call, {in_driver:.2f} ms per Driver step", flush=True
    )

    rows = [
        "| | reinforceable, squash | truncate | clamp | pytorch-mppi (clamps) |",
        "|---|---|---|---|---|",
        "| mean return, random starts (reset seeds 0-19) | "
        + " | ".join(f"{random[m][0]:.1f}" for m in MODES)
        + f" | {peer_random_mean:.1f} |",
        "| return from hanging (ours: mean of 20 episodes; peer: its one episode) | "
        + " | ".join(f"{hanging[m][0]:.1f}" for m in MODES)
        + f" | {peer_hanging:.1f} |",
        "| actions seen (bounds [-2, 2]) | "
        + " | ".join(f"{random[m][1]} / {hanging[m][1]}" for m in MODES)
        + " | |",
        f"| planning latency per step, one pendulum, a call from Python (ms, median) | "
        f"{latency:.2f} (ratio {latency / peer_latency:.2f}) | | | {peer_latency:.2f} |",
        f"| time per control step inside the Driver, env step included (ms) | "
        f"{in_driver:.2f} (ratio {in_driver / peer_latency:.2f}) | | | {peer_latency:.2f} |",
    ]
    rows.append(
        f"| InvertedPendulum-v5, MuJoCo simulator as the model (K=128, H=20): return of a "
        f"1000-step episode, control rate | {mujoco_return:.1f}, {mujoco_rate:.1f} steps/s | | | |"
    )
    table = "\n".join(rows)
    title = f"MPPI, Pendulum-v1, K={k}, H={h}"
    write_report("mppi.md", title, "mppi.py", "the peer in the same run.", table)


if __name__ == "__main__":
    main()
