"""Stopping on Ctrl-C or SIGTERM at a moment that is safe for the run on disk.

A sweep's worker processes leave both signals to their parent (:func:`ignore_in_worker`),
which stops them through a shared flag; a worker whose parent is gone, however it went
(``kill -9`` included), notices it with :class:`ParentWatch` and stops the same way.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

PARENT_POLL_S = 0.2  # how often a worker looks for its parent


class StopOnSignal:
    """While active, SIGINT and SIGTERM only record that a stop was asked for.

    ``requested()`` is the ``should_stop`` poll of the training loop and the sweeps;
    ``exit_status`` is 128 + the signal number, as a shell reports a process killed by it.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        self.signum: int | None = None
        self._previous: dict = {}

    def __enter__(self) -> StopOnSignal:
        def record(signum, _frame):
            self.signum = signum

        self._previous = {s: signal.signal(s, record) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    def requested(self) -> bool:
        return self.signum is not None

    @property
    def exit_status(self) -> int:
        return 128 + int(self.signum or signal.SIGINT)


def ignore_in_worker() -> None:
    """In a sweep's worker process: leave SIGINT and SIGTERM to the parent, which stops the workers."""
    for s in StopOnSignal.SIGNALS:
        signal.signal(s, signal.SIG_IGN)


class ParentWatch:
    """In a worker process: notices that the parent process has gone, whatever ended it.

    The rule: the parent is gone once ``os.getppid()`` is no longer ``parent_pid``, the pid
    the parent handed down when it started the worker (so a parent that died before the
    worker got this far counts too). An orphan is adopted by init or a subreaper, never by
    a process that has the dead parent's pid. After :meth:`start`, a daemon thread checks
    every ``interval`` seconds; once the parent is gone, :meth:`gone` is True for good and
    ``on_gone`` runs in that thread.

    No kernel parent-death signal (``PR_SET_PDEATHSIG``) backs it up: the workers ignore
    SIGTERM (the parent decides), SIGKILL would end a run before it saves its state, and a
    signal caught for the purpose would only repeat this check from a signal handler.
    """

    def __init__(self, parent_pid: int, interval: float = PARENT_POLL_S):
        self.parent_pid = parent_pid
        self.interval = interval
        self._gone = threading.Event()

    def start(self, on_gone: Callable[[], None] | None = None) -> ParentWatch:
        def watch() -> None:
            while os.getppid() == self.parent_pid:
                time.sleep(self.interval)
            self._gone.set()
            if on_gone is not None:
                on_gone()

        threading.Thread(target=watch, name="parent-watch", daemon=True).start()
        return self

    def gone(self) -> bool:
        return self._gone.is_set()
