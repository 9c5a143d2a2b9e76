"""The runtime's objects: G, P, M, the scheduler's globals, semaphores.

Field names follow runtime2.go. Each object has a step-lock unit
(runtime/locks.py) that every step touching it holds; the M fields that
are procedure locals in Go (gp, pp, batch, inherit...) are kept on the M,
as the model keeps them, so that an M can stop between any two steps.
"None" is nil. `save()` and `restore()` copy an object's fields out and
back: a step that throws a queue overflow is undone with them, as the
model records the state before that step (runtime/machine.py run_step).
"""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Iterator

from model.pcs import PC
from model.state import G_DEAD, P_IDLE
from model.workloads import Code
from runtime.atomic import Atomic, Note
from runtime.locks import Unit
from runtime.program import program
from runtime.runq import RunQueue


class G:
    """A goroutine: its status, the instruction it runs next, its preemption
    request, and its body (a generator, runtime/program.py)."""

    __slots__ = ("id", "status", "pc", "preempt", "body", "code", "goid", "unit")

    def __init__(self, gid: int, unit: Unit):
        self.id = gid
        self.status = G_DEAD  # atomicstatus; changed by casgstatus under the G's lock
        self.pc = 0
        self.preempt = 0
        self.body: Iterator[int] | None = None
        self.code: Code | None = None
        self.goid = 0  # unique per newproc (the slot is reused after goexit)
        self.unit = unit
        unit.state = self

    def start(self, code: Code, entry: int, goid: int) -> None:
        """newproc1's half that sets up the G's stack: the body stops before
        its first instruction."""
        self.code = code
        self.body = program(code, entry)
        self.pc = next(self.body)
        self.preempt = 0
        self.goid = goid

    def resume(self) -> None:
        """Run the user code of the current instruction; stop before the next."""
        assert self.body is not None, f"G{self.id} has no body"
        self.pc = next(self.body)

    def destroy(self) -> None:
        """gdestroy: the G is dead and its slot reusable."""
        if self.body is not None:
            self.body.close()
        self.body = None
        self.pc = 0
        self.preempt = 0

    def save(self) -> tuple:
        return (self.status, self.pc, self.preempt, self.body is not None, self.goid)

    def restore(self, saved: tuple) -> None:
        self.status, self.pc, self.preempt, alive, self.goid = saved
        # The body is user code stopped before an instruction: a fresh one
        # stopped before the saved instruction is the same body.
        self.body = program(self.code, self.pc) if alive and self.code else None
        if self.body is not None:
            next(self.body)


class SysmonTick:
    """pp.sysmontick: what sysmon last saw of a P. Time is the model's: a P's
    G has run "for 10ms" when it ran user code after sysmon recorded the
    tick (`schedwhen` < the P's `userticks`), and a system call has lasted
    long enough when sysmon already let it be once (`syscallwait`)."""

    __slots__ = ("schedtick", "schedwhen", "syscalltick", "syscallwait")

    def __init__(self) -> None:
        self.schedtick = -1  # never observed
        self.schedwhen = 0
        self.syscalltick = -1
        self.syscallwait = False

    def save(self) -> tuple:
        return (self.schedtick, self.schedwhen, self.syscalltick, self.syscallwait)

    def restore(self, saved: tuple) -> None:
        self.schedtick, self.schedwhen, self.syscalltick, self.syscallwait = saved


class P:
    __slots__ = (
        "id",
        "status",
        "m",
        "runq",
        "schedtick",
        "syscalltick",
        "userticks",
        "sysmontick",
        "unit",
    )

    def __init__(self, pid: int, ring: int, unit: Unit):
        self.id = pid
        self.status = Atomic(P_IDLE)  # CASed by exitsyscallfast and retake
        self.m: int | None = None
        self.runq = RunQueue(ring)
        self.schedtick = 0  # incremented on every execute that does not inherit
        self.syscalltick = 0  # incremented on every exit from / retake in a syscall
        self.userticks = 0  # steps of user code run on this P: sysmon's clock
        self.sysmontick = SysmonTick()
        self.unit = unit
        unit.state = self

    def save(self) -> tuple:
        return (
            self.status.load(),
            self.m,
            self.runq.save(),
            self.schedtick,
            self.syscalltick,
            self.userticks,
            self.sysmontick.save(),
        )

    def restore(self, saved: tuple) -> None:
        status, self.m, runq, self.schedtick, self.syscalltick, self.userticks, tick = saved
        self.status.store(status)
        self.runq.restore(runq)
        self.sysmontick.restore(tick)


