"""SAC on MuJoCo at the standard budget: HalfCheetah-v5, Hopper-v5 and Walker2d-v5 at 1M env
steps, next to the published figures users compare with.

Each run is `examples/sac_mujoco.py` (standard SAC: 256x256 networks, learning rate 3e-4, batch
256, 10k random warm-up steps, one update per env step) in a run directory of its own under
`--runs` (default `runs/sac_mujoco_1m/<env>-seed<s>`), resumed from its last checkpoint when the
script is started again: a 1M-step run takes hours on 2 cores, so it may span several sittings
(`nohup python benchmarks/sac_mujoco_1m.py &`). The wall-clock of every sitting is added up in
`sittings.json` in the run directory. When a run has reached its budget, its final
deterministic evaluation (10 episodes), the summed wall-clock and its learning curve go to
`media/sac_mujoco_1m.md` and `media/sac_mujoco_1m_<env>.png`; unfinished runs are listed with
the steps they have reached.

Published 1M-step figures (not rerun here): RL Zoo SAC (SB3, v3 envs) 9,535 / 2,326 / 3,863;
CleanRL SAC (v4 envs) 9,635 / 2,310 / 3,591 for HalfCheetah / Hopper / Walker2d.

    python benchmarks/sac_mujoco_1m.py                            # all three, seed 0
    python benchmarks/sac_mujoco_1m.py --envs HalfCheetah-v5 --seeds 0 1 2 --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import math
import pathlib
import re
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEDIA = ROOT / "media"
PUBLISHED = {  # RL Zoo (SB3, v3), CleanRL (v4); 1M steps
    "HalfCheetah-v5": (9535, 9635),
    "Hopper-v5": (2326, 2310),
    "Walker2d-v5": (3863, 3591),
}


def run_dir(runs: pathlib.Path, env_id: str, seed: int) -> pathlib.Path:
    return runs / f"{env_id}-seed{seed}"


def sit(env_id: str, seed: int, steps: int, directory: pathlib.Path) -> dict:
    """One sitting of a run: resumes it, trains to `steps`, records the wall-clock.

    The sitting is recorded in `sittings.json` before it starts; a sitting that was killed (the
    machine stopped) is closed at the next one with its log's last write as its end.
    """
    directory.mkdir(parents=True, exist_ok=True)
    log_path, sittings = directory / "log.txt", directory / "sittings.json"
    record = json.loads(sittings.read_text()) if sittings.exists() else []
    for sitting in record:
        if sitting["seconds"] is None and log_path.exists():
            sitting["seconds"] = max(0.0, log_path.stat().st_mtime - sitting["start"])
            sitting["exit"] = "killed"
    start = time.time()
    record.append({"start": start, "seconds": None, "exit": None})
    sittings.write_text(json.dumps(record, indent=1))
    command = [
        sys.executable,
        str(ROOT / "examples" / "sac_mujoco.py"),
        f"--env-id={env_id}",
        f"--total-steps={steps}",
        f"--seed={seed}",
        f"--run-dir={directory}",
        "--eval-episodes=10",
        "--resume=true",
    ]
    with open(log_path, "a") as log:
        offset = log.tell()
        returncode = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT).returncode
    record[-1].update(seconds=time.time() - start, exit=returncode)
    sittings.write_text(json.dumps(record, indent=1))
    if returncode != 0:
        raise RuntimeError(f"{env_id} seed {seed}: exit {returncode}; see {log_path}")
    with open(log_path) as log:
        log.seek(offset)
        final = re.search(r"evaluation return ([-\d.]+) over", log.read())
    return {"final": float(final.group(1)) if final else float("nan")}


def progress(directory: pathlib.Path) -> dict:
    """What a run's files say: steps reached, the last evaluation, the summed wall-clock."""
    rows = []
    if (directory / "progress.csv").exists():
        with open(directory / "progress.csv") as file:
            rows = list(csv.DictReader(file))
    sittings = directory / "sittings.json"
    record = json.loads(sittings.read_text()) if sittings.exists() else []
    evaluations = [float(r.get("eval/episode_return") or "nan") for r in rows]
    evaluations = [e for e in evaluations if not math.isnan(e)]
    return {
        "steps": int(float(rows[-1]["env_steps"])) if rows else 0,
        "last_eval": evaluations[-1] if evaluations else float("nan"),
        "seconds": sum(sitting["seconds"] or 0.0 for sitting in record),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", nargs="+", default=list(PUBLISHED))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--runs", type=pathlib.Path, default=ROOT / "runs" / "sac_mujoco_1m")
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time")
    parser.add_argument("--report-only", action="store_true", help="write the table, train none")
    args = parser.parse_args(argv)

    runs = [(env_id, seed) for env_id in args.envs for seed in args.seeds]
    finals = {}
    if not args.report_only:

        def one(item):
            env_id, seed = item
            try:
                return item, sit(env_id, seed, args.steps, run_dir(args.runs, env_id, seed))
            except Exception as error:  # one failed run must not stop the others
                print(item, "failed:", error, flush=True)
                return item, None

        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            for item, result in pool.map(one, runs):
                print(item, result, flush=True)
                if result is not None:
                    finals[item] = result["final"]

    rows = [
        "| task, seed | env steps reached | final evaluation (10 episodes) | last evaluation "
        "in training | wall-clock (h, all sittings) | RL Zoo / CleanRL at 1M |",
        "|---|---|---|---|---|---|",
    ]
    for env_id, seed in runs:
        directory = run_dir(args.runs, env_id, seed)
        state = progress(directory)
        done = state["steps"] >= args.steps
        final = finals.get((env_id, seed))
        final_text = f"{final:,.1f}" if done and final is not None else "not finished"
        zoo, cleanrl = PUBLISHED.get(env_id, (float("nan"),) * 2)
        rows.append(
            f"| {env_id}, {seed} | {state['steps']:,} | {final_text} | "
            f"{state['last_eval']:,.1f} | {state['seconds'] / 3600:.1f} | {zoo:,} / {cleanrl:,} |"
        )
        curve = directory / "learning_curve.png"
        if curve.exists():
            MEDIA.mkdir(exist_ok=True)
            shutil.copy(curve, MEDIA / f"sac_mujoco_1m_{env_id}_seed{seed}.png")
    table = "\n".join(rows)
    print(table)
    MEDIA.mkdir(exist_ok=True)
    (MEDIA / "sac_mujoco_1m.md").write_text(
        "# SAC on MuJoCo at 1M env steps\n\n"
        "Measured by `python benchmarks/sac_mujoco_1m.py` (`examples/sac_mujoco.py`, standard "
        "SAC settings) on a 2-core CPU machine, resumed across sittings; the published figures "
        "are the RL Zoo's (SB3, v3 envs) and CleanRL's (v4 envs), not rerun here. Learning "
        "curves: `media/sac_mujoco_1m_<env>_seed<s>.png`.\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
