"""Runs one benchmark on an earlier commit and on the working tree, one after the other.

The earlier commit is checked out in a temporary git worktree and imported from there
(`PYTHONPATH`), with the same interpreter and packages; the benchmark's own script and examples
are those of each side, so each measures its own code. Both outputs are printed in full, one
after the other, for a before/after table; `--rounds 2` runs before, after, after, before, so
that a drift of the machine's speed hits both sides alike. What the earlier side writes to its
`media/` is discarded with its worktree.

    python benchmarks/before_after.py --base eb27b95 -- benchmarks/sac.py --tasks pendulum
    python benchmarks/before_after.py --base main~3 --rounds 2 -- benchmarks/driver_throughput.py
"""

from __future__ import annotations

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--rounds", type=int, default=1, choices=[1, 2])
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- script [arguments]")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark after `--`: -- benchmarks/sac.py --tasks pendulum")
    args.command = command
    return args


def run(label: str, tree: pathlib.Path, command: list[str]) -> float:
    environment = dict(os.environ, PYTHONPATH=str(tree), TF_CPP_MIN_LOG_LEVEL="2")
    print(f"\n===== {label}: {' '.join(command)} (in {tree}) =====", flush=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, *command], cwd=tree, env=environment, check=True)
    return time.perf_counter() - start


def main(argv=None) -> None:
    args = parse_args(argv)
    base = subprocess.run(
        ["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    with tempfile.TemporaryDirectory() as directory:
        before = pathlib.Path(directory) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(before), base], cwd=ROOT,
                       check=True, capture_output=True)  # fmt: skip
        try:
            sides = [(f"before ({base})", before), (f"after ({head} + working tree)", ROOT)]
            order = sides if args.rounds == 1 else [*sides, *reversed(sides)]
            for label, tree in order:
                wall = run(label, tree, args.command)
                print(f"===== {label}: {wall:.0f} s =====", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(before)], cwd=ROOT,
                           capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
