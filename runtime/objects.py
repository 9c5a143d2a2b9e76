"""The runtime's objects (runtime2.go): g, p, m, schedt, and the workload's
semaphores. Only what Go keeps on them: a procedure's locals stay locals,
exposed at schedule points (runtime/control.py)."""

from __future__ import annotations

import heapq
import threading
from collections import deque
from collections.abc import Generator

from model.state import G_DEAD, P_IDLE
from model.workloads import Code
from runtime.atomic import Atomic
from runtime.control import Mutex, Note, Point
from runtime.program import program
from runtime.runq import RunQueue


class G:
    """A goroutine: atomicstatus, where its code is, its preemption request
    (gp.preempt), the M it is locked to (gp.lockedm)."""

    __slots__ = ("id", "status", "pc", "preempt", "body", "code", "goid", "lockedm")

    def __init__(self, gid: int):
        self.id = gid
        self.status = G_DEAD
        self.pc = 0
        self.preempt = False
        self.body: Generator[int, None, None] | None = None
        self.code: Code | None = None
        self.goid = 0
        self.lockedm: int | None = None

    def start(self, code: Code, entry: int, goid: int) -> None:
        """newproc1: a fresh stack whose body stops before its first instruction."""
        self.code = code
        self.body = program(code, entry)
        self.pc = next(self.body)
        self.preempt = False
        self.goid = goid

    def resume(self) -> None:
        """Run the user code of the current instruction; stop before the next."""
        assert self.body is not None, f"G{self.id} has no body"
        self.pc = next(self.body)

    def destroy(self) -> None:
        """gdestroy: dead, its slot reusable."""
        if self.body is not None:
            self.body.close()
        self.body = None
        self.pc = 0
        self.preempt = False


class SysmonTick:
    """pp.sysmontick: what sysmon last saw of a P. Its clock: a G has run
    "for 10ms" when its P ran user code after sysmon recorded the tick
    (schedwhen < the P's userticks); a system call has lasted long enough
    once sysmon let it be one time (syscallwait)."""

    __slots__ = ("schedtick", "schedwhen", "syscalltick", "syscallwait")

    def __init__(self) -> None:
        self.schedtick = -1
        self.schedwhen = 0
        self.syscalltick = -1
        self.syscallwait = False


class P:
    __slots__ = ("id", "status", "m", "runq", "schedtick", "syscalltick", "userticks", "sysmontick")

    def __init__(self, pid: int, ring: int):
        self.id = pid
        self.status = Atomic(P_IDLE)  # CASed by exitsyscallfast and retake
        self.m: int | None = None
        self.runq = RunQueue(ring)
        self.schedtick = 0
        self.syscalltick = 0
        self.userticks = 0  # user code run on this P: sysmon's clock
        self.sysmontick = SysmonTick()


class M:
    """An OS thread. `at` is the schedule point it is stopped or parked at."""

    __slots__ = (
        "id", "p", "nextp", "oldp", "curg", "spinning", "lockedg", "park",
        "signal", "thread", "state", "at", "grant", "wake", "sleeping", "stack", "held",
    )  # fmt: skip

    def __init__(self, mid: int):
        self.id = mid
        self.p: int | None = None
        self.nextp: int | None = None
        self.oldp: int | None = None
        self.curg: int | None = None
        self.spinning = False
        self.lockedg: int | None = None
        self.park = Note(self)
        self.signal = False  # preemptM: a preemption signal is pending
        self.thread: threading.Thread | None = None
        self.state = "gone"  # runtime/control.py: running, stopped, parked, gone
        self.at: Point | None = None
        self.grant: tuple | None = None  # the step handed to it, with its choice
        # The controller's (or a notewakeup's) signal: held while none is
        # given (runtime/control.py); `sleeping` while the thread waits on it.
        self.wake = threading.Lock()
        self.wake.acquire()
        self.sleeping = False
        # The runtime procedures this M is in, outermost first, as a
        # traceback of its g0 would show them.
        self.stack: list[str] = []
        # Locals of a caller that the procedure it calls leaves alone (the G
        # schedule() found, while resetspinning runs wakep): exposed at the
        # callee's points too.
        self.held: dict = {}


class Sema:
    """A workload semaphore: binary, with a FIFO of waiters, under its root lock."""

    __slots__ = ("name", "pending", "waiters", "lock")

    def __init__(self, name: str):
        self.name = name
        self.pending = False
        self.waiters: deque[int] = deque()
        self.lock = Mutex(f"sema {name}")


class Sched:
    """schedt: sched.lock guards the global run queue, the idle lists and
    the M counts; nmspinning and needspinning are atomics."""

    def __init__(self) -> None:
        self.lock = Mutex("sched.lock")
        self.runq: deque[int] = deque()
        self.pidle: list[int] = []  # a stack, top last
        self.midle: list[int] = []
        self.mcount = 1  # sysmon's M included
        self.nmidlelocked = 0
        self.nmsys = 1
        self.nmspinning = Atomic(0)
        self.needspinning = Atomic(0)
        self.throw = 0
        self.gfree: list[int] = []  # sched.gFree (a heap: gfget takes the lowest)
        self.goidgen = 0

    def gfput(self, g: int) -> None:
        heapq.heappush(self.gfree, g)

    def gfget(self) -> int | None:
        return heapq.heappop(self.gfree) if self.gfree else None
