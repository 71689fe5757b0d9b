"""Stopping on Ctrl-C or SIGTERM at a moment that is safe for the run on disk."""

from __future__ import annotations

import signal


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
