"""Run queues, idle lists and P ownership: the data operations of proc.go.

These are not steps by themselves: each is the effect of one atomic access
(a CAS on runqhead or runnext, a tail publish) or of a block under
sched.lock, and the steps in the other modules call them. They are methods
so that a mutation can override one (model/mutations.py).
"""

from __future__ import annotations

from model.machine import Machine, foldable
from model.pcs import PC
from model.state import (
    NONE,
    P_IDLE,
    P_RUNNING,
    THROW_NEGATIVE_NMSPINNING,
    q_items,
    q_len,
    q_pop_head,
    q_pop_top,
    q_push,
)


class Queues(Machine):
    # ---- the local run queue: runnext + ring (proc.go runqput/runqget/runqgrab)

    def runqempty(self, t: bytes | list[int], p: int) -> bool:
        """runqempty(pp): no runnext and an empty ring.

        Go re-reads runqtail so that it never reports empty spuriously while
        runqput kicks runnext into the ring; in the model both are read at one
        instant, which is what the re-read achieves.
        """
        L = self.L
        return t[L.runnext[p]] == NONE and t[L.runq[p]] == NONE

    def runq_len(self, t: bytes | list[int], p: int) -> int:
        return q_len(t, self.L.runq[p], self.L.C)

    def ring_has_room(self, t: bytes | list[int], p: int) -> bool:
        return t[self.L.runq[p] + self.L.C - 1] == NONE

    def ring_put(self, s: list[int], p: int, g: int) -> None:
        """The ring half of runqput: store at tail, publish tail+1 (owner only)."""
        q_push(s, self.L.runq[p], self.L.C, g)

    def runqget(self, s: list[int], p: int) -> tuple[int, bool]:
        """runqget(pp): runnext first (inheriting the time slice), then the ring head."""
        L = self.L
        g = s[L.runnext[p]]
        if g != NONE:
            s[L.runnext[p]] = NONE
            return g, True
        if s[L.runq[p]] == NONE:
            return NONE, False  # head == tail: empty
        return q_pop_head(s, L.runq[p], L.C, 1)[0], False

    def runqgrab(self, s: list[int], victim: int) -> list[int]:
        """runqgrab(victim, ...), its ring: claim ceil(n/2) from the victim's
        ring head with one CAS on runqhead (a CAS that fails re-reads head
        and tail and tries again, so the claim is one atomic step). An empty
        ring claims nothing; the runnext steal that follows on the last pass
        is two steps of its own (model/schedule.py)."""
        L = self.L
        n = self.runq_len(s, victim)
        n -= n // 2
        if n == 0:
            return []
        return q_pop_head(s, L.runq[victim], L.C, n)

    def runnext_cas(self, s: list[int], victim: int, old: int) -> bool:
        """`victim.runnext.cas(old, 0)`: succeeds if runnext still holds the G
        read before, whatever happened to it meanwhile."""
        L = self.L
        if s[L.runnext[victim]] != old:
            return False
        s[L.runnext[victim]] = NONE
        return True

    def runqputbatch(self, s: list[int], p: int, gs: list[int]) -> None:
        """runqputbatch(pp, q): the owner appends a batch to its (empty) ring."""
        for g in gs:
            self.ring_put(s, p, g)

    # ---- the global run queue (sched.runq, under sched.lock) ---------------

    def globrunq_empty(self, t: bytes | list[int]) -> bool:
        return t[self.L.grunq] == NONE

    def globrunqput(self, s: list[int], g: int) -> None:
        q_push(s, self.L.grunq, self.L.nG, g)

    def globrunqputbatch(self, s: list[int], gs: list[int]) -> None:
        for g in gs:
            q_push(s, self.L.grunq, self.L.nG, g)

    def globrunqget(self, s: list[int]) -> int:
        """globrunqget(): pop one G (Go 1.25), NONE if empty."""
        if self.globrunq_empty(s):
            return NONE
        return q_pop_head(s, self.L.grunq, self.L.nG, 1)[0]

    def globrunqgetbatch(self, s: list[int], n: int) -> list[int]:
        """globrunqgetbatch(n): min(n, size, size/gomaxprocs + 1) Gs from the head.

        The first is the caller's to run; the rest go to its ring."""
        size = q_len(s, self.L.grunq, self.L.nG)
        n = min(n, size, size // self.L.nP + 1)
        return q_pop_head(s, self.L.grunq, self.L.nG, n)

    # ---- idle Ps and idle Ms (under sched.lock) ------------------------------

    def npidle(self, t: bytes | list[int]) -> int:
        return q_len(t, self.L.pidle, self.L.nP)

    def p_is_idle(self, t: bytes | list[int], p: int) -> bool:
        """idlepMask.read(p): the P is on the idle list."""
        return p in q_items(t, self.L.pidle, self.L.nP)

    def pidleput(self, s: list[int], p: int) -> None:
        """pidleput(pp): push on sched.pidle. The P's run queue must be empty."""
        q_push(s, self.L.pidle, self.L.nP, p)

    def pidleget(self, s: list[int]) -> int:
        """pidleget(): pop sched.pidle (LIFO), NONE if empty."""
        return q_pop_top(s, self.L.pidle, self.L.nP)

    def pidlegetSpinning(self, s: list[int]) -> int:
        """pidlegetSpinning(): pidleget, but when no P is idle set
        sched.needspinning = 1, telling the Ms about to drop their Ps that a
        spinning M found work and had nowhere to run it (golang/go#45867)."""
        p = self.pidleget(s)
        if p == NONE:
            s[self.L.needspinning] = 1
        return p

    def mput(self, s: list[int], m: int) -> None:
        """mput(mp): push on sched.midle (checkdead runs here in Go)."""
        q_push(s, self.L.midle, self.L.nM, m)

    @foldable
    def nmidle(self, t: bytes | list[int]) -> int:
        """sched.nmidle: how many Ms are on the idle list."""
        return q_len(t, self.L.midle, self.L.nM)

    def mget(self, s: list[int]) -> int:
        return q_pop_top(s, self.L.midle, self.L.nM)

    # ---- P ownership (acquirep / wirep / releasep) ---------------------------

    def acquirep(self, s: list[int], m: int, p: int) -> None:
        """acquirep(pp) / wirep: m.p = pp, pp.m = m, pp.status = _Prunning."""
        L = self.L
        s[L.m_p[m]] = p
        s[L.p_m[p]] = m
        s[L.p_status[p]] = P_RUNNING

    def releasep(self, s: list[int], m: int) -> int:
        """releasep(): m.p = 0, pp.m = 0, pp.status = _Pidle; returns pp."""
        L = self.L
        p = s[L.m_p[m]]
        s[L.m_p[m]] = NONE
        s[L.p_m[p]] = NONE
        s[L.p_status[p]] = P_IDLE
        return p

    # ---- nmspinning ------------------------------------------------------------

    def becomeSpinning(self, s: list[int], m: int) -> None:
        """mp.becomeSpinning(): m.spinning = true; nmspinning++; needspinning = 0."""
        L = self.L
        s[L.spinning[m]] = 1
        s[L.nmspinning] += 1
        s[L.needspinning] = 0

    def nmspinning_dec(self, s: list[int], a: int) -> bool:
        """sched.nmspinning.Add(-1); Go throws if the result is negative."""
        L = self.L
        if s[L.nmspinning] == 0:
            self.throw(s, a, THROW_NEGATIVE_NMSPINNING)
            return False
        s[L.nmspinning] -= 1
        return True

    def set_batch(self, s: list[int], a: int, gs: list[int]) -> None:
        L = self.L
        for i in range(L.B):
            s[L.batch[a] + i] = gs[i] if i < len(gs) else NONE

    def take_batch(self, s: list[int], a: int) -> list[int]:
        gs = self.batch_of(s, a)
        self.set_batch(s, a, [])
        return gs

    def to_execute(self, s: list[int], m: int, g: int, inherit: bool) -> None:
        """findRunnable returns (gp, inheritTime): hold gp until execute."""
        L = self.L
        s[L.gp[m]] = g
        s[L.inherit[m]] = 1 if inherit else 0
        s[L.pc[m]] = PC.RUNQPUTBATCH if s[L.batch[m]] != NONE else PC.EXECUTE
