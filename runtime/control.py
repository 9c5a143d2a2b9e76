"""Schedule points: the controlled scheduler of the runtime's threads.

Every M (and sysmon) is a real thread. Before each runtime-atomic action
it calls `point(mp, where, ...)`: it stops there, names the action it is
about to take, exposes what of its procedure's locals the action works
on (`frame`), and, when the action has a nondeterministic choice (a steal
victim, the waiter to ready, sysmon's work), the `options` open to it.
A controller decides which stopped thread goes next and with which
choice (the design of loom and shuttle): a replay imposes the trace's
step and choice, a free run picks at random (its scheduler, `driver`,
runs on the thread that settles each step, so that a step is one
hand-over between threads). Between two points a thread runs alone, so
the code between them is one step, atomic as the model has it; the locks
and atomics it takes are real, never contended.

A thread that sleeps on a note (stopm's mPark, stoplockedm) is parked:
it has no step until notewakeup, and then runs to its next point within
the step that woke it. `settle()` waits until no thread runs: every one
stopped at a point, parked, or gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

RUNNING, STOPPED, PARKED, GONE = "running", "stopped", "parked", "gone"


class Stop(BaseException):
    """The run is over: a stopped thread unwinds (not an error)."""


class ThreadExit(BaseException):
    """mexit: this M's thread is done."""


class Throw(BaseException):
    """The runtime threw (`throw("...")`): this M does nothing more."""

    def __init__(self, code: int, what: str = "", void: bool = False):
        super().__init__(what)
        self.code = code
        self.what = what
        # A queue that would overflow or underflow: Go's process dies at the
        # bad access, and the model records such a throw on the state before
        # the step, which is how replay and record read it
        # (checker/replay/points.py), whatever the step did before it.
        self.void = void


class ControlHang(RuntimeError):
    """A thread handed a step did not reach its next point in time."""


@dataclass
class Point:
    """Where a stopped thread is: the action it takes next, the locals it
    exposes, and the options of its choice (read when the controller
    decides: another thread's step may have changed them)."""

    where: str
    frame: dict = field(default_factory=dict)
    options: Callable[[], list] | None = None
    shuffle: bool = False  # the runtime's own pick is random (stealOrder, sysmon)


class Mutex:
    """A runtime lock (sched.lock, a semaphore's root lock) that knows its
    holder, for the dump of a run that hangs."""

    def __init__(self, name: str):
        self.name = name
        self._mu = threading.Lock()
        self.holder: str | None = None

    def __enter__(self) -> Mutex:
        self._mu.acquire()
        self.holder = threading.current_thread().name
        return self

    def __exit__(self, *exc: object) -> None:
        self.holder = None
        self._mu.release()

    def locked(self) -> bool:
        return self._mu.locked()


