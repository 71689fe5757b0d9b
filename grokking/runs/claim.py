"""Which directories are this project's runs, and taking one to write into.

A command that writes a run first *claims* its directory (:func:`claim`): it creates
what is missing, takes the run's lock (:class:`grokking.runs.lock.RunLock`), and on
any failure removes exactly the directories it created, so a refused command leaves
the file tree as it found it. Under the lock, :func:`run_state` says what the
directory holds, and :func:`clear_run` empties a run of ours (``--force``) while
refusing to delete anything this project did not write.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from . import store
from .lock import LOCK, RunLock

# Everything a run directory of ours may hold (temporary files start with ".tmp-").
OUR_FILES = frozenset({store.CONFIG, store.MODEL, store.HISTORY, store.MANIFEST, store.PROGRESS,
                       store.FAILED, store.CHECKPOINTS, LOCK})
EMPTY, FINISHED, INTERRUPTED, FAILED, STARTED, FOREIGN = (
    "empty", "finished", "interrupted", "failed", "started", "foreign")


def _is_ours(name: str, folder: str = "") -> bool:
    if name.startswith(".tmp-"):
        return True
    if folder == store.CHECKPOINTS:
        return name == store.RESUME or (name.startswith("epoch_") and name.endswith(".safetensors"))
    return name in OUR_FILES


def foreign_entries(run_dir: Path) -> list[str]:
    """The entries of ``run_dir`` (and of its checkpoints/) that this project did not write."""
    run_dir = Path(run_dir)
    found = [p.name for p in sorted(run_dir.iterdir()) if not _is_ours(p.name)]
    checkpoints = run_dir / store.CHECKPOINTS
    if checkpoints.is_symlink() or (checkpoints.exists() and not checkpoints.is_dir()):
        found.append(store.CHECKPOINTS)
    elif checkpoints.is_dir():
        found += [f"{store.CHECKPOINTS}/{p.name}" for p in sorted(checkpoints.iterdir())
                  if not _is_ours(p.name, store.CHECKPOINTS) or not p.is_file() or p.is_symlink()]
    return found


def run_state(run_dir: Path) -> str:
    """What ``run_dir`` holds, judged by the files this project writes.

    - ``empty``: nothing (or it does not exist);
    - ``finished``: a manifest (written last by a finished run);
    - ``failed``: ``failed.json`` (training produced a non-finite loss);
    - ``interrupted``: resume state in ``checkpoints/``;
    - ``started``: only a ``config.json`` (a run stopped before its first epoch);
    - ``foreign``: anything else, or any of the above beside files that are not ours.
    """
    run_dir = Path(run_dir)
    if not run_dir.exists() or not any(p.name != LOCK for p in run_dir.iterdir()):
        return EMPTY
    if foreign_entries(run_dir):
        return FOREIGN
    markers = ((store.MANIFEST, FINISHED), (store.FAILED, FAILED),
               (f"{store.CHECKPOINTS}/{store.RESUME}", INTERRUPTED), (store.CONFIG, STARTED))
    return next((state for name, state in markers if (run_dir / name).is_file()), FOREIGN)


def clear_run(run_dir: Path) -> None:
    """Delete a run of ours (``--force``), keeping the lock file that the caller holds.

    Only a finished, failed or interrupted run is ours to delete: its manifest or its
    resume state says so. A lone ``config.json`` could be another program's, and a run
    beside files we did not write is not deleted either; both are one-line errors that
    say what would have been deleted.
    """
    run_dir = Path(run_dir)
    state = run_state(run_dir)
    if state == EMPTY:
        return
    if state not in (FINISHED, FAILED, INTERRUPTED):
        entries = foreign_entries(run_dir) or sorted(p.name for p in run_dir.iterdir() if p.name != LOCK)
        raise store.RunError(
            f"{run_dir}: not replaced: it does not hold a run this project wrote (no manifest or resume "
            f"state beside only our files); --force would have deleted {listing(entries)}")
    empty_but_lock(run_dir)


def listing(entries: list[str], shown: int = 5) -> str:
    """'a, b, c' (the first ``shown`` entries, then how many more), for one-line errors."""
    more = f" and {len(entries) - shown} more" if len(entries) > shown else ""
    return ", ".join(entries[:shown]) + more


def empty_but_lock(run_dir: Path) -> None:
    """Delete everything in ``run_dir`` except its lock file (which the caller holds).
    Symlinks are removed, never followed. The caller has checked the folder is ours."""
    for path in Path(run_dir).iterdir():
        if path.name == LOCK:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


@contextlib.contextmanager
def claim(run_dir: Path) -> Iterator[Path]:
    """Create ``run_dir`` if needed and hold its lock; undo the creation if the body fails.

    Directories created here are removed again (deepest first, only while empty) when
    the body raises, so a refused or failed command leaves no empty folders behind.
    """
    run_dir = Path(run_dir)
    created = []
    for folder in reversed([run_dir, *run_dir.parents]):
        if not folder.exists():
            created.append(folder)
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        with RunLock(run_dir):
            yield run_dir
    except BaseException:
        for folder in reversed(created):
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise
