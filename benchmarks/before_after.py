"""Runs one benchmark on an earlier commit and on a later one (or the working tree), in one run.

Each commit is checked out in a temporary git worktree and imported from there (`PYTHONPATH`),
with the same interpreter and packages; the benchmark's own script and examples are those of each
side, so each measures its own code. Both outputs are printed in full, one after the other, for a
before/after table; `--rounds 2` runs before, after, after, before, so that a drift of the
machine's speed hits both sides alike. What the earlier side writes to its `media/` is discarded;
what the later side's run writes (files that differ from its commit) is copied into this tree's
`media/`. With `--after` (a commit), the working tree can change while the benchmark runs.

    python benchmarks/before_after.py --base eb27b95 -- benchmarks/sac.py --tasks pendulum
    python benchmarks/before_after.py --base main~3 --after HEAD -- benchmarks/driver_throughput.py
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, help="the earlier commit (any git revision)")
    parser.add_argument("--after", help="the later commit; the working tree if not given")
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


def _revision(name: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", name], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip


def _committed(revision: str, path: str) -> bytes | None:
    """The file's content at `revision`, `None` if it has none."""
    result = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=ROOT, capture_output=True)
    return result.stdout if result.returncode == 0 else None


def _checkout(revision: str, path: pathlib.Path) -> pathlib.Path:
    subprocess.run(["git", "worktree", "add", "--detach", str(path), revision], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    return path


def main(argv=None) -> None:
    args = parse_args(argv)
    base = _revision(args.base)
    with tempfile.TemporaryDirectory() as directory:
        # The peers' scripts are found next to the checkout (`../shared/peers`): link them.
        shared = ROOT.parent / "shared"
        if shared.exists():
            (pathlib.Path(directory) / "shared").symlink_to(shared)
        trees = [_checkout(base, pathlib.Path(directory) / "before")]
        try:
            if args.after:
                after = _revision(args.after)
                trees.append(_checkout(after, pathlib.Path(directory) / "after"))
                sides = [(f"before ({base})", trees[0]), (f"after ({after})", trees[1])]
            else:
                head = _revision("HEAD")
                sides = [(f"before ({base})", trees[0]), (f"after ({head} + working tree)", ROOT)]
            order = sides if args.rounds == 1 else [*sides, *reversed(sides)]
            for label, tree in order:
                wall = run(label, tree, args.command)
                print(f"===== {label}: {wall:.0f} s =====", flush=True)
            if args.after:  # what the later side's run wrote in its media/ goes to this tree's
                for file in (trees[1] / "media").iterdir():
                    if file.read_bytes() == _committed(after, f"media/{file.name}"):
                        continue  # not written by the run
                    shutil.copyfile(file, ROOT / "media" / file.name)
                    print(f"media/{file.name} written", flush=True)
        finally:
            for tree in trees:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT,
                               capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
