"""Run queues, idle lists and P ownership: the data operations of proc.go,
on the runtime's objects (model/queues.py has the same operations on the
state vector, under the same names).

Each is called by a step that holds the units it touches: the P's lock for
its run queue, sched.lock for the global queue and the idle lists (with
the atomics that mirror their sizes, npidle and the global queue's size,
and idlepMask, which steps read without sched.lock).

A queue holds at most what the model's does: a ring its size, the global
queue every G, the idle lists every P and every M. A put beyond that (only
a broken scheduler gets there: a P or G queued twice) raises QueueOverflow
before it changes anything, and the step throws (runtime/machine.py).
"""

from __future__ import annotations

from model.pcs import PC
from model.state import P_IDLE, P_RUNNING, THROW_NEGATIVE_NMSPINNING, QueueOverflow
from runtime.locks import Unit
from runtime.machine import Machine


class Queues(Machine):
    # ---- the local run queue: runnext + ring (runtime/runq.py) --------------------

    def runqempty(self, p: int) -> bool:
        """runqempty(pp)."""
        return self.allp[p].runq.empty()

    def runq_len(self, p: int) -> int:
        return len(self.allp[p].runq)

    def ring_has_room(self, p: int) -> bool:
        q = self.allp[p].runq
        return len(q) < q.size

    def ring_put(self, p: int, g: int) -> None:
        """The ring half of runqput: store at tail, publish tail+1 (owner only)."""
        if not self.allp[p].runq.put_ring(g):
            raise QueueOverflow

    def runqget(self, p: int) -> tuple[int | None, bool]:
        """runqget(pp): runnext first (inheriting the time slice), then the ring head."""
        return self.allp[p].runq.get()

    def runqgrab(self, victim: int) -> list[int]:
        """runqgrab(victim, ...), its ring: ceil(n/2) from the victim's ring
        head with one CAS on runqhead (the runnext steal is two steps of its
        own, runtime/schedule.py)."""
        return self.allp[victim].runq.grab(False)

    def runnext_cas(self, victim: int, old: int) -> bool:
        """`victim.runnext.cas(old, 0)`."""
        return self.allp[victim].runq.runnext.cas(old, None)

    def runqputbatch(self, p: int, gs: list[int]) -> None:
        """runqputbatch(pp, q): the owner appends a batch to its ring."""
        q = self.allp[p].runq
        if len(q) + len(gs) > q.size:
            raise QueueOverflow
        q.putbatch(gs)

    def may_overflow(self, a: int, held: list[Unit]) -> bool:
        """Whether the step actor a is about to take, holding `held`, could
        put more into a queue than it holds: only then is the state saved
        (runtime/machine.py run_step; saving at every step would copy the
        global queue at every step of a stress run). Go's steps put at most
        one P or M on an idle list, a batch (B G's) on the global queue, and
        one G or the M's batch on a ring; a broken step may put one more
        (the same G, P or M twice), so a queue with room for less than that
        is saved. (A step that overflows a queue with more room raises, and
        the run ends with an internal error, not with a wrong state.)"""
        s = self.sched
        if s.unit in held and (
            len(s.pidle) + 2 > len(self.allp)
            or len(s.midle) + 2 > self.L.nM
            or len(s.runq) + self.L.B + 1 > len(self.allg)
        ):
            return True
        put = max(1, len(self.allm[a].batch)) + 1
        return any(pp.unit in held and len(pp.runq) + put > pp.runq.size for pp in self.allp)

    # ---- the global run queue (sched.runq, under sched.lock) --------------------

    def globrunq_empty(self) -> bool:
        """`sched.runq.empty()`: read without sched.lock, from its size."""
        return self.sched.runqsize.load() == 0

    def globrunqput(self, g: int) -> None:
        self.globrunqputbatch([g])

    def globrunqputbatch(self, gs: list[int]) -> None:
        if len(self.sched.runq) + len(gs) > len(self.allg):
            raise QueueOverflow
        self.sched.runq.extend(gs)
        self.sched.runqsize.add(len(gs))

    def globrunqget(self) -> int | None:
        """globrunqget(): pop one G (Go 1.25), nil if empty."""
        if not self.sched.runq:
            return None
        self.sched.runqsize.add(-1)
        return self.sched.runq.popleft()

    def globrunqgetbatch(self, n: int) -> list[int]:
        """globrunqgetbatch(n): min(n, size, size/gomaxprocs + 1) G's from the
        head; the first is the caller's to run, the rest go to its ring."""
        size = len(self.sched.runq)
        n = min(n, size, size // len(self.allp) + 1)
        gs = [self.sched.runq.popleft() for _ in range(n)]
        self.sched.runqsize.add(-n)
        return gs

    # ---- idle Ps and idle Ms (under sched.lock) --------------------------------

    def npidle(self) -> int:
        return self.sched.npidle.load()

    def p_is_idle(self, p: int) -> bool:
        """idlepMask.read(p)."""
        return bool(self.sched.idlepMask.load() >> p & 1)

    def pidleput(self, p: int) -> None:
        """pidleput(pp): push on sched.pidle; idlepMask.set; npidle++. (An idle P
        with work is for the p-ownership property to report, as in the model.)"""
        if len(self.sched.pidle) >= len(self.allp):
            raise QueueOverflow
        self.sched.pidle.append(p)
        self._idlepMask_set(p, True)
        self.sched.npidle.add(1)

    def pidleget(self) -> int | None:
        """pidleget(): pop sched.pidle (LIFO), nil if empty."""
        if not self.sched.pidle:
            return None
        p = self.sched.pidle.pop()
        self._idlepMask_set(p, False)
        self.sched.npidle.add(-1)
        return p

    def _idlepMask_set(self, p: int, idle: bool) -> None:
        mask = self.sched.idlepMask
        while True:
            old = mask.load()
            new = old | 1 << p if idle else old & ~(1 << p)
            if mask.cas(old, new):
                return

    def pidlegetSpinning(self) -> int | None:
        """pidlegetSpinning(): pidleget, but when no P is idle set
        sched.needspinning = 1 (golang/go#45867)."""
        p = self.pidleget()
        if p is None:
            self.sched.needspinning.store(1)
        return p

    def mput(self, m: int) -> None:
        """mput(mp): push on sched.midle (checkdead runs here in Go)."""
        if len(self.sched.midle) >= self.L.nM:
            raise QueueOverflow
        self.sched.midle.append(m)

    def mget(self) -> int | None:
        return self.sched.midle.pop() if self.sched.midle else None

    # ---- P ownership --------------------------------------------------------------

    def acquirep(self, m: int, p: int) -> None:
        """acquirep(pp) / wirep: m.p = pp, pp.m = m, pp.status = _Prunning."""
        self.allm[m].p = p
        pp = self.allp[p]
        pp.m = m
        pp.status.store(P_RUNNING)

    def releasep(self, m: int) -> int:
        """releasep(): m.p = 0, pp.m = 0, pp.status = _Pidle; returns pp."""
        mp = self.allm[m]
        p = mp.p
        assert p is not None
        mp.p = None
        pp = self.allp[p]
        pp.m = None
        pp.status.store(P_IDLE)
        return p

    # ---- nmspinning -----------------------------------------------------------------

    def becomeSpinning(self, m: int) -> None:
        """mp.becomeSpinning(): m.spinning = true; nmspinning.Add(1);
        needspinning.Store(0)."""
        self.allm[m].spinning = 1
        self.sched.nmspinning.add(1)
        self.sched.needspinning.store(0)

    def nmspinning_dec(self, a: int) -> bool:
        """sched.nmspinning.Add(-1); Go throws if the result is negative."""
        if self.sched.nmspinning.add(-1) < 0:
            self.sched.nmspinning.add(1)  # the state the model records: the add did not happen
            self.throw(a, THROW_NEGATIVE_NMSPINNING)
            return False
        return True

    def set_batch(self, a: int, gs: list[int]) -> None:
        self.allm[a].batch = list(gs)

    def take_batch(self, a: int) -> list[int]:
        mp = self.allm[a]
        gs, mp.batch = mp.batch, []
        return gs

    def to_execute(self, m: int, g: int, inherit: bool) -> None:
        """findRunnable returns (gp, inheritTime): hold gp until execute."""
        mp = self.allm[m]
        mp.gp = g
        mp.inherit = 1 if inherit else 0
        mp.pc = PC.RUNQPUTBATCH if mp.batch else PC.EXECUTE
