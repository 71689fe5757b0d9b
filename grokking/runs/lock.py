"""One writer per run directory: an exclusive lock file inside it.

Every command that writes a run (train, resume, ``--force``, progress, a sweep's run)
holds :class:`RunLock` on the run directory while it writes. The lock is the kernel's
``flock`` on ``RUN_DIR/.lock``: taking it is atomic, and it is released when the holder
exits, however it exits (a ``kill -9`` leaves the file but not the lock, so there is no
stale lock to clear by hand). The holder's process id is written into the file, so a
second writer's one-line error can name it.

>>> with RunLock(Path("runs/local")):
...     ...  # train, write, replace
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .store import RunError

LOCK = ".lock"


class RunLocked(RunError):
    """Another process holds the run directory's lock."""


class RunLock:
    """An exclusive, non-blocking lock on ``run_dir`` (which must exist).

    Entering raises :class:`RunLocked` naming the holder when another process has it.
    Leaving removes the lock file, so a finished run directory holds no trace of it.
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except OSError as exc:
                raise RunError(f"{self.path}: cannot create the run's lock file ({exc.strerror})") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 32).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise RunLocked(
                    f"{self.run_dir} is being written by process {holder} (lock {self.path}); "
                    "wait for it to finish or stop it") from None
            # The file may have been removed by a holder that released it between our
            # open and our flock: then we hold a lock on a file nobody else can see.
            try:
                same = os.stat(self.path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)  # while still holding it (see __enter__)
        finally:
            os.close(self.fd)
            self.fd = None
