"""`python -m checker`: see checker/cli.py."""

import contextlib
import os
import sys

from checker import signals
from checker.cli import main

signals.install()  # SIGTERM and SIGHUP stop a run like Ctrl-C (checker/signals.py)
code = main()
# Every file is written (atomically) and closed before main returns. Leave
# without waiting for threads: a worker pool ended by a signal or a dead
# worker may have threads blocked on its pipes for ever.
for stream in (sys.stdout, sys.stderr):
    with contextlib.suppress(OSError):
        stream.flush()
os._exit(code)
