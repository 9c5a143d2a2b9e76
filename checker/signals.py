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
prints no worker tracebacks. Waits on a pool's results look at its workers
every POLL_S (pool_result, pool_wait): one killed while it wrote its result
leaves the pool's own thread waiting for ever for the rest, and the futures
would never fail.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Mapping

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_state = {"first": 0.0}
GRACE_S = 3.0  # later signals within this time of the first are ignored
POLL_S = 0.2  # how often a wait on a pool looks at its workers
REAP_S = 1.0  # how long pool_failure waits for a dead worker's exit code
# Per pool: its workers as it started; the reason check_workers found.
_workers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_failures: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


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
    sys.unraisablehook = quiet_half_built
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
        first = executor.submit(int)  # the first task starts every worker (fork)
        # Kept now: the pool's own thread may end and forget its workers once
        # one dies, and the reason for a broken pool is read from these.
        _workers[executor] = dict(getattr(executor, "_processes", None) or {})
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    pool_result(executor, first)


def pool_result(executor, future):
    """A pool future's result; BrokenProcessPool, with the reason, as soon as
    one of the pool's workers is dead. A worker killed while it wrote its
    result leaves half a message in the result pipe, and the pool's own thread
    then waits for the rest for ever: the future would never fail."""
    pool_wait(executor, [future])
    return future.result()


def pool_results(executor, futures: list) -> Iterator:
    """The futures' results in order, each waited for as pool_result does; the
    ones left when the caller stops early are cancelled."""
    try:
        for f in futures:
            yield pool_result(executor, f)
    finally:
        for f in futures:
            f.cancel()


def pool_wait(executor, futures) -> set:
    """The futures among `futures` that are done, once one is; a dead worker
    raises BrokenProcessPool at once, as in pool_result."""
    from concurrent.futures import FIRST_COMPLETED, wait

    while True:
        done, _ = wait(futures, timeout=POLL_S, return_when=FIRST_COMPLETED)
        if done:
            return done
        check_workers(executor)


def check_workers(executor) -> None:
    """Raise BrokenProcessPool, naming the dead worker, if a worker of the
    pool has died."""
    # One snapshot, taken first: the pool's thread may at any moment end the
    # other workers with SIGTERM and forget them all.
    procs = _known_workers(executor)
    dead = {pid: c for pid, c in _exit_codes(procs).items() if c not in (None, 0)}
    if dead:
        from concurrent.futures.process import BrokenProcessPool

        _failures[executor] = _describe(dead)
        raise BrokenProcessPool(_failures[executor])


def _exit_codes(procs: dict) -> dict[int, int | None]:
    """Each worker's exit code, None while it runs. One that has ended but is
    not reaped yet (or is being reaped by the pool's own thread) is given up
    to REAP_S for its code to show: the SIGKILLed worker must not be missed
    while the others, just ended by the pool with SIGTERM, are seen."""
    deadline = time.monotonic() + REAP_S
    codes: dict[int, int | None] = {}
    for pid, p in procs.items():
        code = p.exitcode
        while code is None and _ended(p) and time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                p.join(timeout=0.05)
            code = p.exitcode
        codes[pid] = code
    return codes


def _known_workers(executor) -> dict:
    """The pool's workers by pid: those kept as it started and any it has now."""
    procs = dict(_workers.get(executor, {}))
    procs.update(dict(getattr(executor, "_processes", None) or {}))
    return procs


def _describe(dead: Mapping[int, int | None]) -> str:
    """The dead workers in words; once the pool sees a dead worker it ends the
    others with SIGTERM, so the cause is a worker that ended otherwise when
    there is one."""
    first = {pid: c for pid, c in dead.items() if c != -signal.SIGTERM} or dead
    return "; ".join(f"worker process {pid} {describe_exit(c)}" for pid, c in first.items())


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
    if executor in _failures:  # seen dead by check_workers: its own snapshot
        return _failures[executor]
    codes = _exit_codes(_known_workers(executor))
    return _describe({pid: c for pid, c in codes.items() if c not in (None, 0)}) or (
        "a worker process died"
    )


def _ended(p) -> bool:
    """Whether a worker process has ended (reaped or not)."""
    from multiprocessing.connection import wait as mp_wait

    try:
        return bool(mp_wait([p.sentinel], timeout=0))
    except (OSError, ValueError):
        return True


def terminate_pool(executor) -> None:
    """End a ProcessPoolExecutor now: its workers are killed, not waited for.
    The pool's own threads may then wait for ever on a pipe a killed worker
    left half written; the command line ends the process with os._exit once
    its output is flushed (checker/__main__.py), so they cannot hold it."""
    _state["pool_terminated"] = True
    procs = _known_workers(executor)  # shutdown() forgets them
    with contextlib.suppress(Exception):
        executor.shutdown(wait=False, cancel_futures=True)
    for p in procs.values():
        with contextlib.suppress(Exception):
            p.terminate()
    end = time.monotonic() + 2
    for p in procs.values():
        with contextlib.suppress(Exception):
            p.join(timeout=max(0.0, end - time.monotonic()))
    for p in procs.values():  # one that ignored SIGTERM (stopped, stuck in the kernel)
        with contextlib.suppress(Exception):
            if p.exitcode is None:
                p.kill()
                p.join(timeout=1)


def quiet_thread_errors(args) -> None:
    """threading.excepthook: after a pool was terminated its threads may fail
    on the broken pipes; that is expected and not shown."""
    if _state.get("pool_terminated"):
        return
    sys.__excepthook__(args.exc_type, args.exc_value, args.exc_traceback)


def quiet_half_built(unraisable) -> None:
    """sys.unraisablehook: a stop signal that lands while an object is being
    built (z3's AstRef, before its __init__ sets ctx) leaves it half built,
    and its finalizer then fails on the missing attribute ("Exception
    ignored in ... __del__"). After a stop that is expected and not shown;
    anything else is shown as Python would."""
    if _state["first"] and isinstance(unraisable.exc_value, AttributeError):
        return
    sys.__unraisablehook__(unraisable)