class M:
    """An OS thread (a threading.Thread, runtime/threads.py) or sysmon."""

    __slots__ = (
        "id",
        "pc",
        "ret",
        "inherit",
        "spinning",
        "spin_arg",
        "steal_pass",
        "mask",
        "curg",
        "gp",
        "batch",
        "p",
        "nextp",
        "oldp",
        "pp",
        "steal_victim",
        "steal_next",
        "lockedg",
        "park",
        "signal",
        "thread",
        "idle",
        "unit",
    )

    def __init__(self, mid: int, unit: Unit):
        self.id = mid
        self.pc = PC.NOT_CREATED  # the next step this M takes (model/pcs.py)
        self.ret = 0  # where a runtime procedure returns to
        self.inherit = 0
        self.spinning = 0
        self.spin_arg = 0  # startm's / newm's `spinning` argument
        self.steal_pass = 0
        self.mask = 0  # stealWork / checkRunqsNoP: the Ps visited in this pass
        self.curg: int | None = None
        self.gp: int | None = (
            None  # a G in this M's hands (findRunnable's result, a kicked runnext)
        )
        self.batch: list[int] = []  # G's grabbed but not yet published on a ring or queue
        self.p: int | None = None
        self.nextp: int | None = None
        self.oldp: int | None = None
        self.pp: int | None = None  # a P in this M's hands (wakep, handoffp, checkRunqsNoP)
        # runqgrab's runnext steal, between its read and its CAS: the victim
        # and the G read (the CAS's old value, not a G in this M's hands).
        self.steal_victim: int | None = None
        self.steal_next: int | None = None
        self.lockedg: int | None = None  # LockOSThread: the G locked to this M
        self.park = Note()
        self.signal = 0  # preemptM: a preemption signal is pending
        self.thread: threading.Thread | None = None
        self.idle = False  # parked, or waiting for a bound: takes no step by itself
        self.unit = unit
        unit.state = self

    _STATE = (
        "pc",
        "ret",
        "inherit",
        "spinning",
        "spin_arg",
        "steal_pass",
        "mask",
        "curg",
        "gp",
        "p",
        "nextp",
        "oldp",
        "pp",
        "steal_victim",
        "steal_next",
        "lockedg",
        "signal",
    )

    def save(self) -> tuple:
        return (*(getattr(self, f) for f in self._STATE), list(self.batch))

    def restore(self, saved: tuple) -> None:
        for f, v in zip(self._STATE, saved, strict=False):
            setattr(self, f, v)
        self.batch = list(saved[-1])


class Sema:
    """A workload semaphore: binary, with a FIFO of waiters, behind its own
    lock (semaRoot.lock): a wakeup with no waiter stays pending."""

    __slots__ = ("name", "pending", "waiters", "unit")

    def __init__(self, name: str, unit: Unit):
        self.name = name
        self.pending = 0
        self.waiters: deque[int] = deque()
        self.unit = unit
        unit.state = self

    def save(self) -> tuple:
        return (self.pending, list(self.waiters))

    def restore(self, saved: tuple) -> None:
        self.pending = saved[0]
        self.waiters = deque(saved[1])


class GFree:
    """sched.gFree: dead G's, behind their own lock; gfget takes the lowest id."""

    __slots__ = ("heap", "goidgen", "unit")

    def __init__(self, unit: Unit):
        self.heap: list[int] = []
        self.goidgen = 0  # the last goid handed out (newproc1, under this lock here)
        self.unit = unit
        unit.state = self

    def save(self) -> tuple:
        return (list(self.heap), self.goidgen)

    def restore(self, saved: tuple) -> None:
        self.heap = list(saved[0])
        self.goidgen = saved[1]

    def put(self, g: int) -> None:
        heapq.heappush(self.heap, g)

    def get(self) -> int | None:
        return heapq.heappop(self.heap) if self.heap else None

    def peek(self) -> int | None:
        """The G gfget would take (read racily by plans, exactly under the lock)."""
        try:
            return self.heap[0]
        except IndexError:
            return None


class Sched:
    """The scheduler's globals. `lock` (sched.lock) protects the global run
    queue and the idle lists; the counters read without it are atomics,
    each with a step-lock unit of its own."""

    def __init__(self, units: dict[str, Unit]):
        self.unit = units["sched"]
        self.runq: deque[int] = deque()  # sched.runq
        self.pidle: list[int] = []  # sched.pidle (a stack: top last)
        self.midle: list[int] = []  # sched.midle
        self.mcount = 1  # Ms created, sysmon's included (mcount())
        self.nmidlelocked = 0
        self.nmsys = 1  # sysmon
        self.throw = 0
        self.runqsize = Atomic(0)
        self.npidle = Atomic(0)
        self.idlepMask = Atomic(0)
        self.nmspinning = Atomic(0)
        self.needspinning = Atomic(0)
        self.u_runqsize = units["runqsize"]
        self.u_npidle = units["npidle"]
        self.u_idlepMask = units["idlepMask"]
        self.u_nmspinning = units["nmspinning"]
        self.u_needspinning = units["needspinning"]
        self.unit.state = self
        for u, word in (
            (self.u_runqsize, self.runqsize),
            (self.u_npidle, self.npidle),
            (self.u_idlepMask, self.idlepMask),
            (self.u_nmspinning, self.nmspinning),
            (self.u_needspinning, self.needspinning),
        ):
            u.state = word

    def save(self) -> tuple:
        """sched.lock's part (the atomics are units of their own)."""
        return (
            list(self.runq),
            list(self.pidle),
            list(self.midle),
            self.mcount,
            self.nmidlelocked,
            self.nmsys,
        )

    def restore(self, saved: tuple) -> None:
        runq, pidle, midle, self.mcount, self.nmidlelocked, self.nmsys = saved
        self.runq = deque(runq)
        self.pidle = list(pidle)
        self.midle = list(midle)
