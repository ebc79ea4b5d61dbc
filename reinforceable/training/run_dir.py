"""A run directory's files, apart from the checkpoints' contents: its layout checked before a
run starts, `progress.csv` read back on resume, and the newest readable checkpoint restored
(unreadable ones moved aside)."""

from __future__ import annotations

import csv
import pathlib
import time
import warnings

import tensorflow as tf

__all__ = [
    "PROGRESS_FILE",
    "CheckpointError",
    "check_run_dir",
    "move_aside",
    "read_progress",
    "restore_newest_readable",
]

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


def restore_newest_readable(checkpoint, manager, directory: pathlib.Path, keep: int):
    """Restores the newest checkpoint of `manager` that reads in full into `checkpoint`;
    returns its prefix and the manager to go on with. An unreadable one (truncated, corrupt, or
    missing variables) is reported with its file and reason, moved aside as `<file>.unreadable`
    (never deleted or overwritten), and the one before it is tried.

    Raises:
        CheckpointError: If none can be read.
    """
    candidates = list(reversed(manager.checkpoints)) or [manager.latest_checkpoint]
    if manager.latest_checkpoint not in candidates:
        candidates.insert(0, manager.latest_checkpoint)
    problems = []
    for prefix in candidates:
        try:
            checkpoint.restore(prefix).assert_existing_objects_matched()
        except Exception as error:  # OpError, IndexError (truncated), ValueError, ...
            reason = f"{type(error).__name__}: {str(error).strip().splitlines()[0][:300]}"
            kept = move_aside(prefix)
            problems.append(f"{prefix} ({reason})")
            warnings.warn(
                f"Trainer: the checkpoint {prefix} cannot be read ({reason}). It is kept as "
                f"{', '.join(kept) or 'it was'}; resuming from an earlier checkpoint.",
                stacklevel=3,
            )
            continue
        if problems:
            manager = _forget(checkpoint, directory, candidates[: len(problems)], prefix, keep)
        return prefix, manager
    raise CheckpointError(
        f"Trainer: no checkpoint in {directory} can be read, so the run cannot resume: "
        + "; ".join(problems)
        + ". They are kept (moved aside as *.unreadable); pass resume=False or another "
        "run_dir to start afresh."
    )


def _forget(checkpoint, directory: pathlib.Path, unreadable: list[str], latest: str, keep: int):
    """Drops moved-aside checkpoints from the checkpoint state, so that the newest readable one
    is the latest, and the older ones stay managed (kept, then rotated); returns a manager of
    the state so cleaned."""
    state = tf.train.get_checkpoint_state(str(directory))
    names = [pathlib.Path(path).name for path in state.all_model_checkpoint_paths]
    stamps = list(state.all_model_checkpoint_timestamps) or [time.time()] * len(names)
    dropped = {pathlib.Path(path).name for path in unreadable}
    kept = [
        (name, stamp) for name, stamp in zip(names, stamps, strict=True) if name not in dropped
    ] or [(pathlib.Path(latest).name, time.time())]
    tf.compat.v1.train.update_checkpoint_state(
        str(directory),
        kept[-1][0],
        all_model_checkpoint_paths=[name for name, _ in kept],
        all_model_checkpoint_timestamps=[stamp for _, stamp in kept],
        last_preserved_timestamp=min(stamp for _, stamp in kept) - 1.0,
    )
    return tf.train.CheckpointManager(checkpoint, directory, max_to_keep=keep)
