"""Stopping on a signal: SIGINT and SIGTERM are recorded while active, the old handlers come back after."""

import os
import signal

import pytest

from grokking.training.signals import StopOnSignal


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_is_recorded_not_raised(signum):
    before = signal.getsignal(signum)
    with StopOnSignal() as stop:
        assert not stop.requested()
        os.kill(os.getpid(), signum)
        assert stop.requested()
        assert stop.signum == signum
        assert stop.exit_status == 128 + signum  # as a shell reports a process killed by it
    assert signal.getsignal(signum) is before


def test_exit_status_defaults_to_sigint():
    assert StopOnSignal().exit_status == 130
