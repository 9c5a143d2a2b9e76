"""Run queues, idle lists and P ownership (proc.go runqput, runqget,
runqgrab, globrunqput/get, pidleput/get, mput/mget, acquirep/releasep).
Each is called inside a step: a CAS on the ring or runnext, or a block
under sched.lock that the caller holds."""

from __future__ import annotations

from typing import Any

from model.state import (
    P_IDLE,
    P_RUNNING,
    THROW_NEGATIVE_NMSPINNING,
    THROW_QUEUE_OVERFLOW,
)
from runtime.control import Throw
from runtime.objects import G, M, P, Sched


class Runqs:
    cfg: Any
    sched: Sched
    allp: list[P]
    allm: list[M]
    allg: list[G]
    nM: int  # the Ms the configuration allows (sysmon's not counted)

    # ---- the local run queue -------------------------------------------------------

    def runqempty(self, pp: P) -> bool:
        return pp.runq.empty()

    def runqget(self, pp: P) -> tuple[int | None, bool]:
        """runqget(pp): runnext first (the G inherits the time slice), then the ring."""
        return pp.runq.get()

    def runqgrab(self, p2: P) -> list[int]:
        """runqgrab's ring part: half the victim's ring (rounded up) with one
        CAS of its runqhead."""
        return p2.runq.grab(False)

    def runqputbatch(self, pp: P, gs: list[int]) -> None:
        """runqputbatch(pp, q): append to the own ring, one tail publish."""
        if len(pp.runq) + len(gs) > pp.runq.size:
            raise Throw(THROW_QUEUE_OVERFLOW, "runqputbatch: runq overflow", void=True)
        pp.runq.putbatch(gs)

    # ---- the global run queue, under sched.lock ------------------------------------------

    def globrunqput(self, g: int) -> None:
        self.sched.runq.append(g)

    def globrunqputbatch(self, gs: list[int]) -> None:
        self.sched.runq.extend(gs)

    def globrunqget(self) -> int | None:
        """globrunqget(): one G from the head."""
        return self.sched.runq.popleft() if self.sched.runq else None

    def globrunqgetbatch(self, n: int) -> list[int]:
        """globrunqgetbatch(n): min(n, size, size/gomaxprocs+1) from the head;
        the first to run, the rest for the caller's ring."""
        q = self.sched.runq
        n = min(n, len(q), len(q) // len(self.allp) + 1)
        return [q.popleft() for _ in range(n)]

    # ---- idle Ps and Ms, under sched.lock ------------------------------------------------

    def pidleput(self, pp: P) -> None:
        """pidleput(pp): push on sched.pidle (idlepMask set)."""
        if len(self.sched.pidle) >= len(self.allp):
            raise Throw(THROW_QUEUE_OVERFLOW, "pidleput: P already idle", void=True)
        self.sched.pidle.append(pp.id)

    def pidleget(self) -> P | None:
        return self.allp[self.sched.pidle.pop()] if self.sched.pidle else None

    def pidlegetSpinning(self) -> P | None:
        """pidlegetSpinning(): pidleget, and with no idle P tell the Ms about
        to drop theirs that a spinning M needs one (golang/go#45867)."""
        pp = self.pidleget()
        if pp is None:
            self.sched.needspinning.store(1)
        return pp

    def idle(self, p: int) -> bool:
        """idlepMask.read(p)."""
        return p in self.sched.pidle

    def npidle(self) -> int:
        return len(self.sched.pidle)

    def mput(self, mp: M) -> None:
        """mput(mp): on sched.midle (checkdead runs here in Go)."""
        if len(self.sched.midle) >= self.nM:
            raise Throw(THROW_QUEUE_OVERFLOW, "mput: M already idle", void=True)
        self.sched.midle.append(mp.id)

    def mget(self) -> M | None:
        return self.allm[self.sched.midle.pop()] if self.sched.midle else None

    # ---- P ownership -----------------------------------------------------------------------

    def acquirep(self, mp: M, pp: P) -> None:
        """acquirep(pp) / wirep: mp.p = pp; pp.m = mp; _Prunning."""
        mp.p = pp.id
        pp.m = mp.id
        pp.status.store(P_RUNNING)

    def releasep(self, mp: M) -> P:
        """releasep(): disassociate the P from the M; _Pidle."""
        assert mp.p is not None
        pp = self.allp[mp.p]
        mp.p = None
        pp.m = None
        pp.status.store(P_IDLE)
        return pp

    # ---- spinning ----------------------------------------------------------------------------

    def becomeSpinning(self, mp: M) -> None:
        """mp.becomeSpinning(): spinning; nmspinning++; needspinning = 0."""
        mp.spinning = True
        self.sched.nmspinning.add(1)
        self.sched.needspinning.store(0)

    def nmspinning_dec(self) -> None:
        """sched.nmspinning.Add(-1): Go throws on a negative count."""
        if self.sched.nmspinning.load() == 0:
            raise Throw(THROW_NEGATIVE_NMSPINNING, "negative nmspinning")
        self.sched.nmspinning.add(-1)

    def incidlelocked(self, v: int) -> None:
        """incidlelocked(v): Ms idle because locked count out of checkdead."""
        self.sched.nmidlelocked += v
