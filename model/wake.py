"""Starting and handing off: wakep, startm, the started M's first step, and
handoffp. Ms and sysmon both run these (sysmon's retake ends in handoffp);
they are procedures that return to the caller's `ret` pc.
"""

from __future__ import annotations

from model.action import Action
from model.machine import TRUNCATED, step
from model.pcs import PC
from model.queues import Queues
from model.state import NONE


class Wake(Queues):
    # ---- wakep ------------------------------------------------------------

    @step(PC.WAKEP_CAS)
    def wakep_cas(self, s: list[int], a: int, c: None) -> Action:
        """wakep(): `if nmspinning != 0 || !nmspinning.CompareAndSwap(0, 1)
        { return }` — be conservative: start a spinning M only if none
        exists. This read is the submitter's side of the StoreLoad pattern:
        it comes after the work was published, as its own step."""
        L = self.L
        if s[L.nmspinning] != 0:
            self.ret(s, a)
            return Action("wakep", m=a, nmspinning=s[L.nmspinning]).flag("no")
        s[L.nmspinning] = 1
        s[L.pc[a]] = PC.WAKEP_PIDLE
        return Action("wakep.cas", m=a)

    @step(PC.WAKEP_PIDLE)
    def wakep_pidle(self, s: list[int], a: int, c: None) -> Action:
        """wakep(): lock; pp = pidlegetSpinning(); no idle P: undo the
        increment (nmspinning.Add(-1)), unlock, return; else unlock and
        startm(pp, spinning=true)."""
        L = self.L
        p = self.pidlegetSpinning(s)
        if p == NONE:
            if not self.nmspinning_dec(s, a):
                return Action("wakep.pidlegetSpinning", m=a).throws()
            self.ret(s, a)
            return Action("wakep.pidlegetSpinning", m=a).flag("none")
        s[L.pp[a]] = p
        s[L.spin_arg[a]] = 1
        s[L.pc[a]] = PC.STARTM
        return Action("wakep.pidlegetSpinning", m=a, p=p)

    # ---- startm -----------------------------------------------------------

    @step(PC.STARTM)
    def startm(self, s: list[int], a: int, c: None) -> Action:
        """startm(pp, spinning, lockheld=false): lock; nmp = mget(). None
        idle: mReserveID() — the new M counts as running for checkdead
        before the lock is dropped (golang/go#40368) — then newm(fn, pp):
        the thread starts in mspinning if spinning. Otherwise unlock;
        nmp.spinning = spinning; nmp.nextp = pp; notewakeup(&nmp.park).

        The writes to nmp after the unlock are merged into this step: mget
        took nmp off the idle list, so nothing else can reach it."""
        L = self.L
        p = s[L.pp[a]]
        spinning = s[L.spin_arg[a]]
        nmp = self.mget(s)
        if nmp == NONE:
            nmp = self.newm_slot(s)
            if nmp == NONE:
                return TRUNCATED  # more threads than the configuration allows
            s[L.spin_arg[nmp]] = spinning  # newm(mspinning, pp): set by the new thread
            how = "newm"
        else:
            s[L.spinning[nmp]] = spinning
            how = "mget"
        s[L.nextp[nmp]] = p
        s[L.pc[nmp]] = PC.MSTART
        s[L.pp[a]] = NONE
        s[L.spin_arg[a]] = 0
        self.ret(s, a)
        return self.call_by(a, "startm", p=p, spinning=spinning).arg(how, nmp)

    def newm_slot(self, s: list[int]) -> int:
        """The M that newm creates: the lowest thread slot not yet in use."""
        L = self.L
        for m in range(L.nM):
            if s[L.pc[m]] == PC.NOT_CREATED:
                return m
        return NONE

    @step(PC.MSTART)
    def mstart(self, s: list[int], m: int, c: None) -> Action:
        """The M started by startm runs: a new thread runs mstart1 (mspinning
        sets m.spinning first, if asked), a parked one returns from mPark in
        stopm; both acquirep(m.nextp) and enter schedule()."""
        L = self.L
        if s[L.spin_arg[m]]:
            s[L.spinning[m]] = 1
            s[L.spin_arg[m]] = 0
        p = s[L.nextp[m]]
        s[L.nextp[m]] = NONE
        self.acquirep(s, m, p)
        s[L.pc[m]] = PC.SCHEDULE
        return Action("mstart", m=m, p=p, spinning=s[L.spinning[m]])

    # ---- handoffp ---------------------------------------------------------

    @step(PC.HANDOFFP)
    def handoffp(self, s: list[int], a: int, c: None) -> Action:
        """handoffp(pp): "handoffp must start an M in any situation where
        findRunnable would return a G to run on pp." Local work or global
        work: startm(pp, false) right away."""
        L = self.L
        p = s[L.pp[a]]
        if not self.runqempty(s, p) or not self.globrunq_empty(s):
            s[L.spin_arg[a]] = 0
            s[L.pc[a]] = PC.STARTM
            return self.call_by(a, "handoffp", p=p).flag("work")
        s[L.pc[a]] = PC.HANDOFFP_SPIN
        return self.call_by(a, "handoffp", p=p).flag("no work")

    @step(PC.HANDOFFP_SPIN)
    def handoffp_spin(self, s: list[int], a: int, c: None) -> Action:
        """handoffp: no local work; if there are no spinning Ms and no idle Ps
        (`nmspinning + npidle == 0`) and CAS(nmspinning, 0, 1): needspinning
        = 0; startm(pp, true) — someone must look for work."""
        L = self.L
        p = s[L.pp[a]]
        if s[L.nmspinning] + self.npidle(s) == 0:
            s[L.nmspinning] = 1
            s[L.needspinning] = 0
            s[L.spin_arg[a]] = 1
            s[L.pc[a]] = PC.STARTM
            return self.call_by(a, "handoffp.spinning", p=p)
        s[L.pc[a]] = PC.HANDOFFP_LOCK
        return self.call_by(a, "handoffp.spinning", p=p).flag("not needed")

    @step(PC.HANDOFFP_LOCK)
    def handoffp_lock(self, s: list[int], a: int, c: None) -> Action:
        """handoffp: lock; the global queue re-checked under the lock; "if
        this is the last running P and nobody is polling network"
        (`npidle == gomaxprocs-1 && sched.lastpoll != 0`) start an M, so that
        someone is left to poll; else pidleput(pp); unlock."""
        L = self.L
        p = s[L.pp[a]]
        last = self.npidle(s) == L.nP - 1 and self.nobody_polling(s)
        if not self.globrunq_empty(s) or last:
            s[L.spin_arg[a]] = 0
            s[L.pc[a]] = PC.STARTM
            why = "global work" if not self.globrunq_empty(s) else "last P"
            return self.call_by(a, "handoffp.lock", p=p).flag(why)
        self.pidleput(s, p)
        s[L.pp[a]] = NONE
        self.ret(s, a)
        return self.call_by(a, "handoffp.pidleput", p=p)

    def nobody_polling(self, t: bytes | list[int]) -> bool:
        """`sched.lastpoll != 0`: no M is blocked in netpoll. In the closed
        world always: its programs have no timers and no network I/O, so
        findRunnable's blocking poll (step r: `netpollAnyWaiters() ||
        pollUntil != 0`) never happens and no M clears lastpoll. The open
        world (model/openworld.py), where timers and netpoll exist, keeps
        lastpoll in the state."""
        return True
