"""A run directory's files, apart from the checkpoints' contents: its layout checked before a
run starts, `progress.csv` read back on resume, and unreadable checkpoints moved aside."""

from __future__ import annotations

import csv
import pathlib

__all__ = ["PROGRESS_FILE", "CheckpointError", "check_run_dir", "move_aside", "read_progress"]

PROGRESS_FILE = "progress.csv"


class CheckpointError(RuntimeError):
    """No checkpoint of a run can be read (each was moved aside as `*.unreadable`)."""


def check_run_dir(run_dir: pathlib.Path) -> None:
    """Creates `run_dir` and `run_dir/checkpoints`, so that a run directory that cannot hold a
    run fails before training, not at the first save.

    Raises:
        ValueError: If `run_dir`, its `checkpoints` entry or its `progress.csv` is of the wrong
            kind (a file where a directory belongs, or the reverse), or a directory cannot be
            created or written to, naming the path.
    """
    expected = {run_dir: "directory", run_dir / "checkpoints": "directory",
                run_dir / PROGRESS_FILE: "file"}  # fmt: skip
    for path, kind in expected.items():
        if path.exists() and (path.is_dir() != (kind == "directory")):
            found = "a directory" if path.is_dir() else "a file"
            raise ValueError(
                f"Trainer: `run_dir` {run_dir} cannot hold a run: {path} must be a {kind}, but "
                f"it is {found}. Remove it, or choose another run_dir."
            )
    try:
        (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ValueError(
            f"Trainer: `run_dir` {run_dir} cannot be created: {error.strerror} ({error.filename})."
        ) from None
    for directory in (run_dir, run_dir / "checkpoints"):
        probe = directory / ".write-test"
        try:
            probe.touch()
            probe.unlink()
        except OSError as error:
            raise ValueError(
                f"Trainer: `run_dir` {run_dir} cannot hold a run: {directory} is not writable "
                f"({error.strerror})."
            ) from None


def move_aside(prefix: str) -> list[str]:
    """Renames a checkpoint's files to `<file>.unreadable` (keeping any earlier such copy)."""
    moved = []
    for file in sorted(pathlib.Path(prefix).parent.glob(pathlib.Path(prefix).name + ".*")):
        if file.suffix == ".unreadable":
            continue
        target = file.with_name(file.name + ".unreadable")
        number = 1
        while target.exists():
            target, number = file.with_name(f"{file.name}.unreadable-{number}"), number + 1
        file.rename(target)
        moved.append(target.name)
    return moved


def read_progress(run_dir: pathlib.Path) -> list[dict[str, float]]:
    """The rows of `run_dir/progress.csv` as floats; a row cut short by a kill is dropped."""
    path = run_dir / PROGRESS_FILE
    if not path.exists():
        return []
    rows = []
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            try:
                rows.append({k: float(v) for k, v in row.items() if v not in ("", None)})
            except (TypeError, ValueError):
                continue
            if None in row.values() or "iteration" not in rows[-1]:
                rows.pop()
    return rows
