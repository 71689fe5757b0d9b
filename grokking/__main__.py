"""``python -m grokking``: the command line (:mod:`grokking.cli`).

Importing torch takes a few seconds; a Ctrl-C or SIGTERM in that time ends the
command with one line and the shell's status, like one at any later moment.
"""

import os
import signal
import sys


def _stop(signum, _frame):
    # Nothing has been written yet, so exit at once: an exception raised here, in the middle
    # of some library's import, could be caught by that library.
    print("grokking: interrupted" if signum == signal.SIGINT else "grokking: terminated", file=sys.stderr)
    sys.stderr.flush()
    os._exit(128 + signum)


for _signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(_signum, _stop)
from .cli import main  # noqa: E402 - after the handlers, which cover the import (main sets its own)

sys.exit(main())
