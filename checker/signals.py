"""Signals: SIGTERM and SIGHUP stop a command like Ctrl-C does.

`timeout`, a CI system cancelling a job and a closed terminal send SIGTERM
or SIGHUP; each becomes a KeyboardInterrupt in the main thread, so every
phase that handles Ctrl-C (keep what was established, print it, exit 4,
write only whole files) handles them too. The first signal raises; more
within a few seconds are ignored, so that the summary is printed whole. A
signal that comes while a finalizer runs (where Python would print the
exception and drop it) is raised again 50 ms later, outside it.

z3 takes SIGINT for itself while it solves and never sees SIGTERM: a
thread woken by Python's signal wake-up descriptor cancels the running
query (the query then returns "canceled", which the engines turn into a
KeyboardInterrupt as well).

Worker processes ignore SIGINT and SIGHUP (the parent handles them and
ends the pool) and send their stderr nowhere, so that an interrupted run
prints no worker tracebacks.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_state = {"first": 0.0}
GRACE_S = 3.0  # later signals within this time of the first are ignored


# Code where an exception is swallowed ("Exception ignored in ..."): a
# finalizer run by the garbage collector, the fork's own handlers.
_SWALLOWING = {"__del__", "_releaseLock", "_after_fork", "_at_fork_reinit", "_run_finalizers"}
RETRY_S = 0.05


def _swallowed_here(frame) -> bool:
    f, depth = frame, 0
    while f is not None and depth < 64:
        if f.f_code.co_name in _SWALLOWING:
            return True
        f, depth = f.f_back, depth + 1
    return False


def _handler(signum: int, frame) -> None:
    now = time.monotonic()
    if _state["first"] and now - _state["first"] < GRACE_S:
        return
    if _swallowed_here(frame):
        # Raised here, the KeyboardInterrupt would be printed and dropped:
        # try again a moment later, outside the finalizer.
        _state["pending"] = signum
        signal.setitimer(signal.ITIMER_REAL, RETRY_S)
        return
    _state["first"] = now
    raise KeyboardInterrupt(signal.Signals(signum).name)


def caused_by_interrupt(e: BaseException) -> bool:
    """Whether e is, or was raised from, a KeyboardInterrupt: Python 3.11
    wraps one raised while a class is created (a dataclass field's
    __set_name__, as a module is imported) in a RuntimeError."""
    seen: set[int] = set()
    cur: BaseException | None = e
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


@contextlib.contextmanager
def interrupts_as_keyboard():
    """A stop signal that lands while ctypes converts a foreign call's
    arguments (z3's binding calls into Python there) comes out of the call as
    ctypes.ArgumentError("argument 1: KeyboardInterrupt: ..."): re-raise it as
    the KeyboardInterrupt it is, so that the phase keeps what it established."""
    try:
        yield
    except ctypes.ArgumentError as e:
        if "KeyboardInterrupt" in str(e):
            raise KeyboardInterrupt(str(e)) from None
        raise


def _retry(signum: int, frame) -> None:
    pending = _state.pop("pending", None)
    if pending is not None:
        _handler(int(pending), frame)


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP a KeyboardInterrupt in this (main) process."""
    if threading.current_thread() is not threading.main_thread():
        return
    for s in STOP_SIGNALS:
        with contextlib.suppress(OSError, ValueError):
            signal.signal(s, _handler)
    with contextlib.suppress(OSError, ValueError):
        signal.signal(signal.SIGALRM, _retry)
    threading.excepthook = quiet_thread_errors
    _start_z3_canceller()


def _start_z3_canceller() -> None:
    try:
        r, w = os.pipe()
        os.set_blocking(w, False)
        signal.set_wakeup_fd(w, warn_on_full_buffer=False)
    except (OSError, ValueError):
        return

    def watch() -> None:
        while True:
            try:
                data = os.read(r, 64)
            except OSError:
                return
            if not data:
                return
            if any(b in (signal.SIGTERM, signal.SIGHUP) for b in data):
                z3 = sys.modules.get("z3")
                if z3 is not None:
                    with contextlib.suppress(Exception):
                        z3.main_ctx().interrupt()

    threading.Thread(target=watch, name="signal-watch", daemon=True).start()


def start_pool(executor) -> None:
    """Start a fork-based ProcessPoolExecutor's workers with the stop signals
    blocked: a signal that arrives while the parent forks would otherwise be
    run by Python inside the fork's own handlers, where the exception it
    raises is ignored (and lost), or be inherited by a child before its
    initializer. The parent gets it as soon as the workers exist."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        executor.submit(int).result()  # the first task starts every worker (fork)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def worker_init() -> None:
    """A worker process: Ctrl-C and SIGHUP are its parent's business, SIGTERM
    ends it at once (the parent sees a broken pool), nothing on stderr."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)  # blocked by start_pool
    with contextlib.suppress(OSError, ValueError):
        signal.set_wakeup_fd(-1)
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        os.dup2(fd, 2)
        os.close(fd)
    except OSError:
        pass


def describe_exit(exitcode: int | None) -> str:
    """How a worker process ended, in words."""
    if exitcode is None:
        return "ended for an unknown reason"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        why = {
            "SIGKILL": " (the out-of-memory killer sends it)",
            "SIGTERM": "",
        }.get(name, "")
        return f"was killed by {name}{why}"
    return f"exited with status {exitcode}"


def pool_failure(executor) -> str:
    """Which worker of a broken ProcessPoolExecutor died, and how (best effort)."""
    procs = getattr(executor, "_processes", None) or {}
    for p in list(procs.values()):
        if p.exitcode is None:  # a worker just killed may not have been reaped yet
            with contextlib.suppress(Exception):
                p.join(timeout=0.2)
    dead = [(pid, p.exitcode) for pid, p in list(procs.items()) if p.exitcode not in (None, 0)]
    # Once the pool sees a dead worker it ends the others with SIGTERM: the
    # first cause is a worker that ended otherwise, when there is one.
    first = [(pid, c) for pid, c in dead if c != -signal.SIGTERM] or dead
    return "; ".join(f"worker process {pid} {describe_exit(c)}" for pid, c in first) or (
        "a worker process died"
    )


def terminate_pool(executor) -> None:
    """End a ProcessPoolExecutor now: its workers are killed, not waited for.
    The pool's own threads may then wait for ever on a pipe a killed worker
    left half written; the command line ends the process with os._exit once
    its output is flushed (checker/__main__.py), so they cannot hold it."""
    _state["pool_terminated"] = True
    procs = dict(getattr(executor, "_processes", None) or {})  # shutdown() forgets them
    with contextlib.suppress(Exception):
        executor.shutdown(wait=False)
    for p in list(procs.values()):
        with contextlib.suppress(Exception):
            p.terminate()
    for p in list(procs.values()):
        with contextlib.suppress(Exception):
            p.join(timeout=2)


def quiet_thread_errors(args) -> None:
    """threading.excepthook: after a pool was terminated its threads may fail
    on the broken pipes; that is expected and not shown."""
    if _state.get("pool_terminated"):
        return
    sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)
