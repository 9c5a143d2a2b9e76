"""`python -m checker`: see checker/cli.py."""

import contextlib
import os
import sys

from checker import signals

signals.install()  # SIGTERM and SIGHUP stop a run like Ctrl-C (checker/signals.py)
if os.environ.get("GMPCHECK_PHASE_FILE"):  # the tests' mark (progress.mark, not loaded yet)
    with open(os.environ["GMPCHECK_PHASE_FILE"], "a") as f:
        f.write("loading\n")


def _leave(code: int) -> None:
    # Every file is written (atomically) and closed before main returns. Leave
    # without waiting for threads: a worker pool ended by a signal or a dead
    # worker may have threads blocked on its pipes for ever.
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):
            stream.flush()
    os._exit(code)


try:
    # Importing the engines takes a second or two: a stop signal meanwhile
    # ends the command as one during the work would, before any work.
    from checker.cli import main
except ModuleNotFoundError as e:
    # Run from a checkout without installing it: say what to do, in one line.
    missing = (e.name or "").split(".")[0]
    if missing in ("", "checker", "model", "specs", "runtime"):
        raise  # one of gmpcheck's own modules: a bug, not the set-up
    print(
        f"error: gmpcheck's dependency {missing!r} is not installed: "
        "pip install -e . (README, 'Set-up: two commands')",
        file=sys.stderr,
    )
    _leave(2)
except BaseException as e:
    if not signals.caused_by_interrupt(e):
        raise
    print("interrupted before the work started: nothing was done", file=sys.stderr)
    _leave(4)
_leave(main())