class Control:
    """The thread states and the hand-over of steps; one per runtime."""

    # Each hand-over is a plain lock, held while nobody is signalled: a
    # sleeper blocks acquiring it, its waker releases it, once. A thread
    # waits on its M's `wake`, the controller on `done`.

    def __init__(self) -> None:
        self.mu = threading.Lock()  # guards the counts, the states and the flags below
        self.running = 0  # threads between two points
        self.waiting = False  # the controller waits for running to drop to 0
        self.done = threading.Lock()
        self.done.acquire()
        self.stopping = False
        # A free run's scheduler: run by the thread that settles the step
        # (the last to stop), so that a step is one hand-over, not two.
        self.driver: Callable[[], None] | None = None

    def _run(self, mp: Any) -> None:
        """mp runs (under mu)."""
        mp.state = RUNNING
        self.running += 1

    def _stopped(self, mp: Any, state: str) -> bool:
        """mp stops running (under mu); the last to stop lets the controller
        go, or, in a free run, is to run its scheduler (True)."""
        settled = False
        if mp.state == RUNNING:
            self.running -= 1
            settled = self.running == 0
        mp.state = state
        if settled and self.driver is None:
            self._release()
        return settled and self.driver is not None

    def _release(self) -> None:
        """Let the waiting controller go (under mu)."""
        if self.waiting:
            self.waiting = False
            self.done.release()

    def drive(self) -> None:
        """Run the free run's scheduler: it grants the next step (`hand`), or
        ends the run (`finish`)."""
        assert self.driver is not None
        self.driver()

    def _signal(self, mp: Any) -> None:
        """Let mp's thread go, if it sleeps (under mu)."""
        if mp.sleeping:
            mp.sleeping = False
            mp.wake.release()

    def _wait(self, mp: Any, ready: Any) -> None:
        """Sleep until `ready()` (or the run stops)."""
        while True:
            with self.mu:
                if ready():
                    return
                mp.sleeping = True
            got = mp.wake.acquire(timeout=0.05)
            with self.mu:
                if not got and not mp.sleeping:
                    mp.wake.acquire()  # signalled as the wait timed out: take it
                mp.sleeping = False
            if self.stopping:
                raise Stop

    # ---- the threads' side --------------------------------------------------------

    def enter(self, mp: Any) -> None:
        """A thread about to start (newm): it runs until its first point."""
        with self.mu:
            self._run(mp)

    def leave(self, mp: Any, state: str = GONE) -> None:
        with self.mu:
            turn = self._stopped(mp, state)
            if state == GONE:
                mp.at = None  # a thrown M keeps the point it threw at
        if turn:
            self.drive()

    def point(self, mp: Any, at: Point) -> Any:
        """Stop at `at` until the controller hands this thread a step; the
        choice it is taken with."""
        with self.mu:
            mp.at = at
            turn = self._stopped(mp, STOPPED)
        if turn:
            self.drive()
        self._wait(mp, lambda: mp.grant is not None)
        choice = mp.grant[0]
        mp.grant = None
        return choice

    def sleep(self, mp: Any, note: Note, at: Point) -> None:
        """notesleep(note): parked at `at` until notewakeup."""
        turn = False
        with self.mu:
            parked = not note.set
            if parked:
                mp.at = at
                turn = self._stopped(mp, PARKED)
        if turn:
            self.drive()
        if parked:
            self._wait(mp, lambda: note.set)
        note.set = False  # noteclear

    def wakeup(self, note: Note) -> None:
        """notewakeup(note): the sleeper runs (to its next point) within
        this step."""
        mp = note.owner
        with self.mu:
            note.set = True
            if mp.state == PARKED:
                self._run(mp)
            self._signal(mp)

    # ---- the controller's side ------------------------------------------------------

    def settle(self, timeout: float) -> None:
        """Wait until no thread runs."""
        with self.mu:
            if self.running == 0 or self.stopping:
                return
            self.waiting = True
        if self.done.acquire(timeout=timeout):
            return
        with self.mu:
            if not self.waiting:
                self.done.acquire()  # released as the wait timed out: take it
                return
            self.waiting = False
        if not self.stopping:
            raise ControlHang(f"a thread did not reach its next point in {timeout:.1f} s")

    def grant(self, mp: Any, choice: Any, timeout: float) -> None:
        """Let mp take its step with `choice`; return once every thread has
        settled again."""
        self.hand(mp, choice)
        self.settle(timeout)

    def hand(self, mp: Any, choice: Any) -> None:
        """Let mp take its step with `choice` (and return at once)."""
        with self.mu:
            assert mp.state == STOPPED, (mp.id, mp.state)
            mp.grant = (choice,)
            self._run(mp)
            self._signal(mp)

    def await_end(self, timeout: float) -> bool:
        """The controller of a free run waits for its end (`finish`, `stop`);
        False if it did not come within `timeout`."""
        with self.mu:
            if self.stopping:
                return True
            self.waiting = True
        if self.done.acquire(timeout=timeout):
            return True
        with self.mu:
            if not self.waiting:
                self.done.acquire()  # released as the wait timed out: take it
                return True
            self.waiting = False
            return False

    def finish(self) -> None:
        """The free run is over: the controller goes on."""
        with self.mu:
            self.driver = None
            self._release()

    def stop(self) -> None:
        with self.mu:
            self.stopping = True
            self.driver = None
            self._release()


class Note:
    """A one-shot sleep and wake-up of an M (runtime2.go `note`)."""

    __slots__ = ("set", "owner")

    def __init__(self, owner: Any):
        self.set = False
        self.owner = owner
