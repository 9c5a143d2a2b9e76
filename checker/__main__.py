"""`python -m checker`: see checker/cli.py."""

import contextlib
import os
import sys

from checker import signals

# SIGTERM and SIGHUP stop a run like Ctrl-C (checker/signals.py), from the
# start: loading the commands takes a second or more on a busy machine.
signals.install()
if os.environ.get("GMPCHECK_PHASE_FILE"):  # the tests' mark (progress.mark, not loaded yet)
    with open(os.environ["GMPCHECK_PHASE_FILE"], "a") as f:
        f.write("loading\n")
try:
    from checker.cli import main
except KeyboardInterrupt:
    print("stopped before the command started", file=sys.stderr)
    os._exit(4)
code = main()
# Every file is written (atomically) and closed before main returns. Leave
# without waiting for threads: a worker pool ended by a signal or a dead
# worker may have threads blocked on its pipes for ever.
for stream in (sys.stdout, sys.stderr):
    with contextlib.suppress(OSError):
        stream.flush()
os._exit(code)
